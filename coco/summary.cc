#include "coco/summary.h"

#include <cstdio>

namespace ablate::coco {

std::string FormatSummaryLine(bool average_precision, std::optional<double> iou_thr, double iou_lo,
                              double iou_hi, const std::string& area_label, int max_dets,
                              double value) {
  char iou[64];
  if (iou_thr) {
    std::snprintf(iou, sizeof(iou), "%0.2f", *iou_thr);
  } else {
    std::snprintf(iou, sizeof(iou), "%0.2f:%0.2f", iou_lo, iou_hi);
  }
  char line[256];
  std::snprintf(line, sizeof(line), " %-18s %s @[ IoU=%-9s | area=%6s | maxDets=%3d ] = %0.3f",
                average_precision ? "Average Precision" : "Average Recall",
                average_precision ? "(AP)" : "(AR)", iou, area_label.c_str(), max_dets, value);
  return line;
}

}  // namespace ablate::coco
