#include "bench/coco/synthetic_case.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "coco/results.h"
#include "coco/rle.h"
#include "common/atomic_file.h"

namespace ablate::coco::bench {
namespace {

std::vector<int> CocoCategoryIds(int n) {
  // COCO's 80 category ids: 1..90 minus 12, 26, 29, 30, 45, 66, 68, 69, 71, 83.
  const int gaps[] = {12, 26, 29, 30, 45, 66, 68, 69, 71, 83};
  std::vector<int> ids;
  for (int i = 1; static_cast<int>(ids.size()) < n; ++i) {
    if (std::find(std::begin(gaps), std::end(gaps), i) == std::end(gaps) || n > 80) {
      ids.push_back(i);
    }
  }
  return ids;
}

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", v);
  return buf;
}

// Ellipse inscribed in the box, as a compressed-RLE-ready Rle built column by column.
Rle EllipseRle(double bx, double by, double bw, double bh, uint32_t h, uint32_t w) {
  Rle r{h, w, {}};
  const double cx = bx + bw / 2, cy = by + bh / 2, rx = bw / 2, ry = bh / 2;
  uint64_t pos = 0;  // next pixel index not yet covered by runs
  const uint64_t total = static_cast<uint64_t>(h) * w;
  uint64_t bg_start = 0;
  const int x0 = std::max(0, static_cast<int>(std::floor(bx)));
  const int x1 = std::min(static_cast<int>(w) - 1, static_cast<int>(std::ceil(bx + bw)));
  for (int x = x0; x <= x1; ++x) {
    const double dx = (x + 0.5 - cx) / std::max(rx, 1e-9);
    if (std::fabs(dx) >= 1) continue;
    const double half = ry * std::sqrt(1 - dx * dx);
    int y0 = static_cast<int>(std::ceil(cy - half - 0.5));
    int y1 = static_cast<int>(std::floor(cy + half - 0.5));
    y0 = std::max(y0, 0);
    y1 = std::min(y1, static_cast<int>(h) - 1);
    if (y1 < y0) continue;
    const uint64_t start = static_cast<uint64_t>(x) * h + y0;
    const uint64_t len = static_cast<uint64_t>(y1 - y0 + 1);
    if (start == pos && !r.counts.empty()) {
      r.counts.back() += static_cast<uint32_t>(len);  // continues the previous run
    } else {
      r.counts.push_back(static_cast<uint32_t>(start - bg_start));
      r.counts.push_back(static_cast<uint32_t>(len));
    }
    pos = start + len;
    bg_start = pos;
  }
  r.counts.push_back(static_cast<uint32_t>(total - bg_start));
  return r;
}

}  // namespace

Status WriteSyntheticCase(const SyntheticCaseOptions& o, const std::string& gt_path,
                          const std::string& dets_path) {
  std::mt19937_64 rng(o.seed);
  std::uniform_real_distribution<double> uni(0.0, 1.0);
  std::poisson_distribution<int> n_gt(o.gt_per_image);
  const std::vector<int> cat_ids = CocoCategoryIds(o.num_categories);
  std::string gt = "{\"info\":{\"description\":\"ablate synthetic benchmark case\"},\"images\":[";
  std::string ann_json;
  std::string dets;
  dets.reserve(static_cast<size_t>(o.num_images) * o.dets_per_image * 100);
  dets.push_back('[');
  bool first_det = true;
  int64_t ann_id = 1;
  std::vector<Detection> batch;
  for (int img = 1; img <= o.num_images; ++img) {
    const uint32_t w = 480 + static_cast<uint32_t>(uni(rng) * 160);
    const uint32_t h = 360 + static_cast<uint32_t>(uni(rng) * 120);
    absl::StrAppend(&gt, img > 1 ? "," : "", "{\"id\":", img, ",\"width\":", w, ",\"height\":", h,
                    ",\"file_name\":\"", img, ".jpg\"}");
    // A few categories per image, like real photos.
    std::vector<int> img_cats;
    const int ncat = 1 + static_cast<int>(uni(rng) * 4);
    for (int c = 0; c < ncat; ++c) img_cats.push_back(cat_ids[rng() % cat_ids.size()]);
    struct Obj {
      double x, y, w, h;
      int cat;
    };
    std::vector<Obj> objs;
    const int ngt = n_gt(rng);
    for (int g = 0; g < ngt; ++g) {
      // Log-uniform box side: small, medium and large objects all occur.
      const double side = std::exp(std::log(8.0) + uni(rng) * (std::log(300.0) - std::log(8.0)));
      const double aspect = std::exp((uni(rng) - 0.5) * 1.2);
      const double bw = std::min<double>(w - 1, side * aspect),
                   bh = std::min<double>(h - 1, side / aspect);
      const double bx = uni(rng) * (w - bw), by = uni(rng) * (h - bh);
      const int cat = img_cats[rng() % img_cats.size()];
      objs.push_back({bx, by, bw, bh, cat});
      const bool crowd = uni(rng) < 0.01;
      const double area = bw * bh * 0.785;  // an ellipse's share of its box
      absl::StrAppend(&ann_json, ann_json.empty() ? "" : ",", "{\"id\":", ann_id++,
                      ",\"image_id\":", img, ",\"category_id\":", cat, ",\"bbox\":[", Num(bx), ",",
                      Num(by), ",", Num(bw), ",", Num(bh), "],\"area\":", Num(area),
                      ",\"iscrowd\":", crowd ? 1 : 0);
      if (o.segm) {
        // 16-vertex polygon of the inscribed ellipse.
        ann_json += ",\"segmentation\":[[";
        for (int v = 0; v < 16; ++v) {
          const double a = v * 2 * M_PI / 16;
          absl::StrAppend(&ann_json, v ? "," : "", Num(bx + bw / 2 + bw / 2 * std::cos(a)), ",",
                          Num(by + bh / 2 + bh / 2 * std::sin(a)));
        }
        ann_json += "]]";
      }
      ann_json += "}";
    }
    // Detections: jittered copies of the GT (right or confused category), then background boxes.
    batch.clear();
    for (int d = 0; d < o.dets_per_image; ++d) {
      Detection det;
      det.image_id = img;
      double bx, by, bw, bh;
      if (!objs.empty() && d < static_cast<int>(objs.size()) * 6) {
        const Obj& ob = objs[d % objs.size()];
        const double j = 0.25 * uni(rng);
        bw = ob.w * (1 + (uni(rng) - 0.5) * j);
        bh = ob.h * (1 + (uni(rng) - 0.5) * j);
        bx = std::max(0.0, ob.x + (uni(rng) - 0.5) * j * ob.w);
        by = std::max(0.0, ob.y + (uni(rng) - 0.5) * j * ob.h);
        det.category_id = uni(rng) < 0.8 ? ob.cat : cat_ids[rng() % cat_ids.size()];
        det.score = 0.3 + 0.7 * uni(rng) * (1 - j);
      } else {
        const double side = std::exp(std::log(8.0) + uni(rng) * (std::log(200.0) - std::log(8.0)));
        bw = std::min<double>(w - 1, side);
        bh = std::min<double>(h - 1, side * std::exp((uni(rng) - 0.5)));
        bx = uni(rng) * (w - bw);
        by = uni(rng) * (h - bh);
        det.category_id = uni(rng) < 0.5 && !img_cats.empty() ? img_cats[rng() % img_cats.size()]
                                                              : cat_ids[rng() % cat_ids.size()];
        det.score = 0.3 * uni(rng);
      }
      bw = std::min(bw, w - bx);
      bh = std::min(bh, h - by);
      // Scores: 3 significant decimals (plenty of ties) stored as float32, printed as the
      // double Python's json.dump writes for a float32 tensor value (e.g. 0.8730000257492065).
      det.score = static_cast<double>(static_cast<float>(std::round(det.score * 1000) / 1000));
      det.bbox = BoxXywh{std::round(bx * 100) / 100, std::round(by * 100) / 100,
                         std::round(bw * 100) / 100, std::round(bh * 100) / 100};
      if (o.segm) {
        det.segmentation.kind = Segmentation::Kind::kRle;
        det.segmentation.rle = EllipseRle(bx, by, bw, bh, h, w);
      }
      batch.push_back(std::move(det));
    }
    std::string part = WriteResultsJson(batch);
    if (!first_det) dets.push_back(',');
    dets.append(part, 1, part.size() - 2);
    first_det = false;
  }
  dets.push_back(']');
  gt += "],\"categories\":[";
  for (size_t c = 0; c < cat_ids.size(); ++c) {
    absl::StrAppend(&gt, c ? "," : "", "{\"id\":", cat_ids[c], ",\"name\":\"cat", cat_ids[c],
                    "\",\"supercategory\":\"thing\"}");
  }
  absl::StrAppend(&gt, "],\"annotations\":[", ann_json, "]}");
  ABLATE_RETURN_IF_ERROR(WriteFileAtomically(gt_path, gt));
  return WriteFileAtomically(dets_path, dets);
}

}  // namespace ablate::coco::bench
