#include "coco/polygon.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <string>

namespace ablate::coco {
namespace {

// (int) of a double as C does it on x86-64 (cvttsd2si): truncation toward zero; NaN and values
// out of range become INT_MIN. Keeps us free of undefined behaviour on degenerate polygons.
int TruncToInt(double v) {
  if (!(v > -2147483649.0 && v < 2147483648.0)) return INT_MIN;
  return static_cast<int>(v);
}

// True when every coordinate is finite and within kMaxPolygonCoordinate, and the boundary
// traced on the 5x grid has at most kMaxPolygonBoundaryPoints points (counted in doubles, so no
// overflow for any input).
bool PolygonWithinLimits(std::span<const double> xy) {
  const size_t k = xy.size() / 2;
  for (size_t j = 0; j < 2 * k; ++j) {
    if (!(std::abs(xy[j]) <= kMaxPolygonCoordinate)) return false;  // also NaN
  }
  double points = 0;
  for (size_t j = 0; j < k; ++j) {
    const size_t n = (j + 1) % k;
    points +=
        5 * std::max(std::abs(xy[2 * j] - xy[2 * n]), std::abs(xy[2 * j + 1] - xy[2 * n + 1])) + 2;
  }
  return points <= static_cast<double>(kMaxPolygonBoundaryPoints);
}

}  // namespace

Rle RleFromPolygon(std::span<const double> xy, uint32_t h, uint32_t w) {
  const size_t k = xy.size() / 2;
  const double scale = 5;
  if (k == 0 || !PolygonWithinLimits(xy)) {
    return Rle{h, w, {static_cast<uint32_t>(static_cast<uint64_t>(h) * w)}};
  }
  std::vector<int> x(k + 1), y(k + 1);
  for (size_t j = 0; j < k; ++j) x[j] = TruncToInt(scale * xy[j * 2 + 0] + .5);
  x[k] = x[0];
  for (size_t j = 0; j < k; ++j) y[j] = TruncToInt(scale * xy[j * 2 + 1] + .5);
  y[k] = y[0];
  size_t m = 0;
  for (size_t j = 0; j < k; ++j) {
    m += static_cast<size_t>(std::max(std::abs(x[j] - x[j + 1]), std::abs(y[j] - y[j + 1]))) + 1;
  }
  std::vector<int> u(m), v(m);
  m = 0;
  for (size_t j = 0; j < k; ++j) {
    int xs = x[j], xe = x[j + 1], ys = y[j], ye = y[j + 1];
    const int dx = std::abs(xe - xs);
    const int dy = std::abs(ys - ye);
    const bool flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      std::swap(xs, xe);
      std::swap(ys, ye);
    }
    const double s =
        dx >= dy ? static_cast<double>(ye - ys) / dx : static_cast<double>(xe - xs) / dy;
    if (dx >= dy) {
      for (int d = 0; d <= dx; ++d) {
        const int t = flip ? dx - d : d;
        u[m] = t + xs;
        v[m] = TruncToInt(ys + s * t + .5);
        ++m;
      }
    } else {
      for (int d = 0; d <= dy; ++d) {
        const int t = flip ? dy - d : d;
        v[m] = t + ys;
        u[m] = TruncToInt(xs + s * t + .5);
        ++m;
      }
    }
  }
  // Points where the boundary crosses a column centre, downsampled.
  const size_t npts = m;
  std::vector<uint32_t> a;
  a.reserve(npts + 1);
  const double w_minus_1 = static_cast<double>(static_cast<uint64_t>(w) - 1);
  for (size_t j = 1; j < npts; ++j) {
    if (u[j] == u[j - 1]) continue;
    double xd = static_cast<double>(u[j] < u[j - 1] ? u[j] : u[j] - 1);
    xd = (xd + .5) / scale - .5;
    if (std::floor(xd) != xd || xd < 0 || xd > w_minus_1) continue;
    double yd = static_cast<double>(v[j] < v[j - 1] ? v[j] : v[j - 1]);
    yd = (yd + .5) / scale - .5;
    if (yd < 0) {
      yd = 0;
    } else if (yd > h) {
      yd = h;
    }
    yd = std::ceil(yd);
    const int xi = static_cast<int>(xd);
    const int yi = static_cast<int>(yd);
    a.push_back(static_cast<uint32_t>(xi * static_cast<int>(h) + yi));
  }
  a.push_back(static_cast<uint32_t>(static_cast<uint64_t>(h) * w));
  std::sort(a.begin(), a.end());
  uint32_t p = 0;
  for (auto& t : a) {
    const uint32_t cur = t;
    t -= p;
    p = cur;
  }
  std::vector<uint32_t> b;
  b.reserve(a.size());
  size_t j = 0;
  b.push_back(a[j++]);
  while (j < a.size()) {
    if (a[j] > 0) {
      b.push_back(a[j++]);
    } else {
      ++j;
      if (j < a.size()) b.back() += a[j++];
    }
  }
  return Rle{h, w, std::move(b)};
}

Rle RleFromBox(const BoxXywh& box, uint32_t h, uint32_t w) {
  const double xs = box.x, xe = xs + box.w;
  const double ys = box.y, ye = ys + box.h;
  const double xy[8] = {xs, ys, xs, ye, xe, ye, xe, ys};
  return RleFromPolygon(xy, h, w);
}

Status ValidatePolygons(const std::vector<std::vector<double>>& polygons) {
  if (polygons.empty()) {
    return absl::InvalidArgumentError("polygon segmentation is an empty list");
  }
  const size_t first = polygons[0].size();
  if (first < 4) {
    return absl::InvalidArgumentError(
        "polygon segmentation: the first part has fewer than 3 points (pycocotools rejects it)");
  }
  if (first == 4) {
    for (const auto& p : polygons) {
      if (p.size() != 4) {
        return absl::InvalidArgumentError(
            "polygon segmentation mixes 4-number parts (read as boxes) with longer parts");
      }
    }
    return absl::OkStatus();  // boxes: RleFromBox builds their polygons
  }
  for (size_t i = 0; i < polygons.size(); ++i) {
    if (!PolygonWithinLimits(polygons[i])) {
      return absl::InvalidArgumentError(
          "polygon segmentation: part " + std::to_string(i) +
          " has a coordinate that is not finite or beyond +-1e6 px, or a boundary of more than " +
          std::to_string(kMaxPolygonBoundaryPoints) + " points on the 5x grid (the limits)");
    }
  }
  return absl::OkStatus();
}

StatusOr<Rle> RleFromPolygons(const std::vector<std::vector<double>>& polygons, uint32_t h,
                              uint32_t w) {
  ABLATE_RETURN_IF_ERROR(ValidatePolygons(polygons));
  if (polygons.empty()) {
    return absl::InvalidArgumentError("polygon segmentation is an empty list");
  }
  const size_t first = polygons[0].size();
  std::vector<Rle> parts;
  parts.reserve(polygons.size());
  if (first == 4) {
    for (const auto& p : polygons) {
      if (p.size() != 4) {
        return absl::InvalidArgumentError(
            "polygon segmentation mixes 4-number parts (read as boxes) with longer parts");
      }
      parts.push_back(RleFromBox(BoxXywh{p[0], p[1], p[2], p[3]}, h, w));
    }
  } else if (first > 4) {
    for (const auto& p : polygons) parts.push_back(RleFromPolygon(p, h, w));
  } else {
    return absl::InvalidArgumentError(
        "polygon segmentation: the first part has fewer than 3 points (pycocotools rejects it)");
  }
  return MergeRles(parts, /*intersect=*/false);
}

}  // namespace ablate::coco
