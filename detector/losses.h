// Training targets and losses: the anchor matcher and every loss term of the tuning diary
// (box: smooth_l1 / ciou; conf: ce / ohem / focal sigmoid / focal softmax / ghm_c; mask,
// semantic segmentation, mask IoU). Formulas follow the reference YOLACT multibox_loss.py unless a
// comment says otherwise; each term's weight multiplies it, and a weight of 0 skips computing it.
//
// Boxes: "point" form (x1, y1, x2, y2) relative to the image; priors in center form.
// Thread safety: YolactLoss keeps GHM-C running statistics; one instance per training loop.
#pragma once

#include <torch/types.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/status.h"
#include "detector/config/train_config.h"
#include "detector/model.h"

namespace ablate::detector {

struct MatchOptions {
  double pos_threshold = 0.5;    // IoU >= this: positive; > 1: only each GT's forced best anchor
  double neg_threshold = 0.4;    // IoU < this: background; in between: ignored (-1)
  double crowd_threshold = 0.7;  // non-positive anchors with area fraction inside a crowd box
                                 // above this are ignored; >= 1 disables
};

struct MatchResult {
  torch::Tensor conf_t;   // [P] int64: -1 ignored, 0 background, label+1 positive
  torch::Tensor loc_t;    // [P,4] encoded regression targets (meaningful where conf_t > 0)
  torch::Tensor idx_t;    // [P] int64 index of the matched ground truth
  torch::Tensor boxes_t;  // [P,4] matched ground-truth boxes, point form
};

// truths [G,4] point form, labels [G] int64 0-based foreground class, crowd_boxes [K,4] (K may be
// 0), priors [P,4] center form. Every GT is first force-matched to its best anchor (greedily,
// highest IoU pair first, as the reference); forced anchors are positive whatever the threshold.
// G = 0 gives all background (minus crowd-ignored anchors). InvalidArgument when
// neg_threshold > pos_threshold.
StatusOr<MatchResult> Match(const MatchOptions& options, const torch::Tensor& truths,
                            const torch::Tensor& labels, const torch::Tensor& crowd_boxes,
                            const torch::Tensor& priors);

// --- Individual terms (sums, not normalised; the caller divides). ---

// Smooth L1 (beta 1) summed over all elements: loc_p, loc_t [N,4].
torch::Tensor SmoothL1BoxLoss(const torch::Tensor& loc_p, const torch::Tensor& loc_t);
// Complete-IoU loss summed over boxes: 1 - IoU + rho^2/c^2 + alpha*v (Zheng et al. 2020), with
// alpha = v / (1 - IoU + v) treated as a constant. pred, target [N,4] point form.
torch::Tensor CiouBoxLoss(const torch::Tensor& pred, const torch::Tensor& target);

// conf [N,C] logits, conf_t [N] (-1 ignored). Cross-entropy over every non-ignored anchor.
torch::Tensor CeConfLoss(const torch::Tensor& conf, const torch::Tensor& conf_t);
// conf [B,P,C], conf_t [B,P]: positives plus the hardest negatives (background loss
// logsumexp - x_0), at most neg_pos_ratio * positives per image (reference ohem_conf_loss).
torch::Tensor OhemConfLoss(const torch::Tensor& conf, const torch::Tensor& conf_t,
                           double neg_pos_ratio);
// Sigmoid focal loss over the foreground classes (background column unused), non-ignored anchors.
torch::Tensor FocalSigmoidConfLoss(const torch::Tensor& conf, const torch::Tensor& conf_t,
                                   double alpha, double gamma);
// Softmax focal loss: -a_t (1-p_t)^gamma log p_t, a_t = alpha for foreground, 1-alpha background.
torch::Tensor FocalSoftmaxConfLoss(const torch::Tensor& conf, const torch::Tensor& conf_t,
                                   double alpha, double gamma);

// Gradient-harmonising classification loss (Li et al. 2019, GHM-C) on per-class sigmoids of the
// foreground classes. Keeps the running bin counts (momentum EMA). Returns the loss already
// normalised as in the paper (sum of BCE * N/GD(g) / N), i.e. not to be divided by positives.
class GhmcLoss {
 public:
  GhmcLoss(int bins, double momentum);
  torch::Tensor operator()(const torch::Tensor& conf, const torch::Tensor& conf_t);

 private:
  int bins_;
  double momentum_;
  std::vector<double> acc_sum_;
};

// Mask loss of one image: proto [h,w,k], coeff [n,k] of positive anchors, boxes [n,4] their
// matched GT boxes, gt_masks [n,h,w] (binary, proto resolution). BCE of sigmoid(proto @ coeff)
// cropped by the GT box, summed per mask and divided by the box area in proto pixels (reference
// mask_proto_normalize_emulate_roi_pooling), summed over masks.
torch::Tensor MaskLoss(const torch::Tensor& proto, const torch::Tensor& coeff,
                       const torch::Tensor& boxes, const torch::Tensor& gt_masks);
// Semantic segmentation of one image: segm [C-1,h,w] logits, gt_masks [G,H,W], labels [G]. BCE
// with logits against the per-class union of the masks downsampled to (h,w), summed / (h*w).
torch::Tensor SemanticSegLoss(const torch::Tensor& segm, const torch::Tensor& gt_masks,
                              const torch::Tensor& labels);

// Ground truth of one training image, all on the model's device.
struct ImageTargets {
  torch::Tensor boxes;        // [G,4] point form, relative (non-crowd objects)
  torch::Tensor labels;       // [G] int64 0-based foreground class
  torch::Tensor masks;        // [G,H,W] float 0/1 at the input resolution
  torch::Tensor crowd_boxes;  // [K,4] point form, relative (K may be 0)
};

struct LossTerms {
  torch::Tensor total;                         // weighted sum, what backward() is called on
  std::map<std::string, torch::Tensor> terms;  // "box", "conf", "mask", "semantic", "maskiou"
  int64_t num_positives = 0;
};

// The weighted, normalised training loss: box, conf, mask and maskiou terms are divided by the
// number of positive anchors in the batch (at least 1; GHM-C excepted, see above), the semantic
// term by the batch size.
class YolactLoss {
 public:
  explicit YolactLoss(const TrainConfig& config);
  // `output` from a train-mode forward with segm when semantic_weight > 0. `model` supplies the
  // mask-IoU net (maskiou term). Error when targets.size() != batch.
  StatusOr<LossTerms> operator()(const YolactOutput& output,
                                 const std::vector<ImageTargets>& targets, YolactImpl& model);

 private:
  TrainConfig config_;
  GhmcLoss ghm_;
  std::mt19937_64 rng_;  // picks the masks_to_train subset
};

}  // namespace ablate::detector
