// Boxes in COCO's pixel convention. Thread-safe: plain values.
#pragma once

#include <cmath>

namespace ablate::coco {

// A box as COCO writes it: top-left corner (x, y), width w, height h, in pixels (doubles).
struct BoxXywh {
  double x = 0;
  double y = 0;
  double w = 0;
  double h = 0;
};

// pycocotools' bbIou for one pair, bit for bit: intersection over union, or, when `gt_crowd`,
// intersection over the detection's area. 0 when the boxes do not overlap with positive width and
// height. Needs -ffp-contract=off (set on ablate_coco) to match the reference's rounding.
inline double BoxIou(const BoxXywh& dt, const BoxXywh& gt, bool gt_crowd) {
  const double iw = std::fmin(dt.w + dt.x, gt.w + gt.x) - std::fmax(dt.x, gt.x);
  if (iw <= 0) return 0.0;
  const double ih = std::fmin(dt.h + dt.y, gt.h + gt.y) - std::fmax(dt.y, gt.y);
  if (ih <= 0) return 0.0;
  const double inter = iw * ih;
  const double dt_area = dt.w * dt.h;
  const double uni = gt_crowd ? dt_area : dt_area + gt.w * gt.h - inter;
  return inter / uni;
}

}  // namespace ablate::coco
