// Polygon and box rasterisation into RLE, bit-compatible with pycocotools' rleFrPoly (boundary
// traced on a 5x upsampled grid, then downsampled) and rleFrBbox. Pure and thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "coco/box.h"
#include "coco/rle.h"
#include "common/status.h"

namespace ablate::coco {

// Limits that keep rasterisation bounded for hostile input (the reference would overflow int or
// allocate gigabytes): coordinates within +-1e6 px, and at most 2^25 boundary points on the 5x
// upsampled grid (256 MiB of work buffers). ValidatePolygons reports a polygon past them as
// InvalidArgument; RleFromPolygon / RleFromBox, which cannot fail, return an empty mask for it.
inline constexpr double kMaxPolygonCoordinate = 1e6;
inline constexpr int64_t kMaxPolygonBoundaryPoints = int64_t{1} << 25;

// One polygon part: x0, y0, x1, y1, ... in pixel coordinates (an odd trailing value is ignored,
// as the reference does).
Rle RleFromPolygon(std::span<const double> xy, uint32_t h, uint32_t w);

// The mask pycocotools makes for a box (rleFrBbox): the polygon of its four corners.
Rle RleFromBox(const BoxXywh& box, uint32_t h, uint32_t w);

// What pycocotools' annToRLE does with a list-of-polygons segmentation: frPyObjects then merge
// (union of the parts). As the reference, when the first part has exactly 4 numbers every part is
// read as a box [x, y, w, h]. Fails (InvalidArgument) on an empty list, a first part with fewer
// than 4 numbers, or a mix of 4-number and longer parts.
// The checks RleFromPolygons makes, without rasterising.
Status ValidatePolygons(const std::vector<std::vector<double>>& polygons);

StatusOr<Rle> RleFromPolygons(const std::vector<std::vector<double>>& polygons, uint32_t h,
                              uint32_t w);

}  // namespace ablate::coco
