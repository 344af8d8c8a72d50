#include "sweepspec/early_stop_spec.h"

#include "common/coco_stats.h"

namespace ablate::sweepspec {

std::string EarlyStopSpec::MetricName() const {
  return iou_type + "." + std::string(kCocoStatNames[static_cast<size_t>(stat_index)]);
}

std::string_view EarlyStopMethodName(EarlyStopMethod method) {
  return method == EarlyStopMethod::kAsha ? "asha" : "median";
}

Status ParseEarlyStopMetric(const std::string& text, std::string* iou_type, int* stat_index) {
  const size_t dot = text.find('.');
  const std::string iou = dot == std::string::npos ? "" : text.substr(0, dot);
  const std::string stat = dot == std::string::npos ? "" : text.substr(dot + 1);
  if (iou != "bbox" && iou != "segm") {
    return absl::InvalidArgumentError("'" + text +
                                      "' must start with bbox. or segm. (e.g. segm.AP)");
  }
  std::optional<int> index = CocoStatIndex(stat);
  if (!index) {
    std::string names;
    for (std::string_view n : kCocoStatNames) names += (names.empty() ? "" : ", ") + std::string(n);
    return absl::InvalidArgumentError("'" + stat +
                                      "' is not a COCO stat (expected one of: " + names + ")");
  }
  *iou_type = iou;
  *stat_index = *index;
  return absl::OkStatus();
}

nlohmann::json EarlyStopToJson(const EarlyStopSpec& spec) {
  nlohmann::json j = {{"method", std::string(EarlyStopMethodName(spec.method))},
                      {"metric", spec.MetricName()},
                      {"mode", spec.maximize ? "max" : "min"},
                      {"grace_steps", spec.grace_steps}};
  if (spec.method == EarlyStopMethod::kAsha) {
    j["reduction_factor"] = spec.reduction_factor;
  } else {
    j["min_trials"] = spec.min_trials;
  }
  return j;
}

StatusOr<EarlyStopSpec> EarlyStopFromJson(const nlohmann::json& j) {
  auto bad = [&](const std::string& what) {
    return absl::InvalidArgumentError("stored early_stop " + j.dump() + ": " + what);
  };
  if (!j.is_object()) return bad("not an object");
  EarlyStopSpec spec;
  const std::string method = j.value("method", "");
  if (method == "asha") {
    spec.method = EarlyStopMethod::kAsha;
  } else if (method == "median") {
    spec.method = EarlyStopMethod::kMedian;
  } else {
    return bad("unknown method");
  }
  Status metric = ParseEarlyStopMetric(j.value("metric", ""), &spec.iou_type, &spec.stat_index);
  if (!metric.ok()) return bad(std::string(metric.message()));
  const std::string mode = j.value("mode", "");
  if (mode != "max" && mode != "min") return bad("mode must be max or min");
  spec.maximize = mode == "max";
  spec.grace_steps = j.value("grace_steps", int64_t{0});
  if (spec.grace_steps <= 0) return bad("grace_steps must be > 0");
  spec.reduction_factor = j.value("reduction_factor", 3);
  spec.min_trials = j.value("min_trials", 3);
  if (spec.reduction_factor < 2) return bad("reduction_factor must be >= 2");
  if (spec.min_trials < 1) return bad("min_trials must be >= 1");
  return spec;
}

}  // namespace ablate::sweepspec
