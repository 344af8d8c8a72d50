// Run-length encoded binary masks, COCO's format, written from the format's definition and
// bit-compatible with pycocotools' maskApi.c.
//
// A mask of h rows and w columns is read in column-major order (down the first column, then the
// next); `counts` alternates runs of 0s and 1s and starts with a (possibly empty) run of 0s.
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "coco/box.h"
#include "common/status.h"

namespace ablate::coco {

struct Rle {
  uint32_t h = 0;  // rows
  uint32_t w = 0;  // columns
  std::vector<uint32_t> counts;
};

// Encodes a column-major mask of h*w bytes (nonzero = foreground), as pycocotools' encode() of a
// Fortran-ordered uint8 array.
Rle EncodeMask(const uint8_t* mask_col_major, uint32_t h, uint32_t w);
// Decodes into h*w column-major bytes (0/1). Runs past h*w are clipped.
std::vector<uint8_t> DecodeMask(const Rle& rle);

// COCO's compressed string form ("counts" of a compressed RLE: 6 bits per char, chars 48..111,
// delta-coded from the run two places back), exactly as rleToString / rleFrString.
std::string RleToString(const Rle& rle);
// Fails (InvalidArgument) on a character outside 48..111 or a string that ends mid-number.
StatusOr<Rle> RleFromString(std::string_view counts, uint32_t h, uint32_t w);

// Checks that the runs add up to h*w (InvalidArgument naming both numbers otherwise).
Status ValidateRle(const Rle& rle);

// Foreground pixel count (rleArea; 32-bit unsigned like the reference).
uint32_t RleArea(const Rle& rle);
// Tight box of the foreground in pixel units (rleToBbox, quirks included); all zeros if empty.
BoxXywh RleToBbox(const Rle& rle);

// Union (intersect = false) or intersection of masks of one size (rleMerge). Masks of different
// sizes give an empty 0x0 mask, as the reference. No masks: a 0x0 mask.
// RLEs whose runs add up to different totals (invalid) stop merging where the shorter ends
// (pycocotools' rleMerge loops forever on them; found by fuzz_coco_masks).
Rle MergeRles(std::span<const Rle> rles, bool intersect = false);

// Mask IoU as pycocotools' rleIou for one (detection, ground truth) pair: the IoU of their
// boxes (from RleToBbox) when that is not positive; -1 when sizes differ; otherwise
// intersection / union, or intersection / detection area when `gt_crowd`. Masks must be valid
// (ValidateRle). The overload with boxes and areas (RleToBbox, RleArea) avoids recomputing them.
double RleIou(const Rle& dt, const BoxXywh& dt_box, uint32_t dt_area, const Rle& gt,
              const BoxXywh& gt_box, uint32_t gt_area, bool gt_crowd);
double RleIou(const Rle& dt, const Rle& gt, bool gt_crowd);

// Foreground pixels two masks of one size share, counting only pixels with column-major index
// in [lo, hi) (pass 0 and h*w for all).
uint32_t RleIntersectionArea(const Rle& a, const Rle& b, uint64_t lo, uint64_t hi);

}  // namespace ablate::coco
