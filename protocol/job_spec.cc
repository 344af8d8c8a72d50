#include "protocol/job_spec.h"

namespace ablate::protocol {
namespace {

using nlohmann::json;

StatusOr<std::optional<CheckpointRef>> ParseRef(const json& j, const std::string& field) {
  if (!j.contains(field) || j[field].is_null()) return std::optional<CheckpointRef>();
  const json& r = j[field];
  if (!r.is_object() || !r.contains("name") || !r["name"].is_string() || !r.contains("uri") ||
      !r["uri"].is_string()) {
    return absl::InvalidArgumentError("job spec: '" + field + "' must be {name, uri}");
  }
  ABLATE_RETURN_IF_ERROR(PathFromUri(r["uri"]).status());
  return std::optional<CheckpointRef>(CheckpointRef{r["name"], r["uri"]});
}

json RefToJson(const std::optional<CheckpointRef>& ref) {
  if (!ref) return nullptr;
  return {{"name", ref->name}, {"uri", ref->uri}};
}

std::string SetValueText(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

StatusOr<std::string> SubstituteArgument(const std::string& arg, size_t index, const json& config) {
  std::string out;
  for (size_t i = 0; i < arg.size(); ++i) {
    const char c = arg[i];
    if ((c == '{' || c == '}') && i + 1 < arg.size() && arg[i + 1] == c) {
      out += c;
      ++i;
      continue;
    }
    if (c != '{') {
      out += c;
      continue;
    }
    const size_t close = arg.find('}', i);
    if (close == std::string::npos) {
      return absl::InvalidArgumentError("trainer.command[" + std::to_string(index) + "] '" + arg +
                                        "': unclosed '{' (write {{ for a literal brace)");
    }
    const std::string key = arg.substr(i + 1, close - i - 1);
    if (!config.is_object() || !config.contains(key)) {
      return absl::InvalidArgumentError("trainer.command[" + std::to_string(index) + "] '" + arg +
                                        "': '{" + key +
                                        "}' is not a key of the trial's config (base.set or a "
                                        "parameter)");
    }
    out += SetValueText(config[key]);
    i = close;
  }
  return out;
}

}  // namespace

StatusOr<std::string> PathFromUri(const std::string& uri) {
  constexpr std::string_view kFile = "file://";
  if (uri.rfind(kFile, 0) != 0 || uri.size() <= kFile.size() || uri[kFile.size()] != '/') {
    return absl::InvalidArgumentError("unsupported checkpoint URI '" + uri +
                                      "' (expected file:///absolute/path)");
  }
  return uri.substr(kFile.size());
}

std::string UriFromPath(const std::string& absolute_path) { return "file://" + absolute_path; }

StatusOr<TrainerSpec> ParseTrainerSpec(const json& j) {
  if (!j.is_object()) return absl::InvalidArgumentError("trainer must be an object");
  TrainerSpec t;
  if (!j.contains("command") || !j["command"].is_array() || j["command"].empty()) {
    return absl::InvalidArgumentError("trainer.command must be a non-empty list of strings");
  }
  for (const json& a : j["command"]) {
    if (!a.is_string()) {
      return absl::InvalidArgumentError("trainer.command must be a non-empty list of strings");
    }
    t.command.push_back(a.get<std::string>());
  }
  if (t.command[0].empty()) return absl::InvalidArgumentError("trainer.command[0] is empty");
  if (j.contains("output")) {
    if (!j["output"].is_string()) return absl::InvalidArgumentError("trainer.output: not a string");
    t.output = j["output"].get<std::string>();
  }
  if (t.output != "summaries" && t.output != "events") {
    return absl::InvalidArgumentError("trainer.output: expected summaries or events, got '" +
                                      t.output + "'");
  }
  if (j.contains("iou")) {
    if (!j["iou"].is_string()) return absl::InvalidArgumentError("trainer.iou: not a string");
    t.iou = j["iou"].get<std::string>();
  }
  if (t.iou != "bbox" && t.iou != "segm") {
    return absl::InvalidArgumentError("trainer.iou: expected bbox or segm, got '" + t.iou + "'");
  }
  return t;
}

json TrainerSpecToJson(const TrainerSpec& t) {
  return {{"command", t.command}, {"output", t.output}, {"iou", t.iou}};
}

StatusOr<std::vector<std::string>> SubstituteTrainerCommand(const std::vector<std::string>& command,
                                                            const json& config) {
  std::vector<std::string> out;
  for (size_t i = 0; i < command.size(); ++i) {
    ABLATE_ASSIGN_OR_RETURN(std::string arg, SubstituteArgument(command[i], i, config));
    out.push_back(std::move(arg));
  }
  return out;
}

StatusOr<JobSpec> ParseJobSpec(const json& j) {
  if (!j.is_object()) return absl::InvalidArgumentError("job spec must be a JSON object");
  JobSpec s;
  try {
    s.kind = j.value("kind", "train");
    if (s.kind != "train" && s.kind != "eval") {
      return absl::InvalidArgumentError("job spec: unknown kind '" + s.kind + "'");
    }
    s.run = j.value("run", "");
    s.preset = j.value("preset", "tiny");
    s.set = j.value("set", json::object());
    if (!s.set.is_object()) return absl::InvalidArgumentError("job spec: 'set' must be an object");
    if (j.contains("data")) {
      s.train_path = j["data"].value("train", "");
      s.val_path = j["data"].value("val", "");
      s.train_images_dir = j["data"].value("train_images", "");
      s.val_images_dir = j["data"].value("val_images", "");
    }
    s.steps = j.value("steps", int64_t{0});
    s.checkpoint_every = j.value("checkpoint_every", int64_t{0});
    s.eval_every = j.value("eval_every", int64_t{0});
    if (j.contains("eval")) {
      const json& e = j["eval"];
      s.score_threshold = e.value("score_threshold", s.score_threshold);
      s.top_k = e.value("top_k", s.top_k);
      s.nms_iou = e.value("nms_iou", s.nms_iou);
      s.max_dets = e.value("max_dets", s.max_dets);
    }
    s.reset_optimizer = j.value("reset_optimizer", false);
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(std::string("job spec: wrong field type: ") + e.what());
  }
  ABLATE_ASSIGN_OR_RETURN(s.init_checkpoint, ParseRef(j, "init_checkpoint"));
  ABLATE_ASSIGN_OR_RETURN(s.resume_checkpoint, ParseRef(j, "resume_checkpoint"));
  if (j.contains("trainer") && !j["trainer"].is_null()) {
    auto trainer = ParseTrainerSpec(j["trainer"]);
    if (!trainer.ok()) {
      return absl::InvalidArgumentError("job spec: " + std::string(trainer.status().message()));
    }
    s.trainer = std::move(*trainer);
    if (s.kind == "eval") {
      return absl::InvalidArgumentError("job spec: an eval job runs ablate-train, not a trainer");
    }
    return s;  // the user's program needs no data paths or step count from us
  }
  if (s.val_path.empty()) return absl::InvalidArgumentError("job spec: 'data.val' is required");
  if (s.kind == "train" && s.train_path.empty()) {
    return absl::InvalidArgumentError("job spec: 'data.train' is required for a train job");
  }
  if (s.kind == "train" && s.steps <= 0) {
    return absl::InvalidArgumentError("job spec: a train job needs 'steps' > 0");
  }
  if (s.kind == "eval" && !s.init_checkpoint) {
    return absl::InvalidArgumentError("job spec: an eval job needs 'init_checkpoint'");
  }
  return s;
}

json JobSpecToJson(const JobSpec& s) {
  json data = {{"train", s.train_path}, {"val", s.val_path}};
  if (!s.train_images_dir.empty()) data["train_images"] = s.train_images_dir;
  if (!s.val_images_dir.empty()) data["val_images"] = s.val_images_dir;
  json out = {{"kind", s.kind},
              {"run", s.run},
              {"preset", s.preset},
              {"set", s.set},
              {"data", data},
              {"steps", s.steps},
              {"checkpoint_every", s.checkpoint_every},
              {"eval_every", s.eval_every},
              {"eval",
               {{"score_threshold", s.score_threshold},
                {"top_k", s.top_k},
                {"nms_iou", s.nms_iou},
                {"max_dets", s.max_dets}}},
              {"init_checkpoint", RefToJson(s.init_checkpoint)},
              {"reset_optimizer", s.reset_optimizer},
              {"resume_checkpoint", RefToJson(s.resume_checkpoint)}};
  if (s.trainer) out["trainer"] = TrainerSpecToJson(*s.trainer);
  return out;
}

}  // namespace ablate::protocol
