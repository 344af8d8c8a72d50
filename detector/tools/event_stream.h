// The `--events` output of ablate-train: one JSON object per line on stdout, the contract the
// worker daemon reads (docs/worker-protocol.md, parsed by worker/trial_events.h). Everything
// human-readable goes to stderr in this mode.
#pragma once

#include <string>
#include <vector>

#include "detector/train.h"
#include "nlohmann/json.hpp"

namespace ablate::detector {

struct EvalSettingsForEvents {
  std::string dataset_fingerprint;  // "sha256:<hex>" of the annotation file
  double score_threshold = 0.05;
  int top_k = 100;  // detections kept per image
  double nms_iou = 0.5;
  int max_dets = 100;  // COCO maxDets of the summary
};

// Writes `event` as one line and flushes (the worker reads it as it comes).
void EmitEvent(const nlohmann::json& event);

// The two "evaluation" events (bbox, segm) of one evaluation. Both carry the same
// `detections`, `images`, `detections_per_image_max`, `results_bytes` and, when a gallery was
// written, `gallery` {"dir", "images": [{"image_id", "file", "bytes", "detections"}], "seed"}.
std::vector<nlohmann::json> EvaluationEvents(const std::string& checkpoint,
                                             const EvalResult& result,
                                             const EvalSettingsForEvents& settings);

// Writes EvaluationEvents(...).
void EmitEvaluation(const std::string& checkpoint, const EvalResult& result,
                    const EvalSettingsForEvents& settings);

}  // namespace ablate::detector
