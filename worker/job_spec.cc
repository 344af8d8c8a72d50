#include "worker/job_spec.h"

namespace ablate::worker {
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
  return {{"kind", s.kind},
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
}

StatusOr<std::vector<std::string>> TrainerArgv(const JobSpec& spec, const std::string& trainer,
                                               const std::string& out_dir,
                                               const std::string& device, int threads) {
  std::vector<std::string> argv = {trainer};
  if (threads > 0) {
    argv.push_back("--threads");
    argv.push_back(std::to_string(threads));
  }
  auto add = [&argv](const std::string& flag, const std::string& value) {
    argv.push_back(flag);
    argv.push_back(value);
  };
  if (spec.kind == "eval") {
    ABLATE_ASSIGN_OR_RETURN(std::string path, PathFromUri(spec.init_checkpoint->uri));
    argv.push_back("eval");
    add("--checkpoint", path);
    // The trial folder (the worker's, writable) holds the results JSON, so the evaluation reports
    // its size, and the gallery, rather than the checkpoint's folder, which may be read-only.
    add("--out", out_dir);
    add("--results", out_dir + "/results.json");
  } else {
    argv.push_back("run");
    add("--train", spec.train_path);
    if (!spec.train_images_dir.empty()) add("--train-images", spec.train_images_dir);
    add("--preset", spec.preset);
    for (const auto& [key, value] : spec.set.items()) add("--set", key + "=" + SetValueText(value));
    add("--steps", std::to_string(spec.steps));
    add("--out", out_dir);
    if (spec.checkpoint_every > 0) add("--checkpoint-every", std::to_string(spec.checkpoint_every));
    if (spec.eval_every > 0) add("--eval-every", std::to_string(spec.eval_every));
    // Resuming the run's own checkpoint continues everything; a fork point starts a new run
    // from those weights (optionally with a fresh optimiser and schedule).
    if (spec.resume_checkpoint) {
      ABLATE_ASSIGN_OR_RETURN(std::string path, PathFromUri(spec.resume_checkpoint->uri));
      add("--resume", path);
    } else if (spec.init_checkpoint) {
      ABLATE_ASSIGN_OR_RETURN(std::string path, PathFromUri(spec.init_checkpoint->uri));
      add("--resume", path);
      if (spec.reset_optimizer) argv.push_back("--reset-optimizer");
    }
  }
  add("--val", spec.val_path);
  if (!spec.val_images_dir.empty()) add("--val-images", spec.val_images_dir);
  add("--score-threshold", json(spec.score_threshold).dump());  // shortest round-trip text
  add("--top-k", std::to_string(spec.top_k));
  add("--nms-iou", json(spec.nms_iou).dump());
  add("--max-dets", std::to_string(spec.max_dets));
  add("--device", device);
  argv.push_back("--events");
  return argv;
}

}  // namespace ablate::worker
