// The training loop of the detector: data, network initialisation (fresh, init_from weights, or a
// resume / fork of a checkpoint), optimisation with the lr schedule, periodic checkpoints
// (detector/checkpoint.h) and evaluations (detector/evaluate.h), divergence handling, and the
// worker protocol's events.
#pragma once

#include <torch/types.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "detector/checkpoint.h"
#include "detector/config/train_config.h"
#include "detector/evaluate.h"
#include "detector/init_weights.h"
#include "nlohmann/json.hpp"
#include "protocol/trial_events.h"

namespace ablate::detector {

// Device chosen at run time: CUDA when available, CPU otherwise.
torch::Device DefaultDevice();

// lr at `step` (counted from the schedule start): linear warmup from lr*warmup_factor, then the
// config's lr_schedule: "step" multiplies by lr_gamma at every lr_steps entry <= step; "cosine"
// decays to lr*lr_final_factor at `total_steps` (the schedule's length: max_steps minus the
// schedule start; the two-argument form uses max_steps).
double LearningRate(const TrainConfig& config, int64_t step, int64_t total_steps);
double LearningRate(const TrainConfig& config, int64_t step);

struct TrainOptions {
  std::filesystem::path train_json, val_json;
  // Image folders of the two sets (COCO: train2017/, val2017/). Empty: next to the JSON, or its
  // "images" sub-folder (CocoDetectionDataset::Load).
  std::filesystem::path train_image_dir, val_image_dir;
  std::filesystem::path out_dir;
  // Checkpoint to continue from (empty: from scratch, or config.init_from). A torch.save
  // weights file here (not one of our checkpoints: a `start_from: file:PATH` sweep) is taken as
  // config.init_from instead.
  std::filesystem::path resume;
  bool reset_optimizer = false;  // fork: fresh optimiser state
  bool reset_schedule = false;   // fork: warmup / lr steps restart at the resume step
  bool evaluate = true;          // evaluate on val_json at the end
  int log_every = 50;
  double max_seconds = 0;  // stop (as finished) after this wall time; 0 = no limit
  std::function<void(const std::string&)> log;  // progress lines; may be empty
  // Evaluate on val_json every this many steps (a checkpoint is written at those steps so the
  // evaluation is tied to one); 0 = only at the end.
  int eval_every = 0;
  // Gallery images per evaluation, written to out_dir/gallery/<checkpoint name>/; 0 = none.
  int gallery_images = 8;
  // Delete all but config.keep_checkpoints checkpoints. Off under a worker: the coordinator has
  // registered every checkpoint and owns retention.
  bool prune_checkpoints = true;
  // Structured progress for the worker protocol (docs/worker-protocol.md); each may be empty.
  // on_event gets started, metrics, checkpoint and diverged events (protocol/trial_events.h).
  std::function<void(const protocol::TrialEvent&)> on_event;
  std::function<void(const std::string& checkpoint, const EvalResult&)> on_evaluation;
};

struct TrainResult {
  std::string status;           // "finished" or "diverged"
  int64_t step = 0, epoch = 0;  // where training stopped
  double last_loss = 0;
  std::string checkpoint;  // name of the last finite checkpoint written
  std::filesystem::path checkpoint_path;
  double images_per_s = 0;          // training throughput
  double loader_wait_fraction = 0;  // share of the step time spent waiting for the data loader
  std::vector<std::string> restored, reset;  // for resumes/forks
  // What config.init_from loaded (absent without one, and on a resume, where the weights come
  // from the checkpoint).
  std::optional<InitReport> init;
  std::optional<EvalResult> eval;
  nlohmann::json ToJson() const;
};

// Trains per `config` (already validated). Errors for unreadable data, bad checkpoints, or
// LibTorch failures; divergence is a result (status "diverged"), not an error.
StatusOr<TrainResult> Train(const TrainConfig& config, const TrainOptions& options);

}  // namespace ablate::detector
