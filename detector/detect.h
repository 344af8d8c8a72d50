// Inference: box decoding, Detect (score threshold + per-class or cross-class Fast NMS, or standard
// NMS) and postprocess (mask assembly, crop, upsampling, binarisation, pixel boxes), following the
// reference YOLACT layers/functions/detection.py and layers/output_utils.py.
//
// Box formats: "center" = (cx, cy, w, h), "point" = (x1, y1, x2, y2); relative to the image unless
// a name says pixels.
#pragma once

#include <torch/types.h>

#include <vector>

#include "detector/model.h"

namespace ablate::detector {

// Reference box utilities (layers/box_utils.py).
torch::Tensor PointForm(const torch::Tensor& center_boxes);  // [N,4] center -> point
torch::Tensor CenterSize(const torch::Tensor& point_boxes);  // [N,4] point -> center
// IoU of every box_a with every box_b ([A,4] x [B,4] -> [A,B], or batched [n,A,4] x [n,B,4]).
// With `iscrowd` the result is intersection / area(box_a).
torch::Tensor Jaccard(const torch::Tensor& box_a, const torch::Tensor& box_b, bool iscrowd = false);
// loc [P,4] + priors [P,4] (center) -> point boxes [P,4], variances (0.1, 0.2).
torch::Tensor Decode(const torch::Tensor& loc, const torch::Tensor& priors);
// matched point boxes [P,4] + priors [P,4] -> regression targets [P,4].
torch::Tensor Encode(const torch::Tensor& matched, const torch::Tensor& priors);

struct DetectOptions {
  double conf_thresh = 0.05;     // candidates: best foreground score above this
  double nms_thresh = 0.5;       // IoU above which a lower-scored box is suppressed
  int top_k = 200;               // per class (cross-class: overall) before NMS
  int max_num_detections = 100;  // per image after per-class NMS
  bool fast_nms = true;          // false: standard greedy NMS per class
  bool cross_class_nms = false;  // fast NMS over all classes at once (no max_num_detections cap)
};

// Detections of one image. Empty (N = 0, tensors defined) when nothing passes conf_thresh.
struct Detections {
  torch::Tensor box;         // [N,4] point form, relative, unclamped
  torch::Tensor class_idx;   // [N] int64, 0-based foreground class (= class id - 1)
  torch::Tensor score;       // [N] descending
  torch::Tensor mask_coeff;  // [N,k]
};

// loc [B,P,4], scores [B,P,C] (softmax or sigmoid; column 0 = background, ignored),
// mask_coeff [B,P,k], priors [P,4].
std::vector<Detections> Detect(const torch::Tensor& loc, const torch::Tensor& scores,
                               const torch::Tensor& mask_coeff, const torch::Tensor& priors,
                               const DetectOptions& options);

struct PostprocessOptions {
  int width = 0, height = 0;     // output size in pixels
  double score_threshold = 0.0;  // drop detections with score <= this (0 keeps all)
  bool crop_masks = true;
};

struct ImageDetections {
  torch::Tensor classes;          // [N] int64, 0-based foreground class
  torch::Tensor scores;           // [N]
  torch::Tensor boxes;            // [N,4] int64 pixels (x1, y1, x2, y2), clamped to the image
  torch::Tensor masks_lowres;     // [N,h,w] sigmoid(proto @ coeff), cropped, before upsampling
  torch::Tensor masks;            // [N,height,width] uint8 0/1
  torch::Tensor maskiou;          // [N] (only with a mask-IoU net)
  torch::Tensor scores_rescored;  // [N] scores * maskiou (only with a mask-IoU net)
};

// Zeroes mask pixels outside the boxes (reference crop with padding 1): masks [h,w,N], boxes [N,4]
// relative point form.
torch::Tensor CropMasks(const torch::Tensor& masks, const torch::Tensor& boxes, int padding = 1);

// proto [h,w,k] of the image. `maskiou_net` may be null.
ImageDetections Postprocess(const Detections& detections, const torch::Tensor& proto,
                            const PostprocessOptions& options, MaskIouNetImpl* maskiou_net);

}  // namespace ablate::detector
