// Deterministic synthetic COCO cases for the evaluation benchmark (fixed seed: the same files
// every time on every machine).
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace ablate::coco::bench {

struct SyntheticCaseOptions {
  int num_images = 5000;
  int num_categories = 80;    // COCO's 80 ids (1..90 with gaps)
  double gt_per_image = 7.0;  // mean
  int dets_per_image = 100;
  bool segm = false;  // GT polygons + detections with compressed RLE masks
  uint64_t seed = 20240601;
};

// Writes `gt_path` (instances JSON) and `dets_path` (results list JSON).
Status WriteSyntheticCase(const SyntheticCaseOptions& options, const std::string& gt_path,
                          const std::string& dets_path);

}  // namespace ablate::coco::bench
