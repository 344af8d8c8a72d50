#include "detector/tools/event_stream.h"

#include <iostream>

#include "common/coco_stats.h"

namespace ablate::detector {

void EmitEvent(const nlohmann::json& event) { std::cout << event.dump() << "\n" << std::flush; }

std::vector<nlohmann::json> EvaluationEvents(const std::string& checkpoint,
                                             const EvalResult& result,
                                             const EvalSettingsForEvents& settings) {
  std::vector<nlohmann::json> events;
  for (const bool segm : {false, true}) {
    const CocoStats& stats = segm ? result.segm : result.bbox;
    nlohmann::json named = nlohmann::json::object();
    for (int i = 0; i < kNumCocoStats; ++i) named[std::string(kCocoStatNames[i])] = stats[i];
    nlohmann::json categories = nlohmann::json::array();
    for (const auto& c : segm ? result.segm_categories : result.bbox_categories) {
      categories.push_back({{"id", c.id}, {"name", c.name}, {"ap", c.ap}});
    }
    nlohmann::json event = {{"event", "evaluation"},
                            {"checkpoint", checkpoint},
                            {"iou_type", segm ? "segm" : "bbox"},
                            {"stats", named},
                            {"per_category", categories},
                            {"dataset_fingerprint", settings.dataset_fingerprint},
                            {"settings",
                             {{"score_threshold", settings.score_threshold},
                              {"top_k", settings.top_k},
                              {"nms_iou", settings.nms_iou},
                              {"max_dets", settings.max_dets}}},
                            {"detections", result.num_detections},
                            {"images", result.num_images},
                            {"detections_per_image_max", result.detections_per_image_max},
                            {"results_bytes", result.results_bytes}};
    if (result.gallery) event["gallery"] = GalleryToJson(*result.gallery);
    events.push_back(std::move(event));
  }
  return events;
}

void EmitEvaluation(const std::string& checkpoint, const EvalResult& result,
                    const EvalSettingsForEvents& settings) {
  for (const nlohmann::json& e : EvaluationEvents(checkpoint, result, settings)) EmitEvent(e);
}

}  // namespace ablate::detector
