// Training / evaluation knobs of the detector: every sweep dimension a user can tune is a field
// here and a `--set KEY=VALUE` key (ParseOverride). Torch-free: the coordinator's sweep validator
// links this library without LibTorch.
//
// Thread safety: plain value types; no shared state.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "detector/config/model_config.h"
#include "nlohmann/json_fwd.hpp"

namespace ablate::detector {

enum class ConfLoss { kCe, kOhem, kFocalSigmoid, kFocalSoftmax, kGhmC };
enum class BoxLoss { kSmoothL1, kCiou };
enum class OptimizerType { kSgd, kAdamW };
enum class LrSchedule { kStep, kCosine };
enum class NmsType { kFast, kStandard };

// Names as accepted by --set ("ce", "ohem", "focal_sigmoid" (alias "focal"), "focal_softmax",
// "ghm_c"; "smooth_l1", "ciou"; "sgd", "adamw"; "fast", "standard").
std::string ConfLossName(ConfLoss loss);
std::string BoxLossName(BoxLoss loss);
std::string OptimizerName(OptimizerType optimizer);
std::string NmsName(NmsType nms);
std::string LrScheduleName(LrSchedule schedule);

// Whether the class scores at inference are per-class sigmoids (focal_sigmoid, ghm_c) rather than
// a softmax over classes (ce, ohem, focal_softmax).
bool UsesSigmoidScores(ConfLoss loss);

struct TrainConfig {
  std::string preset = "tiny";
  ModelConfig model;  // from the preset; num_classes is set from the training set

  // Matcher (IoU of ground-truth boxes vs anchors).
  double pos_threshold = 0.5;    // IoU >= this: positive. > 1: only each GT's best anchor
  double neg_threshold = 0.4;    // IoU < this: background; in between: ignored
  double crowd_threshold = 0.7;  // anchor area fraction inside a crowd box above which a
                                 // non-positive anchor is ignored; >= 1 disables

  // Losses. A weight of 0 disables the term without computing it.
  BoxLoss box_loss = BoxLoss::kSmoothL1;
  ConfLoss conf_loss = ConfLoss::kOhem;
  double box_weight = 1.5;
  double conf_weight = 1.0;
  double mask_weight = 6.125;
  double semantic_weight = 1.0;
  double maskiou_weight = 25.0;  // only with model.maskiou
  double ohem_neg_pos_ratio = 3.0;
  double focal_alpha = 0.25;
  double focal_gamma = 2.0;
  double focal_init_pi = 0.01;  // prior probability for the conf-layer bias init (focal, ghm_c)
  int ghm_bins = 30;
  double ghm_momentum = 0.75;
  int masks_to_train = 100;  // per image; a random subset of positives beyond that

  // Optimisation.
  OptimizerType optimizer = OptimizerType::kSgd;
  double lr = 1e-3;
  double momentum = 0.9;
  double weight_decay = 5e-4;
  int batch_size = 8;
  int max_steps = 800000;  // training stops after this many optimiser steps
  int warmup_steps = 500;  // lr ramps linearly from lr * warmup_factor to lr
  double warmup_factor = 0.1;
  // After warmup: "step" multiplies lr by lr_gamma at every lr_steps entry (the reference
  // schedule); "cosine" decays lr to lr * lr_final_factor at max_steps (half a cosine period), so
  // a run cut short by a time budget still ends at a low lr.
  LrSchedule lr_schedule = LrSchedule::kStep;
  std::vector<int> lr_steps = {280000, 600000, 700000, 750000};  // step -> lr *= lr_gamma
  double lr_gamma = 0.1;
  double lr_final_factor = 0.01;  // cosine only
  double grad_clip = 0.0;         // max global L2 norm of the gradient; 0 = off
  int seed = 1;

  // Data.
  int num_workers = 2;                // loader threads
  int prefetch_batches = 4;           // batches queued ahead of the training step
  std::string augment = "reference";  // "reference" (photometric, expand, crop, mirror), "flip8"
                                      // (reference + all 8 flips/rotations), "none"

  // Checkpoints.
  int checkpoint_every = 0;  // steps between checkpoints; 0 = only at the end
  int keep_checkpoints = 3;  // newest kept in the output directory

  // Pretrained start (docs/detector.md, "Starting from pretrained weights"): a torchvision
  // ResNet state dict, a reference YOLACT checkpoint or one of ours, loaded over the fresh
  // initialisation. Empty: from scratch. `init_sha256` (64 lowercase hex digits) is the file's
  // sha256: the coordinator records it on submit when it can read the file, the trainer checks
  // it (a different file is an error) and fills it in otherwise, so that configs started from
  // different weights never compare as equal.
  std::string init_from;
  std::string init_sha256;
  // Inference.
  double score_threshold = 0.05;  // Detect conf_thresh
  double nms_iou = 0.5;
  int nms_top_k = 200;       // per class, before NMS
  int max_detections = 100;  // per image, after NMS
  NmsType nms = NmsType::kFast;
  bool cross_class_nms = false;

  // Applies one `--set KEY=VALUE`. InvalidArgument naming the key for an unknown key, a value that
  // does not parse, an unknown loss/optimizer name or an out-of-range value. Cross-field rules are
  // checked by Validate().
  Status ParseOverride(const std::string& key, const std::string& value);
  // "KEY=VALUE" form of the above.
  Status ParseAssignment(const std::string& assignment);

  // Cross-field checks: neg_threshold >= pos_threshold is an error (named), warmup > 0 needs
  // 0 < warmup_factor <= 1, model.Validate(), ...
  Status Validate() const;
};

// The keys ParseOverride accepts, sorted (for help texts and sweep validators).
std::vector<std::string> OverrideKeys();

// Preset: model preset plus the training recipe that goes with it ("tiny", "r50", "r50-dcn",
// "r101"). NotFound for an unknown name.
StatusOr<TrainConfig> TrainPreset(const std::string& name);

nlohmann::json TrainConfigToJson(const TrainConfig& config);
// Inverse of TrainConfigToJson (used by checkpoints). Keys missing from `json` keep the defaults.
StatusOr<TrainConfig> TrainConfigFromJson(const nlohmann::json& json);

}  // namespace ablate::detector
