// Fixtures shared by the CLI's unit tests (cli_test); not part of any library.
#pragma once

#include <cstdint>
#include <string>

#include "ablate/v1/coordinator.pb.h"

namespace ablate::cli::testing {

// A bbox evaluation of step0000600 over 40 images with `detections` detections (at most
// `max_per_image` on one image), 400 bytes of results per detection, and a gallery of two
// images (12 and 139) in /work/evals/3/gallery.
inline v1::Evaluation EvaluationWithOutputs(int64_t id, double score_threshold, int64_t detections,
                                            int64_t max_per_image) {
  v1::Evaluation e;
  e.set_id(id);
  e.set_checkpoint_name("step0000600-ep010-loss2.000");
  e.mutable_settings()->set_iou_type(v1::IOU_TYPE_BBOX);
  e.mutable_settings()->set_score_threshold(score_threshold);
  auto* o = e.mutable_outputs();
  o->set_detections(detections);
  o->set_images(40);
  o->set_detections_per_image_mean(static_cast<double>(detections) / 40);
  o->set_detections_per_image_max(max_per_image);
  o->set_results_bytes(detections * 400);
  auto* g = e.mutable_gallery();
  g->set_dir_uri("file:///work/evals/3/gallery");
  for (int64_t id : {12, 139}) {
    auto* image = g->add_images();
    image->set_image_id(id);
    image->set_uri("file:///work/evals/3/gallery/" + std::to_string(id) + ".jpg");
    image->set_bytes(20000);
    image->set_detections(3);
  }
  return e;
}

}  // namespace ablate::cli::testing
