// What a leased job tells a worker to do, as stored in jobs.spec_json by the coordinator and
// read by the worker. JSON, so the coordinator and worker never share C++ types beyond this.
//
//   {"kind": "train"|"eval", "run": NAME,
//    "preset": "tiny", "set": {KEY: VALUE, ...},
//    "data": {"train": PATH, "val": PATH,
//             "train_images": DIR, "val_images": DIR},            // image folders: optional
//    "steps": N, "checkpoint_every": N, "eval_every": N,
//    "eval": {"score_threshold": x, "top_k": k, "nms_iou": x, "max_dets": m},
//    "init_checkpoint": {"name": NAME, "uri": URI} | null,   // fork point, or what to evaluate
//    "reset_optimizer": bool,                                  // fork: fresh optimiser/schedule
//    "resume_checkpoint": {"name": NAME, "uri": URI} | null}  // set at lease time: continue here
//
// URIs are `file:///abs/path` (shared filesystem) in this version.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace ablate::worker {

struct CheckpointRef {
  std::string name;
  std::string uri;
};

struct JobSpec {
  std::string kind = "train";  // "train" or "eval"
  std::string run;
  std::string preset = "tiny";
  nlohmann::json set = nlohmann::json::object();
  std::string train_path;
  std::string val_path;
  std::string train_images_dir;  // empty: ablate-train's default (next to the JSON)
  std::string val_images_dir;
  int64_t steps = 0;
  int64_t checkpoint_every = 0;
  int64_t eval_every = 0;
  double score_threshold = 0.05;
  int top_k = 100;
  double nms_iou = 0.5;
  int max_dets = 100;
  std::optional<CheckpointRef> init_checkpoint;
  bool reset_optimizer = false;
  std::optional<CheckpointRef> resume_checkpoint;
};

// InvalidArgument naming the field for a malformed spec (unknown kind, eval without a
// checkpoint, missing data paths, a URI that is not file://).
StatusOr<JobSpec> ParseJobSpec(const nlohmann::json& json);
nlohmann::json JobSpecToJson(const JobSpec& spec);

// "file:///a/b" -> "/a/b"; InvalidArgument for other schemes.
StatusOr<std::string> PathFromUri(const std::string& uri);
std::string UriFromPath(const std::string& absolute_path);

// The `ablate-train` command line for a job: `trainer run|eval ... --events`. `out_dir` is
// where the trial writes checkpoints; `device` is "cpu" or "cuda:N"; `threads` > 0 sets
// LibTorch's intra-op threads (0: ablate-train's default, every core).
StatusOr<std::vector<std::string>> TrainerArgv(const JobSpec& spec, const std::string& trainer,
                                               const std::string& out_dir,
                                               const std::string& device, int threads = 0);

}  // namespace ablate::worker
