// Our checkpoint files: writing, reading and pruning them.
//
// Format: one file NAME.pt per checkpoint, NAME = step%07d-ep%03d-loss%.3f (the user's
// convention), written to a temp file and renamed. It is a torch::serialize archive holding the
// model parameters and buffers ("model/<state-dict name>"), the optimiser state ("optimizer"), and
// "meta": a uint8 tensor with JSON {step, epoch, loss, schedule_offset, config, class_names,
// format}.
//
// Thread safety: the functions share no state; two calls on the same path race like any two
// writers of one file.
#pragma once

#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"
#include "detector/config/train_config.h"
#include "detector/model.h"

namespace ablate::detector {

struct CheckpointMeta {
  int64_t step = 0;
  int64_t epoch = 0;
  double loss = 0;
  int64_t schedule_offset = 0;  // step at which the lr schedule (warmup) last started
  TrainConfig config;
  // Category name per 0-based foreground label (the training set's categories by sorted id).
  // Empty for checkpoints written before names were stored.
  std::vector<std::string> class_names;
};

std::string CheckpointName(int64_t step, int64_t epoch, double loss);

// Reads a checkpoint's meta and weights into a newly built model (on `device`). The optimiser
// state stays in the file (LoadOptimizerState). NotFound when `path` does not exist, DataLoss
// when it cannot be read or misses a tensor of the network its meta describes.
struct LoadedCheckpoint {
  CheckpointMeta meta;
  Yolact model{nullptr};
};
StatusOr<LoadedCheckpoint> LoadCheckpoint(const std::filesystem::path& path, torch::Device device);

// Loads the optimiser state of checkpoint `path` into `optimizer` (tensors onto `device`).
// DataLoss when the file holds none, or one of another optimiser type or parameter list.
Status LoadOptimizerState(const std::filesystem::path& path, torch::Device device,
                          torch::optim::Optimizer& optimizer);

// Writes `model`, `optimizer` and `meta` to `path` atomically (temp file, then rename).
// ResourceExhausted on a full disk or quota, FailedPrecondition when the temp file cannot be
// created, Internal otherwise; the temp file is removed after a failed write.
Status SaveCheckpoint(const std::filesystem::path& path, YolactImpl& model,
                      torch::optim::Optimizer& optimizer, const CheckpointMeta& meta);

// Keeps the newest `keep` checkpoints (step*.pt, by name = by step) in `dir`, never `protect`.
void PruneCheckpoints(const std::filesystem::path& dir, int keep,
                      const std::filesystem::path& protect);

}  // namespace ablate::detector
