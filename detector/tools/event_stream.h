// The `--events` output of ablate-train: one JSON object per line on stdout, the contract the
// worker daemon reads (docs/worker-protocol.md). Events are built as protocol/trial_events.h
// types and written with protocol::EmitTrialEvent, the same definition the worker parses with.
// Everything human-readable goes to stderr in this mode.
#pragma once

#include <string>
#include <vector>

#include "detector/evaluate.h"
#include "protocol/trial_events.h"

namespace ablate::detector {

struct EvalSettingsForEvents {
  std::string dataset_fingerprint;  // "sha256:<hex>" of the annotation file
  double score_threshold = 0.05;
  int top_k = 100;  // detections kept per image
  double nms_iou = 0.5;
  int max_dets = 100;  // COCO maxDets of the summary
};

// The two "evaluation" events (bbox, segm) of one evaluation. Both carry the same
// `detections`, `images`, `detections_per_image_max`, `results_bytes` and, when a gallery was
// written, `gallery`.
std::vector<protocol::EvaluationEvent> EvaluationEvents(const std::string& checkpoint,
                                                        const EvalResult& result,
                                                        const EvalSettingsForEvents& settings);

// Writes EvaluationEvents(...).
void EmitEvaluation(const std::string& checkpoint, const EvalResult& result,
                    const EvalSettingsForEvents& settings);

}  // namespace ablate::detector
