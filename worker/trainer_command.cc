#include "worker/trainer_command.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace ablate::worker {
namespace {

using nlohmann::json;
using protocol::JobSpec;
using protocol::PathFromUri;

std::string SetValueText(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

}  // namespace

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

StatusOr<std::map<std::string, std::string>> TrainerEnvironment(const JobSpec& spec,
                                                                const std::string& trial_dir,
                                                                const std::string& config_path,
                                                                const std::string& device) {
  if (!spec.trainer) return absl::InvalidArgumentError("job spec has no trainer");
  std::map<std::string, std::string> env = {{"ABLATE_TRIAL_CONFIG", config_path},
                                            {"ABLATE_TRIAL_DIR", trial_dir},
                                            {"ABLATE_RUN", spec.run},
                                            {"ABLATE_DEVICE", device}};
  // The run's own checkpoint continues it; a fork's first attempt starts from the fork point.
  const auto& from = spec.resume_checkpoint ? spec.resume_checkpoint : spec.init_checkpoint;
  if (from) {
    ABLATE_ASSIGN_OR_RETURN(env["ABLATE_RESUME_FROM"], PathFromUri(from->uri));
  }
  return env;
}

StatusOr<std::string> ResolveProgram(const std::string& program, const std::string& working_dir) {
  namespace fs = std::filesystem;
  if (program.find('/') != std::string::npos) {
    fs::path p =
        fs::path(program).is_absolute() ? fs::path(program) : working_dir / fs::path(program);
    if (::access(p.c_str(), X_OK) != 0) {
      return absl::NotFoundError("trainer program '" + p.string() + "' is not an executable file");
    }
    return p.string();
  }
  const char* path_env = std::getenv("PATH");
  std::string path = path_env ? path_env : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    const std::string dir = end > start ? path.substr(start, end - start) : ".";
    const fs::path candidate = fs::path(dir) / program;
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate.string();
    }
    start = end + 1;
  }
  return absl::NotFoundError("trainer program '" + program + "' not found in PATH on this worker");
}

}  // namespace ablate::worker
