#include "cli/replay_spec.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <numeric>
#include <set>
#include <string_view>

#include "sweepspec/sweep_spec.h"
#include "sweepspec/trial_expansion.h"

namespace ablate::cli {
namespace {

using nlohmann::json;

// A run ready to be a trial.
struct Trialish {
  std::string run;
  std::string preset;
  json set = json::object();
  std::string train_path;  // "" with val_path "": no data section (a trainer has its own data)
  std::string val_path;
  std::string start_from;  // "" = from scratch
  int64_t steps = 0;
  json eval;     // {score_threshold, top_k, nms_iou, max_dets}
  json trainer;  // protocol::TrainerSpecToJson; null: ablate-train
  std::string note;
};

constexpr char kDefaultTrainPath[] = "data/train.json";
constexpr char kDefaultValPath[] = "data/val.json";

bool IsSweepConfig(const json& c) {
  return c.is_object() && c.contains("set") && c["set"].is_object() && c.contains("preset");
}

std::string Quote(const std::string& s) { return json(s).dump(); }  // YAML double-quoted

// JSON in YAML flow style with a space after every ':' and ',' ({"a": 1, "b": [1, 2]}).
std::string Flow(const json& j) {
  std::string out;
  if (j.is_object()) {
    out = "{";
    bool first = true;
    for (const auto& [k, v] : j.items()) {
      out += (first ? "" : ", ") + Quote(k) + ": " + Flow(v);
      first = false;
    }
    return out + "}";
  }
  if (j.is_array()) {
    out = "[";
    for (size_t i = 0; i < j.size(); ++i) out += (i ? ", " : "") + Flow(j[i]);
    return out + "]";
  }
  return j.dump();
}

json EvalOf(const ReplayRun& r, const json& recorded) {
  sweepspec::EvalSettings defaults;
  json e = {{"score_threshold", defaults.score_threshold},
            {"top_k", defaults.top_k},
            {"nms_iou", defaults.nms_iou},
            {"max_dets", defaults.max_dets}};
  if (recorded.is_object()) {
    for (const auto& [k, v] : recorded.items()) {
      if (e.contains(k) && v.is_number()) e[k] = v;
    }
  }
  if (r.score_threshold) e["score_threshold"] = *r.score_threshold;
  if (r.top_k) e["top_k"] = *r.top_k;
  if (r.nms_iou) e["nms_iou"] = *r.nms_iou;
  if (r.max_dets) e["max_dets"] = *r.max_dets;
  return e;
}

// A ReplayRun as a trial (its `{key}`s unchecked), or the reason it cannot be one.
StatusOr<Trialish> PrepareUnchecked(const ReplayRun& r, const ReplayOptions& o) {
  Trialish t;
  t.run = r.name;
  if (IsSweepConfig(r.config)) {
    // A run made by a sweep or a fork: its effective config has everything, its trainer too.
    t.preset = r.config.value("preset", o.preset);
    t.set = r.config["set"];
    if (o.trainer) {
      t.trainer = protocol::TrainerSpecToJson(*o.trainer);
    } else if (r.config.contains("trainer") && r.config["trainer"].is_object()) {
      t.trainer = r.config["trainer"];
    }
    json data = r.config.value("data", json::object());
    if (!data.is_object()) data = json::object();
    t.train_path = data.value("train", "");
    t.val_path = data.value("val", "");
    if (t.trainer.is_null() || !t.train_path.empty() || !t.val_path.empty()) {
      // ablate-train needs both (a trainer run recorded without data keeps having none).
      if (t.train_path.empty()) t.train_path = o.train_path.value_or(kDefaultTrainPath);
      if (t.val_path.empty()) t.val_path = o.val_path.value_or(kDefaultValPath);
    }
    const json start = r.config.value("start_from", json(""));
    t.start_from = start.is_string() ? start.get<std::string>() : "";
    t.steps = r.config.value("steps", int64_t{0});
    t.eval = EvalOf(ReplayRun{}, r.config.value("eval", json::object()));
    if (t.steps <= 0) return absl::InvalidArgumentError("its config records no training steps");
    t.note = std::to_string(t.steps) + " steps" +
             (t.start_from.empty() ? " from scratch" : " from " + t.start_from);
    return t;
  }
  // A diary run: the recognised keys, in the detector's vocabulary for ablate-train, as the
  // diary wrote them for a trainer of your own (the program that wrote the diary).
  t.preset = o.preset;
  if (o.trainer) t.trainer = protocol::TrainerSpecToJson(*o.trainer);
  if (t.trainer.is_null() || o.train_path || o.val_path) {
    t.train_path = o.train_path.value_or(kDefaultTrainPath);
    t.val_path = o.val_path.value_or(kDefaultValPath);
  }
  for (const auto& [k, v] : r.config.items()) {
    t.set[t.trainer.is_null() ? SweepConfigKey(k) : k] = v;
  }
  if (!r.parent_checkpoint.empty()) {
    if (r.parent_checkpoint_uri.rfind("file://", 0) == 0) {
      t.start_from = r.parent_run + "/" + r.parent_checkpoint;  // the coordinator has the file
    } else {
      std::string file =
          r.parent_checkpoint_uri.empty() ? r.parent_checkpoint : r.parent_checkpoint_uri;
      if (!o.checkpoint_dir.empty()) {
        file = (std::filesystem::path(o.checkpoint_dir) / file).string();
      }
      t.start_from = "file:" + file;
    }
  }
  if (r.last_checkpoint_step && *r.last_checkpoint_step > r.parent_step) {
    t.steps = *r.last_checkpoint_step - r.parent_step;
    t.note = std::to_string(t.steps) + " steps (its checkpoint step " +
             std::to_string(*r.last_checkpoint_step) +
             (r.parent_checkpoint.empty() ? "" : " - " + std::to_string(r.parent_step)) + ")";
  } else if (o.default_steps) {
    t.steps = *o.default_steps;
    t.note = std::to_string(t.steps) + " steps (--steps; its length is not recorded)";
  } else {
    return absl::InvalidArgumentError(
        "its length is not recorded (no checkpoint after its start); pass --steps N");
  }
  if (r.config.empty() && r.parent_checkpoint.empty()) {
    return absl::InvalidArgumentError(
        "neither a config nor a start checkpoint is recorded (e.g. an evaluation of imported "
        "weights); nothing to replay");
  }
  t.eval = EvalOf(r, json::object());
  t.note += r.parent_checkpoint.empty()
                ? ", from scratch"
                : ", forked from " + r.parent_run + "/" + r.parent_checkpoint;
  return t;
}

// Every `{key}` of the trainer's command must be a key of the trial's config, as the
// coordinator checks at submit time.
Status CheckTrainerKeys(const Trialish& t) {
  if (t.trainer.is_null()) return absl::OkStatus();
  ABLATE_ASSIGN_OR_RETURN(protocol::TrainerSpec trainer, protocol::ParseTrainerSpec(t.trainer));
  return protocol::SubstituteTrainerCommand(trainer.command, t.set).status();
}

// A ReplayRun as a trial, or the reason it cannot be one.
StatusOr<Trialish> Prepare(const ReplayRun& r, const ReplayOptions& o) {
  ABLATE_ASSIGN_OR_RETURN(Trialish t, PrepareUnchecked(r, o));
  ABLATE_RETURN_IF_ERROR(CheckTrainerKeys(t));
  return t;
}

std::string GroupKey(const Trialish& t) {
  json keys = json::array();
  for (const auto& [k, v] : t.set.items()) keys.push_back(k);  // json objects iterate sorted
  return json::array({t.preset, t.train_path, t.val_path, t.start_from, t.eval, t.trainer, keys})
      .dump();
}

int64_t GcdOf(const std::vector<int64_t>& xs) {
  int64_t g = 0;
  for (int64_t x : xs) g = std::gcd(g, x);
  return g;
}

std::string RenderDocument(const std::string& name, const std::vector<Trialish>& trials) {
  const Trialish& first = trials.front();
  // Keys whose value is the same in every trial go to base.set; the rest vary.
  json base = json::object();
  std::vector<std::string> varying;
  for (const auto& [k, v] : first.set.items()) {
    bool same = true;
    for (const Trialish& t : trials) same = same && t.set[k] == v;
    if (same) {
      base[k] = v;
    } else {
      varying.push_back(k);
    }
  }
  std::vector<int64_t> lengths;
  for (const Trialish& t : trials) lengths.push_back(t.steps);
  const int64_t steps = *std::max_element(lengths.begin(), lengths.end());
  const bool all_same_length =
      std::all_of(lengths.begin(), lengths.end(), [&](int64_t x) { return x == steps; });
  const int64_t every = all_same_length ? 0 : GcdOf(lengths);

  std::string y;
  y += "# Replays recorded runs (ablate replay); one trial per run:\n";
  for (size_t i = 0; i < trials.size(); ++i) {
    y += "#   t" + std::string(i < 10 ? "0" : "") + std::to_string(i) + " = " + trials[i].run +
         ": " + trials[i].note + "\n";
  }
  if (first.trainer.is_null()) {
    y += "# To train with your own trainer instead of ablate-train, add its section "
         "(docs/sweeps.md):\n";
    y += "# trainer:\n#   command: python tools/train.py --config configs/yolact.yml\n";
  }
  y += "name: " + Quote(name) + "\n";
  y += "base: {preset: " + Quote(first.preset) + ", set: " + Flow(base) + "}\n";
  if (!first.trainer.is_null()) {
    y += "trainer:\n  command: " + Flow(first.trainer["command"]) +
         "\n  output: " + Quote(first.trainer.value("output", "events")) +
         "\n  iou: " + Quote(first.trainer.value("iou", "bbox")) + "\n";
  }
  if (!first.train_path.empty() || !first.val_path.empty()) {
    y += "data: {train: " + Quote(first.train_path) + ", val: " + Quote(first.val_path) + "}\n";
  }
  y += "start_from: " + (first.start_from.empty() ? std::string("null") : Quote(first.start_from)) +
       "\n";
  y += "budget: {steps: " + std::to_string(steps) + ", checkpoint_every: " + std::to_string(every) +
       ", eval_every: " + std::to_string(every) + "}\n";
  y += "eval: {score_threshold: " + first.eval["score_threshold"].dump() +
       ", top_k: " + first.eval["top_k"].dump() + ", nms_iou: " + first.eval["nms_iou"].dump() +
       ", max_dets: " + first.eval["max_dets"].dump() + "}\n";
  if (!varying.empty()) {
    y += "parameters:\n  ";
    if (varying.size() == 1) {
      y += varying[0] + ": {values: [";
      for (size_t i = 0; i < trials.size(); ++i) {
        y += (i ? ", " : "") + Flow(trials[i].set[varying[0]]);
      }
    } else {
      y += "[";
      for (size_t k = 0; k < varying.size(); ++k) y += (k ? ", " : "") + varying[k];
      y += "]: {values: [";
      for (size_t i = 0; i < trials.size(); ++i) {
        json row = json::array();
        for (const auto& k : varying) row.push_back(trials[i].set[k]);
        y += (i ? ", " : "") + Flow(row);
      }
    }
    y += "]}\n";
  }
  return y;
}

}  // namespace

std::string SweepConfigKey(const std::string& diary_key) {
  static const std::map<std::string, std::string> kMap = {
      {"focal_loss_alpha", "focal_alpha"},
      {"focal_loss_gamma", "focal_gamma"},
      {"ohem_negpos_ratio", "ohem_neg_pos_ratio"},
  };
  auto it = kMap.find(diary_key);
  return it == kMap.end() ? diary_key : it->second;
}

StatusOr<std::vector<std::string>> SplitCommandLine(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;  // a word has started (even an empty one: '' is a word)
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    if (c == '\\' && i + 1 < line.size() && line[i + 1] == '\n') {
      ++i;  // backslash-newline joins lines
      continue;
    }
    in_word = true;
    if (c == '\\') {
      if (i + 1 == line.size()) {
        return absl::InvalidArgumentError("the command line ends with a lone backslash");
      }
      word += line[++i];
    } else if (c == '\'') {
      const size_t close = line.find('\'', i + 1);
      if (close == std::string::npos) {
        return absl::InvalidArgumentError("unterminated ' quote in the command line: " + line);
      }
      word += line.substr(i + 1, close - i - 1);
      i = close;
    } else if (c == '"') {
      size_t j = i + 1;
      for (; j < line.size() && line[j] != '"'; ++j) {
        if (line[j] == '\\' && j + 1 < line.size() &&
            std::string_view("$`\"\\\n").find(line[j + 1]) != std::string_view::npos) {
          if (line[j + 1] != '\n') word += line[j + 1];
          ++j;
        } else {
          word += line[j];
        }
      }
      if (j == line.size()) {
        return absl::InvalidArgumentError("unterminated \" quote in the command line: " + line);
      }
      i = j;
    } else {
      word += c;
    }
  }
  if (in_word) words.push_back(std::move(word));
  if (words.empty()) return absl::InvalidArgumentError("the command line is empty");
  return words;
}

StatusOr<ReplayPlan> BuildReplayPlan(const std::vector<ReplayRun>& runs,
                                     const ReplayOptions& options) {
  if (runs.empty()) return absl::InvalidArgumentError("no runs to replay");
  ReplayPlan plan;
  std::vector<std::string> order;                       // group keys, first-seen order
  std::map<std::string, std::vector<Trialish>> groups;  // key -> trials
  for (const ReplayRun& r : runs) {
    auto t = Prepare(r, options);
    if (!t.ok()) {
      plan.skipped.push_back({r.name, std::string(t.status().message())});
      continue;
    }
    const std::string key = GroupKey(*t);
    auto& group = groups[key];
    if (group.empty()) order.push_back(key);
    const auto twin = std::find_if(group.begin(), group.end(),
                                   [&](const Trialish& g) { return g.set == t->set; });
    if (twin != group.end()) {
      plan.skipped.push_back(
          {r.name, "same config and start point as " + twin->run + " (one trial replays both)"});
      continue;
    }
    group.push_back(*std::move(t));
  }
  if (order.empty()) {
    std::string why;
    for (const auto& s : plan.skipped) why += "; " + s.run + ": " + s.reason;
    return absl::InvalidArgumentError("no run can be replayed" + why);
  }
  for (size_t g = 0; g < order.size(); ++g) {
    const auto& trials = groups[order[g]];
    ReplayDocument doc;
    doc.name = order.size() == 1 ? options.name : options.name + "-" + std::to_string(g + 1);
    for (const auto& t : trials) doc.runs.push_back(t.run);
    doc.yaml = RenderDocument(doc.name, trials);
    // Our own output must be what `ablate submit` reads: parse and expand it here.
    auto spec = sweepspec::ParseSweepSpec(doc.yaml, doc.name + ".yaml");
    if (!spec.ok()) {
      return absl::InternalError("replay built an invalid sweep: " +
                                 std::string(spec.status().message()) + "\n" + doc.yaml);
    }
    auto expansion = sweepspec::ExpandTrials(*spec);
    if (!expansion.ok() || expansion->trials.size() != trials.size()) {
      return absl::InternalError("replay built a sweep that does not expand to its " +
                                 std::to_string(trials.size()) + " runs:\n" + doc.yaml);
    }
    if (spec->trainer) {
      for (const auto& trial : expansion->trials) {
        if (auto argv = protocol::SubstituteTrainerCommand(spec->trainer->command, trial.set);
            !argv.ok()) {
          return absl::InternalError(
              "replay built a sweep whose trainer the coordinator "
              "would refuse: " +
              std::string(argv.status().message()) + "\n" + doc.yaml);
        }
      }
    }
    plan.documents.push_back(std::move(doc));
  }
  return plan;
}

}  // namespace ablate::cli
