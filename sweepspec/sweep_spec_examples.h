// Sweep specs shared by tests of the parser (sweepspec/) and of the scheduler (server/): test
// data, not part of any library.
#pragma once

namespace ablate::sweepspec::testing {

// The shape from the sweeps issue, verbatim: 4 threshold pairs x (ce | focal x 2 alphas) = 12
// trials, data paths relative to the spec's folder.
inline constexpr char kIssueExample[] = R"(name: pos-neg-thresholds
base: {preset: tiny, set: {conf_loss: ce, box_loss: smooth_l1, lr: 0.001, batch_size: 8}}
data: {train: data/shapes/train.json, val: data/shapes/val.json}
start_from: null            # or a checkpoint name: step1066300 / RUN/step1066300
budget: {steps: 600, checkpoint_every: 200, eval_every: 200}
eval: {score_threshold: 0.05, top_k: 100, nms_iou: 0.5}
max_parallel: 2
parameters:
  [pos_threshold, neg_threshold]: {values: [[0.5, 0.4], [0.5, 0.2], [0.6, 0.4], [1.1, 0.7]]}
  conf_loss: {values: [ce, focal]}
  focal_alpha: {values: [0.25, 0.75], when: {conf_loss: focal}}
constraints: ["neg_threshold < pos_threshold"]
)";

}  // namespace ablate::sweepspec::testing
