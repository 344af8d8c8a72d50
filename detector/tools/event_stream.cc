#include "detector/tools/event_stream.h"

namespace ablate::detector {

std::vector<protocol::EvaluationEvent> EvaluationEvents(const std::string& checkpoint,
                                                        const EvalResult& result,
                                                        const EvalSettingsForEvents& settings) {
  std::vector<protocol::EvaluationEvent> events;
  for (const bool segm : {false, true}) {
    protocol::EvaluationEvent event;
    event.checkpoint = checkpoint;
    event.iou_type = segm ? "segm" : "bbox";
    event.stats = segm ? result.segm : result.bbox;
    for (const auto& c : segm ? result.segm_categories : result.bbox_categories) {
      event.per_category.push_back({c.id, c.name, c.ap});
    }
    event.dataset_fingerprint = settings.dataset_fingerprint;
    event.score_threshold = settings.score_threshold;
    event.top_k = settings.top_k;
    event.nms_iou = settings.nms_iou;
    event.max_dets = settings.max_dets;
    event.detections = result.num_detections;
    event.images = result.num_images;
    event.detections_per_image_max = result.detections_per_image_max;
    event.results_bytes = result.results_bytes;
    if (result.gallery) {
      protocol::GalleryEvent gallery;
      gallery.dir = result.gallery->dir.string();
      gallery.seed = static_cast<int64_t>(result.gallery->seed);
      for (const EvalResult::GalleryImage& g : result.gallery->images) {
        gallery.images.push_back({g.image_id, g.file, g.bytes, g.detections});
      }
      event.gallery = std::move(gallery);
    }
    events.push_back(std::move(event));
  }
  return events;
}

void EmitEvaluation(const std::string& checkpoint, const EvalResult& result,
                    const EvalSettingsForEvents& settings) {
  for (const protocol::EvaluationEvent& e : EvaluationEvents(checkpoint, result, settings)) {
    protocol::EmitTrialEvent(e);
  }
}

}  // namespace ablate::detector
