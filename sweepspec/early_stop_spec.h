// A sweep's early-stopping rule (`early_stop:` in a sweep spec; docs/sweeps.md "Early stopping").
//
//   early_stop: {method: asha, metric: segm.AP, mode: max, grace_steps: 200, reduction_factor: 3}
//   early_stop: {method: median, metric: bbox.AP50, mode: max, grace_steps: 200}
//
// ParseSweepSpec reads and validates it; the coordinator stores it in the sweep's spec JSON
// (EarlyStopToJson) and reads it back when an evaluation of one of the sweep's trials arrives
// (EarlyStopFromJson). The decisions themselves are server/early_stopping.h.
//
// Thread safety: plain value types and pure functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/status.h"

namespace ablate::sweepspec {

enum class EarlyStopMethod { kAsha, kMedian };

struct EarlyStopSpec {
  EarlyStopMethod method = EarlyStopMethod::kAsha;
  std::string iou_type = "bbox";  // "bbox" or "segm": which evaluation the metric is read from
  int stat_index = 0;             // index into common/coco_stats.h kCocoStatNames ("AP" = 0)
  bool maximize = true;           // mode: max (true) or min
  int64_t grace_steps = 0;        // > 0: no trial is stopped at an evaluation before this step
  // ASHA only (>= 2): rungs at grace_steps * reduction_factor^k; a trial continues past a rung
  // when it is in the top 1/reduction_factor of the results seen there so far.
  int reduction_factor = 3;
  // Median only (>= 1): a trial is compared at a step only when at least this many other trials
  // have a result at that step.
  int min_trials = 3;

  // "segm.AP"
  std::string MetricName() const;
};

// "asha" / "median".
std::string_view EarlyStopMethodName(EarlyStopMethod method);

// Parses "bbox.AP", "segm.AR100", ...: an iou type, a dot and one of the 12 COCO stat names
// (case-sensitive). InvalidArgument naming what is wrong otherwise.
Status ParseEarlyStopMetric(const std::string& text, std::string* iou_type, int* stat_index);

// The canonical JSON stored with the sweep: {"method", "metric", "mode", "grace_steps",
// "reduction_factor" (asha) | "min_trials" (median)}.
nlohmann::json EarlyStopToJson(const EarlyStopSpec& spec);
// Reads EarlyStopToJson's output back; InvalidArgument for anything else.
StatusOr<EarlyStopSpec> EarlyStopFromJson(const nlohmann::json& j);

}  // namespace ablate::sweepspec
