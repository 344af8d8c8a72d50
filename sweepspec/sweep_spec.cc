#include "sweepspec/sweep_spec.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "sweepspec/yaml_json.h"

namespace ablate::sweepspec {
namespace {

// Builds "<source>:<line>: <path>: <message>" errors. Lines are 1-based.
class ErrorContext {
 public:
  explicit ErrorContext(std::string source) : source_(std::move(source)) {}

  Status Error(const YAML::Node& node, const std::string& path, const std::string& message) const {
    std::string where = source_;
    if (node.IsDefined() && node.Mark().line >= 0) {
      where += ":" + std::to_string(node.Mark().line + 1);
    }
    return absl::InvalidArgumentError(where + ": " + path + ": " + message);
  }
  Status Error(const std::string& path, const std::string& message) const {
    return absl::InvalidArgumentError(source_ + ": " + path + ": " + message);
  }

 private:
  std::string source_;
};

std::string Describe(const YAML::Node& node) {
  if (node.IsScalar()) return "'" + node.Scalar() + "'";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return "nothing";
}

Status CheckKeys(const ErrorContext& ctx, const YAML::Node& map, const std::string& path,
                 const std::set<std::string>& allowed) {
  for (const auto& kv : map) {
    std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "<non-scalar key>";
    if (!allowed.count(key)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return ctx.Error(kv.first, path.empty() ? key : path + "." + key,
                       "unknown key (expected one of: " + list + ")");
    }
  }
  return absl::OkStatus();
}

StatusOr<std::string> GetString(const ErrorContext& ctx, const YAML::Node& node,
                                const std::string& path) {
  if (!node.IsDefined()) return ctx.Error(path, "missing required key");
  if (!node.IsScalar() || node.Scalar().empty()) {
    return ctx.Error(node, path, "expected a non-empty string, got " + Describe(node));
  }
  return node.Scalar();
}

StatusOr<int64_t> GetInt(const ErrorContext& ctx, const YAML::Node& node, const std::string& path,
                         int64_t min_value) {
  if (!node.IsDefined()) return ctx.Error(path, "missing required key");
  nlohmann::json v = node.IsScalar() ? YamlScalarToJson(node) : nlohmann::json();
  if (!v.is_number_integer()) {
    return ctx.Error(node, path, "expected an integer, got " + Describe(node));
  }
  int64_t x = v.get<int64_t>();
  if (x < min_value) {
    return ctx.Error(node, path,
                     "must be >= " + std::to_string(min_value) + ", got " + std::to_string(x));
  }
  return x;
}

StatusOr<double> GetDouble(const ErrorContext& ctx, const YAML::Node& node,
                           const std::string& path) {
  if (!node.IsDefined()) return ctx.Error(path, "missing required key");
  nlohmann::json v = node.IsScalar() ? YamlScalarToJson(node) : nlohmann::json();
  if (!v.is_number()) return ctx.Error(node, path, "expected a number, got " + Describe(node));
  return v.get<double>();
}

StatusOr<bool> GetBool(const ErrorContext& ctx, const YAML::Node& node, const std::string& path) {
  if (!node.IsDefined()) return ctx.Error(path, "missing required key");
  nlohmann::json v = node.IsScalar() ? YamlScalarToJson(node) : nlohmann::json();
  if (!v.is_boolean())
    return ctx.Error(node, path, "expected true or false, got " + Describe(node));
  return v.get<bool>();
}

bool IsIdentifier(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')) return false;
  }
  return true;
}

bool IsNumber(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

StatusOr<Constraint> ParseConstraint(const ErrorContext& ctx, const YAML::Node& node,
                                     const std::string& path) {
  ABLATE_ASSIGN_OR_RETURN(std::string text, GetString(ctx, node, path));
  std::istringstream in(text);
  Constraint c;
  c.text = text;
  std::string extra;
  in >> c.lhs >> c.op >> c.rhs;
  static const std::set<std::string> kOps = {"<", "<=", ">", ">=", "==", "!="};
  if (c.rhs.empty() || (in >> extra) || !kOps.count(c.op) ||
      !(IsIdentifier(c.lhs) || IsNumber(c.lhs)) || !(IsIdentifier(c.rhs) || IsNumber(c.rhs))) {
    return ctx.Error(node, path,
                     "cannot parse constraint '" + text +
                         "' (expected 'KEY OP KEY|NUMBER' with OP one of < <= > >= == !=)");
  }
  return c;
}

// Parses one entry of `parameters`.
StatusOr<ParameterSpec> ParseParameter(const ErrorContext& ctx, const YAML::Node& key,
                                       const YAML::Node& body, SearchMode mode) {
  ParameterSpec p;
  p.line = key.Mark().line + 1;
  std::string path;
  if (key.IsScalar()) {
    p.keys.push_back(key.Scalar());
    path = "parameters." + key.Scalar();
  } else if (key.IsSequence() && key.size() >= 2) {
    for (const auto& k : key) {
      if (!k.IsScalar()) return ctx.Error(key, "parameters", "paired keys must be plain names");
      p.keys.push_back(k.Scalar());
    }
    path = "parameters.[" + p.keys[0] + ", ...]";
  } else {
    return ctx.Error(key, "parameters", "a parameter key must be a name or a list of 2+ names");
  }
  for (const auto& k : p.keys) {
    if (!IsIdentifier(k)) return ctx.Error(key, path, "'" + k + "' is not a valid key name");
    if (k.rfind("eval.", 0) == 0 && k != "eval.score_threshold" && k != "eval.top_k" &&
        k != "eval.nms_iou" && k != "eval.max_dets") {
      return ctx.Error(key, path,
                       "'" + k +
                           "' is not an eval setting (score_threshold, top_k, nms_iou, "
                           "max_dets)");
    }
  }

  YAML::Node values_node;
  if (body.IsSequence()) {
    values_node = body;  // shorthand: `key: [a, b]`
  } else if (body.IsMap()) {
    ABLATE_RETURN_IF_ERROR(
        CheckKeys(ctx, body, path, {"values", "choice", "uniform", "loguniform", "when"}));
    int forms = body["values"].IsDefined() + body["choice"].IsDefined() +
                body["uniform"].IsDefined() + body["loguniform"].IsDefined();
    if (forms != 1) {
      return ctx.Error(body, path,
                       "give exactly one of values, choice, uniform, loguniform (got " +
                           std::to_string(forms) + ")");
    }
    if (body["values"].IsDefined()) values_node = body["values"];
    if (body["choice"].IsDefined()) values_node = body["choice"];
    for (const char* dist : {"uniform", "loguniform"}) {
      if (!body[dist].IsDefined()) continue;
      std::string dpath = path + "." + dist;
      if (mode != SearchMode::kRandom) {
        return ctx.Error(body[dist], dpath,
                         "distributions need random search (search: {mode: random, ...})");
      }
      if (p.keys.size() != 1) return ctx.Error(body[dist], dpath, "paired keys need values");
      const YAML::Node& range = body[dist];
      if (!range.IsSequence() || range.size() != 2) {
        return ctx.Error(range, dpath, "expected [low, high]");
      }
      ABLATE_ASSIGN_OR_RETURN(p.low, GetDouble(ctx, range[0], dpath + "[0]"));
      ABLATE_ASSIGN_OR_RETURN(p.high, GetDouble(ctx, range[1], dpath + "[1]"));
      if (!(p.low < p.high)) return ctx.Error(range, dpath, "low must be < high");
      p.kind =
          std::string(dist) == "uniform" ? ParameterKind::kUniform : ParameterKind::kLogUniform;
      if (p.kind == ParameterKind::kLogUniform && p.low <= 0) {
        return ctx.Error(range, dpath, "loguniform needs low > 0");
      }
    }
    if (const YAML::Node when = body["when"]; when.IsDefined()) {
      if (!when.IsMap() || when.size() == 0) {
        return ctx.Error(when, path + ".when", "expected a mapping {key: value or [values]}");
      }
      for (const auto& kv : when) {
        std::vector<nlohmann::json> accepted;
        if (kv.second.IsSequence()) {
          for (const auto& v : kv.second) accepted.push_back(YamlToJson(v));
        } else {
          accepted.push_back(YamlToJson(kv.second));
        }
        p.when[kv.first.Scalar()] = std::move(accepted);
      }
    }
  } else {
    return ctx.Error(body, path, "expected {values: [...]} or a list, got " + Describe(body));
  }

  if (p.kind == ParameterKind::kValues) {
    if (!values_node.IsSequence() || values_node.size() == 0) {
      return ctx.Error(values_node.IsDefined() ? values_node : body, path,
                       "expected a non-empty list of values");
    }
    for (const auto& v : values_node) {
      std::vector<nlohmann::json> row;
      if (p.keys.size() == 1) {
        row.push_back(YamlToJson(v));
      } else {
        if (!v.IsSequence() || v.size() != p.keys.size()) {
          return ctx.Error(v, path,
                           "each value must be a list of " + std::to_string(p.keys.size()) +
                               " items (one per key), got " + Describe(v));
        }
        for (const auto& item : v) row.push_back(YamlToJson(item));
      }
      for (const auto& item : row) {
        if (item.is_object() || item.is_null()) {
          return ctx.Error(v, path, "values must be scalars or lists");
        }
      }
      for (size_t k = 0; k < p.keys.size(); ++k) {
        if (p.keys[k].rfind("eval.", 0) == 0 && !row[k].is_number()) {
          return ctx.Error(v, path, "'" + p.keys[k] + "' values must be numbers");
        }
      }
      p.values.push_back(std::move(row));
    }
  }
  return p;
}

Status ApplyOverride(YAML::Node root, const SpecOverride& o, const ErrorContext& ctx) {
  YAML::Node value;
  try {
    value = YAML::Load(o.value);
  } catch (const YAML::Exception& e) {
    return ctx.Error("--set " + o.key_path, "cannot parse value '" + o.value + "': " + e.msg);
  }
  std::vector<std::string> parts;
  std::stringstream ss(o.key_path);
  for (std::string part; std::getline(ss, part, '.');) {
    if (part.empty()) return ctx.Error("--set " + o.key_path, "empty key segment");
    parts.push_back(part);
  }
  YAML::Node cur;
  cur.reset(root);
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (cur[parts[i]].IsDefined() && !cur[parts[i]].IsMap() && !cur[parts[i]].IsNull()) {
      return ctx.Error("--set " + o.key_path, "'" + parts[i] + "' is not a mapping");
    }
    YAML::Node next = cur[parts[i]];
    cur.reset(next);
  }
  cur[parts.back()] = value;
  return absl::OkStatus();
}

// `trainer:` (issue 14). Types and choices are checked here; `{key}`s against each trial's config
// when the coordinator expands the trials.
StatusOr<protocol::TrainerSpec> ParseTrainer(const ErrorContext& ctx, const YAML::Node& node) {
  if (!node.IsMap()) {
    return ctx.Error(node, "trainer", "expected {command: [PROGRAM, ARG, ...], output: ...}");
  }
  ABLATE_RETURN_IF_ERROR(CheckKeys(ctx, node, "trainer", {"command", "output", "iou"}));
  protocol::TrainerSpec t;
  const YAML::Node command = node["command"];
  if (!command.IsDefined()) return ctx.Error("trainer.command", "missing required key");
  if (!command.IsSequence() || command.size() == 0) {
    return ctx.Error(command, "trainer.command",
                     "expected a non-empty list [PROGRAM, ARG, ...], got " + Describe(command));
  }
  for (size_t i = 0; i < command.size(); ++i) {
    const std::string path = "trainer.command[" + std::to_string(i) + "]";
    if (!command[i].IsScalar()) {
      return ctx.Error(command[i], path, "expected a string, got " + Describe(command[i]));
    }
    t.command.push_back(command[i].Scalar());
  }
  if (t.command[0].empty()) return ctx.Error(command[0], "trainer.command[0]", "empty program");
  if (node["output"].IsDefined()) {
    ABLATE_ASSIGN_OR_RETURN(t.output, GetString(ctx, node["output"], "trainer.output"));
    if (t.output != "summaries" && t.output != "events") {
      return ctx.Error(node["output"], "trainer.output",
                       "expected summaries or events, got '" + t.output + "'");
    }
  }
  if (node["iou"].IsDefined()) {
    ABLATE_ASSIGN_OR_RETURN(t.iou, GetString(ctx, node["iou"], "trainer.iou"));
    if (t.iou != "bbox" && t.iou != "segm") {
      return ctx.Error(node["iou"], "trainer.iou", "expected bbox or segm, got '" + t.iou + "'");
    }
  }
  return t;
}

// `early_stop:` (sweepspec/early_stop_spec.h), checked against the budget and the parameters:
// rungs must fall on evaluated steps, and trials must be evaluated with the same settings to be
// compared at all.
StatusOr<EarlyStopSpec> ParseEarlyStop(const ErrorContext& ctx, const YAML::Node& node,
                                       const SweepSpec& spec) {
  const std::string path = "early_stop";
  if (!node.IsMap()) {
    return ctx.Error(node, path,
                     "expected {method: asha|median, metric: segm.AP, mode: max, grace_steps: N, "
                     "...}, got " +
                         Describe(node));
  }
  ABLATE_RETURN_IF_ERROR(
      CheckKeys(ctx, node, path,
                {"method", "metric", "mode", "grace_steps", "reduction_factor", "min_trials"}));
  EarlyStopSpec es;
  ABLATE_ASSIGN_OR_RETURN(std::string method, GetString(ctx, node["method"], path + ".method"));
  if (method == "asha") {
    es.method = EarlyStopMethod::kAsha;
  } else if (method == "median") {
    es.method = EarlyStopMethod::kMedian;
  } else {
    return ctx.Error(node["method"], path + ".method",
                     "expected asha or median, got '" + method + "'");
  }
  ABLATE_ASSIGN_OR_RETURN(std::string metric, GetString(ctx, node["metric"], path + ".metric"));
  if (Status st = ParseEarlyStopMetric(metric, &es.iou_type, &es.stat_index); !st.ok()) {
    return ctx.Error(node["metric"], path + ".metric", std::string(st.message()));
  }
  if (node["mode"].IsDefined()) {
    ABLATE_ASSIGN_OR_RETURN(std::string mode, GetString(ctx, node["mode"], path + ".mode"));
    if (mode != "max" && mode != "min") {
      return ctx.Error(node["mode"], path + ".mode", "expected max or min, got '" + mode + "'");
    }
    es.maximize = mode == "max";
  }
  ABLATE_ASSIGN_OR_RETURN(es.grace_steps,
                          GetInt(ctx, node["grace_steps"], path + ".grace_steps", 1));
  if (node["reduction_factor"].IsDefined()) {
    if (es.method != EarlyStopMethod::kAsha) {
      return ctx.Error(node["reduction_factor"], path + ".reduction_factor",
                       "applies to method asha only");
    }
    ABLATE_ASSIGN_OR_RETURN(int64_t rf,
                            GetInt(ctx, node["reduction_factor"], path + ".reduction_factor", 2));
    es.reduction_factor = static_cast<int>(rf);
  }
  if (node["min_trials"].IsDefined()) {
    if (es.method != EarlyStopMethod::kMedian) {
      return ctx.Error(node["min_trials"], path + ".min_trials", "applies to method median only");
    }
    ABLATE_ASSIGN_OR_RETURN(int64_t mt, GetInt(ctx, node["min_trials"], path + ".min_trials", 1));
    es.min_trials = static_cast<int>(mt);
  }
  const Budget& b = spec.budget;
  if (b.steps == 0) {
    return ctx.Error(node, path,
                     "needs training (budget.steps > 0); an evaluate-only sweep has "
                     "nothing to stop");
  }
  if (b.eval_every <= 0) {
    return ctx.Error(node, path,
                     "needs budget.eval_every > 0: trials are compared at their evaluations");
  }
  if (es.grace_steps % b.eval_every != 0) {
    return ctx.Error(node["grace_steps"], path + ".grace_steps",
                     "must be a multiple of budget.eval_every (" + std::to_string(b.eval_every) +
                         ") so that every rung is an evaluated step, got " +
                         std::to_string(es.grace_steps));
  }
  if (es.grace_steps >= b.steps) {
    return ctx.Error(node["grace_steps"], path + ".grace_steps",
                     "must be below budget.steps (" + std::to_string(b.steps) +
                         "), or no trial could ever be stopped");
  }
  for (const auto& p : spec.parameters) {
    for (const auto& k : p.keys) {
      if (k.rfind("eval.", 0) == 0) {
        return ctx.Error(node, path,
                         "cannot be combined with the parameter '" + k +
                             "': trials evaluated with different settings are not comparable");
      }
    }
  }
  return es;
}

}  // namespace

StatusOr<SpecOverride> ParseSpecOverride(const std::string& text) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    return absl::InvalidArgumentError("--set expects KEY=VALUE, got '" + text + "'");
  }
  return SpecOverride{text.substr(0, eq), text.substr(eq + 1)};
}

StatusOr<SweepSpec> ParseSweepSpec(const std::string& yaml_text, const std::string& source_name,
                                   const std::vector<SpecOverride>& overrides) {
  ErrorContext ctx(source_name);
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::ParserException& e) {
    return absl::InvalidArgumentError(source_name + ":" + std::to_string(e.mark.line + 1) +
                                      ": malformed YAML: " + e.msg);
  }
  if (Status size = CheckYamlDocument(root); !size.ok()) {
    return Status(size.code(), source_name + ": " + std::string(size.message()));
  }
  if (!root.IsMap()) return ctx.Error("<top>", "a sweep spec must be a YAML mapping");
  for (const auto& o : overrides) ABLATE_RETURN_IF_ERROR(ApplyOverride(root, o, ctx));
  if (!overrides.empty()) {
    if (Status size = CheckYamlDocument(root); !size.ok()) {
      return Status(size.code(), source_name + ": " + std::string(size.message()));
    }
  }

  ABLATE_RETURN_IF_ERROR(
      CheckKeys(ctx, root, "",
                {"name", "base", "data", "start_from", "budget", "eval", "max_parallel", "search",
                 "parameters", "constraints", "rerun_finished", "trainer", "early_stop"}));
  SweepSpec spec;
  if (root["trainer"].IsDefined() && !root["trainer"].IsNull()) {
    ABLATE_ASSIGN_OR_RETURN(spec.trainer, ParseTrainer(ctx, root["trainer"]));
  }
  for (const char* required : {"name", "base", "data", "budget"}) {
    if (spec.trainer && std::string(required) == "data") continue;  // the program has its own
    if (!root[required].IsDefined()) return ctx.Error(required, "missing required key");
  }
  ABLATE_ASSIGN_OR_RETURN(spec.name, GetString(ctx, root["name"], "name"));

  const YAML::Node base = root["base"];
  if (!base.IsMap()) return ctx.Error(base, "base", "expected {preset: ..., set: {...}}");
  ABLATE_RETURN_IF_ERROR(CheckKeys(ctx, base, "base", {"preset", "set"}));
  if (base["preset"].IsDefined()) {
    ABLATE_ASSIGN_OR_RETURN(spec.preset, GetString(ctx, base["preset"], "base.preset"));
  }
  if (base["set"].IsDefined() && !base["set"].IsNull()) {
    if (!base["set"].IsMap()) return ctx.Error(base["set"], "base.set", "expected a mapping");
    for (const auto& kv : base["set"]) {
      if (!IsIdentifier(kv.first.Scalar())) {
        return ctx.Error(kv.first, "base.set", "'" + kv.first.Scalar() + "' is not a key name");
      }
      nlohmann::json v = YamlToJson(kv.second);
      if (v.is_object() || v.is_null()) {
        return ctx.Error(kv.second, "base.set." + kv.first.Scalar(), "expected a value");
      }
      spec.base_set[kv.first.Scalar()] = v;
    }
  }

  const YAML::Node data = root["data"];
  if (data.IsDefined() || !spec.trainer) {
    if (!data.IsMap()) return ctx.Error(data, "data", "expected {train: PATH, val: PATH}");
    ABLATE_RETURN_IF_ERROR(
        CheckKeys(ctx, data, "data", {"train", "val", "train_images", "val_images"}));
    ABLATE_ASSIGN_OR_RETURN(spec.train_path, GetString(ctx, data["train"], "data.train"));
    ABLATE_ASSIGN_OR_RETURN(spec.val_path, GetString(ctx, data["val"], "data.val"));
    if (data["train_images"].IsDefined()) {
      ABLATE_ASSIGN_OR_RETURN(spec.train_images_path,
                              GetString(ctx, data["train_images"], "data.train_images"));
    }
    if (data["val_images"].IsDefined()) {
      ABLATE_ASSIGN_OR_RETURN(spec.val_images_path,
                              GetString(ctx, data["val_images"], "data.val_images"));
    }
  }

  if (root["start_from"].IsDefined() && !root["start_from"].IsNull()) {
    ABLATE_ASSIGN_OR_RETURN(spec.start_from, GetString(ctx, root["start_from"], "start_from"));
  }

  const YAML::Node budget = root["budget"];
  if (!budget.IsMap()) return ctx.Error(budget, "budget", "expected {steps: N, ...}");
  ABLATE_RETURN_IF_ERROR(
      CheckKeys(ctx, budget, "budget", {"steps", "checkpoint_every", "eval_every"}));
  ABLATE_ASSIGN_OR_RETURN(spec.budget.steps, GetInt(ctx, budget["steps"], "budget.steps", 0));
  if (budget["checkpoint_every"].IsDefined()) {
    ABLATE_ASSIGN_OR_RETURN(spec.budget.checkpoint_every,
                            GetInt(ctx, budget["checkpoint_every"], "budget.checkpoint_every", 0));
  }
  if (budget["eval_every"].IsDefined()) {
    ABLATE_ASSIGN_OR_RETURN(spec.budget.eval_every,
                            GetInt(ctx, budget["eval_every"], "budget.eval_every", 0));
  }

  if (const YAML::Node eval = root["eval"]; eval.IsDefined() && !eval.IsNull()) {
    if (!eval.IsMap()) return ctx.Error(eval, "eval", "expected a mapping");
    ABLATE_RETURN_IF_ERROR(
        CheckKeys(ctx, eval, "eval", {"score_threshold", "top_k", "nms_iou", "max_dets"}));
    if (eval["score_threshold"].IsDefined()) {
      ABLATE_ASSIGN_OR_RETURN(spec.eval.score_threshold,
                              GetDouble(ctx, eval["score_threshold"], "eval.score_threshold"));
      if (spec.eval.score_threshold < 0 || spec.eval.score_threshold >= 1) {
        return ctx.Error(eval["score_threshold"], "eval.score_threshold", "must be in [0, 1)");
      }
    }
    if (eval["top_k"].IsDefined()) {
      ABLATE_ASSIGN_OR_RETURN(int64_t k, GetInt(ctx, eval["top_k"], "eval.top_k", 1));
      spec.eval.top_k = static_cast<int>(k);
    }
    if (eval["nms_iou"].IsDefined()) {
      ABLATE_ASSIGN_OR_RETURN(spec.eval.nms_iou, GetDouble(ctx, eval["nms_iou"], "eval.nms_iou"));
      if (spec.eval.nms_iou <= 0 || spec.eval.nms_iou > 1) {
        return ctx.Error(eval["nms_iou"], "eval.nms_iou", "must be in (0, 1]");
      }
    }
    if (eval["max_dets"].IsDefined()) {
      ABLATE_ASSIGN_OR_RETURN(int64_t m, GetInt(ctx, eval["max_dets"], "eval.max_dets", 1));
      if (m != 100) {
        return ctx.Error(eval["max_dets"], "eval.max_dets",
                         "only COCO's 100 is supported by ablate-train's evaluation");
      }
      spec.eval.max_dets = static_cast<int>(m);
    }
  }

  if (root["max_parallel"].IsDefined()) {
    ABLATE_ASSIGN_OR_RETURN(int64_t mp, GetInt(ctx, root["max_parallel"], "max_parallel", 1));
    spec.max_parallel = static_cast<int>(mp);
  }
  if (root["rerun_finished"].IsDefined()) {
    ABLATE_ASSIGN_OR_RETURN(spec.rerun_finished,
                            GetBool(ctx, root["rerun_finished"], "rerun_finished"));
  }

  if (const YAML::Node search = root["search"]; search.IsDefined() && !search.IsNull()) {
    if (!search.IsMap()) return ctx.Error(search, "search", "expected {mode: grid|random, ...}");
    ABLATE_RETURN_IF_ERROR(CheckKeys(ctx, search, "search", {"mode", "seed", "trials"}));
    std::string mode = "grid";
    if (search["mode"].IsDefined()) {
      ABLATE_ASSIGN_OR_RETURN(mode, GetString(ctx, search["mode"], "search.mode"));
    }
    if (mode == "random") {
      spec.search = SearchMode::kRandom;
      ABLATE_ASSIGN_OR_RETURN(int64_t trials, GetInt(ctx, search["trials"], "search.trials", 1));
      if (trials > kMaxTrialsPerSweep) {
        return ctx.Error(search["trials"], "search.trials",
                         "must be <= " + std::to_string(kMaxTrialsPerSweep) +
                             " (the trials-per-sweep limit), got " + std::to_string(trials));
      }
      spec.trials = static_cast<int>(trials);
      if (search["seed"].IsDefined()) {
        ABLATE_ASSIGN_OR_RETURN(int64_t seed, GetInt(ctx, search["seed"], "search.seed", 0));
        spec.seed = static_cast<uint64_t>(seed);
      }
    } else if (mode != "grid") {
      return ctx.Error(search["mode"], "search.mode",
                       "expected grid or random, got '" + mode + "'");
    } else if (search["trials"].IsDefined() || search["seed"].IsDefined()) {
      return ctx.Error(search, "search", "seed and trials apply to random search only");
    }
  }

  if (spec.budget.steps == 0 && spec.start_from.empty()) {
    return ctx.Error(budget["steps"], "budget.steps",
                     "0 means evaluate only, which needs start_from (a checkpoint)");
  }

  std::set<std::string> declared;
  for (const auto& [k, v] : spec.base_set.items()) declared.insert(k);
  if (const YAML::Node params = root["parameters"]; params.IsDefined() && !params.IsNull()) {
    if (!params.IsMap()) return ctx.Error(params, "parameters", "expected a mapping");
    for (const auto& kv : params) {
      ABLATE_ASSIGN_OR_RETURN(ParameterSpec p,
                              ParseParameter(ctx, kv.first, kv.second, spec.search));
      for (const auto& [cond_key, unused] : p.when) {
        bool earlier = spec.base_set.contains(cond_key);
        for (const auto& q : spec.parameters) {
          for (const auto& k : q.keys) earlier |= (k == cond_key);
        }
        if (!earlier) {
          return ctx.Error(
              kv.first, "parameters." + p.keys[0] + ".when",
              "'" + cond_key + "' must be a base.set key or a parameter declared above");
        }
      }
      for (const auto& k : p.keys) {
        for (const auto& q : spec.parameters) {
          for (const auto& qk : q.keys) {
            if (qk == k) return ctx.Error(kv.first, "parameters", "'" + k + "' declared twice");
          }
        }
        declared.insert(k);
      }
      spec.parameters.push_back(std::move(p));
    }
  }

  if (const YAML::Node cons = root["constraints"]; cons.IsDefined() && !cons.IsNull()) {
    if (!cons.IsSequence()) return ctx.Error(cons, "constraints", "expected a list of strings");
    for (size_t i = 0; i < cons.size(); ++i) {
      std::string path = "constraints[" + std::to_string(i) + "]";
      ABLATE_ASSIGN_OR_RETURN(Constraint c, ParseConstraint(ctx, cons[i], path));
      for (const std::string* side : {&c.lhs, &c.rhs}) {
        if (IsIdentifier(*side) && !declared.count(*side)) {
          return ctx.Error(cons[i], path,
                           "'" + *side + "' is neither a base.set key nor a parameter");
        }
      }
      spec.constraints.push_back(std::move(c));
    }
  }
  if (const YAML::Node es = root["early_stop"]; es.IsDefined() && !es.IsNull()) {
    ABLATE_ASSIGN_OR_RETURN(spec.early_stop, ParseEarlyStop(ctx, es, spec));
  }
  return spec;
}

StatusOr<SweepSpec> LoadSweepSpecFile(const std::string& path,
                                      const std::vector<SpecOverride>& overrides) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("cannot read sweep spec " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseSweepSpec(ss.str(), path, overrides);
}

nlohmann::json SweepDataJson(const SweepSpec& spec) {
  nlohmann::json data = {{"train", spec.train_path}, {"val", spec.val_path}};
  if (!spec.train_images_path.empty()) data["train_images"] = spec.train_images_path;
  if (!spec.val_images_path.empty()) data["val_images"] = spec.val_images_path;
  return data;
}

}  // namespace ablate::sweepspec
