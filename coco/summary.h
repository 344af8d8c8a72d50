// The text COCOeval.summarize() prints, formatted exactly like pycocotools'
// ' {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {:0.3f}'. Pure, thread-safe.
#pragma once

#include <optional>
#include <string>

#include "common/coco_stats.h"

namespace ablate::coco {

// One summary line without the trailing newline. `iou_thr` empty = the "lo:hi" range form.
std::string FormatSummaryLine(bool average_precision, std::optional<double> iou_thr, double iou_lo,
                              double iou_hi, const std::string& area_label, int max_dets,
                              double value);

}  // namespace ablate::coco
