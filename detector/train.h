// Training loop, checkpoints and evaluation of the detector.
//
// Checkpoints: one file NAME.pt per checkpoint, NAME = step%07d-ep%03d-loss%.3f (the user's
// convention), written to a temp file and renamed. It is a torch::serialize archive holding the
// model parameters and buffers ("model/<state-dict name>"), the optimiser state ("optimizer"), and
// "meta": a uint8 tensor with JSON {step, epoch, loss, schedule_offset, config, class_names,
// format}.
#pragma once

#include <torch/types.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/coco_stats.h"
#include "common/status.h"
#include "detector/config/train_config.h"
#include "detector/data.h"
#include "detector/init_weights.h"
#include "detector/model.h"
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
// state stays in the file (LoadOptimizerState).
struct LoadedCheckpoint {
  CheckpointMeta meta;
  Yolact model{nullptr};
};
StatusOr<LoadedCheckpoint> LoadCheckpoint(const std::filesystem::path& path, torch::Device device);

// A few annotated validation images written by every evaluation, so that runs can be compared
// by eye: the same image ids every time (SelectGalleryImageIds over the sorted ids of the set).
struct GalleryOptions {
  std::filesystem::path dir;  // empty: no gallery; else DIR/<image_id %06d>.jpg
  int count = 8;              // images; 0: no gallery
  uint64_t seed = 0;
  // Detections drawn: score >= max(min_score, the evaluation's score_threshold). COCO evaluation
  // runs at a low threshold (0.05) where a drawing of everything would be unreadable.
  double min_score = 0.3;
};

struct EvalOptions {
  int batch_size = 8;
  int num_workers = 2;
  std::filesystem::path results_json;  // when set, COCO results (bbox + segm RLE) are written
  GalleryOptions gallery;
};

struct EvalResult {
  struct CategoryAp {
    int64_t id = 0;
    std::string name;
    double ap = -1;  // -1: no ground truth of this category (pycocotools' convention)
  };
  CocoStats bbox{}, segm{};
  std::vector<CategoryAp> bbox_categories, segm_categories;  // AP @[.5:.95], all, maxDets 100
  std::string bbox_summary, segm_summary;                    // pycocotools summarize() text
  int64_t num_images = 0, num_detections = 0;
  int64_t detections_per_image_max = 0;
  int64_t results_bytes = 0;  // size of EvalOptions::results_json as written; 0 when none
  struct GalleryImage {
    int64_t image_id = 0;
    std::string file;  // name inside Gallery::dir
    int64_t bytes = 0;
    int64_t detections = 0;  // drawn (score >= the gallery's threshold)
  };
  struct Gallery {
    std::filesystem::path dir;  // absolute
    uint64_t seed = 0;
    std::vector<GalleryImage> images;  // sorted by image id
  };
  std::optional<Gallery> gallery;  // when a gallery was asked for and written
  // Why the gallery asked for could not be written (the evaluation itself is still valid);
  // empty otherwise.
  std::string gallery_error;
  double images_per_s = 0;
  // {"bbox": {"stats": {...}}, "segm": {...}, "num_images", "num_detections",
  //  "detections_per_image_max", "results_bytes", "eval_images_per_s", ["gallery"]}
  nlohmann::json ToJson() const;
};

// {"dir", "images": [{"image_id", "file", "bytes", "detections"}], "seed"} (the event contract).
nlohmann::json GalleryToJson(const EvalResult::Gallery& gallery);

// Runs inference over `dataset` (no augmentation) and evaluates bbox and segm with ablate_coco.
// Writes options.results_json and the gallery when asked; a gallery that cannot be written is
// reported in gallery_error, not as an error.
StatusOr<EvalResult> Evaluate(YolactImpl& model, const TrainConfig& config,
                              std::shared_ptr<const CocoDetectionDataset> dataset,
                              const EvalOptions& options, torch::Device device);

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
