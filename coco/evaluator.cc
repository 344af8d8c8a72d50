#include "coco/evaluator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "coco/polygon.h"
#include "coco/summary.h"
#include "tbb/blocked_range.h"
#include "tbb/parallel_for.h"
#include "tbb/parallel_sort.h"

namespace ablate::coco {

std::vector<double> DefaultIouThresholds() {
  // numpy.linspace(start, stop, num): step = (stop - start) / (num - 1); y = i * step + start;
  // the last value is set to stop.
  std::vector<double> t(10);
  const double step = (0.95 - 0.5) / 9.0;
  for (int i = 0; i < 10; ++i) t[i] = i * step + 0.5;
  t[9] = 0.95;
  return t;
}

std::vector<double> DefaultRecallThresholds() {
  std::vector<double> r(101);
  const double step = (1.0 - 0.0) / 100.0;
  for (int i = 0; i < 101; ++i) r[i] = i * step + 0.0;
  r[100] = 1.0;
  return r;
}

std::vector<AreaRange> DefaultAreaRanges() {
  return {{0.0, 1e10, "all"},
          {0.0, 1024.0, "small"},
          {1024.0, 9216.0, "medium"},
          {9216.0, 1e10, "large"}};
}

namespace {

constexpr double kNumpyEps = 2.220446049250313e-16;  // np.spacing(1)

struct SortKey {
  uint64_t cell;  // cell key: cat_pos * num_images + img_pos (use_cats), img_pos otherwise
  uint32_t sub;   // cat_pos without use_cats (concatenation order), 0 otherwise
  uint32_t idx;   // position in the source list (file order)
  bool operator<(const SortKey& o) const {
    if (cell != o.cell) return cell < o.cell;
    if (sub != o.sub) return sub < o.sub;
    return idx < o.idx;
  }
};

// Per-detection results of Evaluate(), laid out cell by cell (cells in category-major, image
// order; detections of a cell in score order, cut at maxDets[-1]) - exactly the order in which
// pycocotools concatenates evalImgs in accumulate().
struct MatchTable {
  int num_areas = 0;
  std::vector<uint32_t> cat_cell_begin;  // K + 1 offsets into cells
  std::vector<uint32_t> cell_det_begin;  // cells + 1 offsets into the arrays below
  std::vector<uint32_t> cell_gt_valid;   // cells * A: GT not ignored, per area range
  std::vector<double> det_score;
  std::vector<uint32_t> det_rank;  // rank inside its cell
  // det * A words: bit t = true positive at threshold t, bit 32 + t = false positive.
  std::vector<uint64_t> det_bits;
};

}  // namespace

struct CocoEvaluator::State : MatchTable {};

CocoEvaluator::CocoEvaluator(const CocoDataset& gt, const CocoResults& dt, CocoEvalParams params)
    : gt_(gt), dt_(dt), params_(std::move(params)) {}

CocoEvaluator::~CocoEvaluator() = default;

namespace {

// Checks the parameters and resolves them as COCOeval.evaluate() does: image and category ids
// filled in from the ground truth, sorted and de-duplicated; max_dets sorted.
Status ResolveParams(const CocoDataset& gt, CocoEvalParams& p) {
  if (p.max_dets.empty()) return absl::InvalidArgumentError("params.max_dets is empty");
  if (p.iou_thrs.empty() || p.iou_thrs.size() > 32) {
    return absl::InvalidArgumentError("params.iou_thrs must hold 1 to 32 thresholds");
  }
  if (p.area_rngs.empty()) return absl::InvalidArgumentError("params.area_rngs is empty");
  std::vector<ImageId> img_ids = p.img_ids ? *p.img_ids : gt.SortedImageIds();
  std::sort(img_ids.begin(), img_ids.end());
  img_ids.erase(std::unique(img_ids.begin(), img_ids.end()), img_ids.end());
  p.img_ids = img_ids;
  std::vector<CategoryId> cat_ids = p.cat_ids ? *p.cat_ids : gt.SortedCategoryIds();
  if (p.use_cats) {
    std::sort(cat_ids.begin(), cat_ids.end());
    cat_ids.erase(std::unique(cat_ids.begin(), cat_ids.end()), cat_ids.end());
  } else {
    std::vector<CategoryId> dedup;
    for (CategoryId c : cat_ids) {
      if (std::find(dedup.begin(), dedup.end(), c) == dedup.end()) dedup.push_back(c);
    }
    cat_ids = std::move(dedup);
  }
  p.cat_ids = cat_ids;
  std::sort(p.max_dets.begin(), p.max_dets.end());
  if (p.max_dets.back() < 0) return absl::InvalidArgumentError("params.max_dets are negative");
  return absl::OkStatus();
}

// Positions of the resolved image and category ids: which cell an annotation belongs to.
struct CellIndex {
  absl::flat_hash_map<ImageId, uint32_t> img_pos;
  absl::flat_hash_map<CategoryId, uint32_t> cat_pos;
  uint64_t num_img = 0;
  uint64_t num_cat = 0;
  bool use_cats = true;
};

CellIndex MakeCellIndex(const CocoEvalParams& p) {
  CellIndex ix;
  const std::vector<ImageId>& img_ids = *p.img_ids;
  const std::vector<CategoryId>& cat_ids = *p.cat_ids;
  ix.num_img = img_ids.size();
  ix.num_cat = cat_ids.size();
  ix.use_cats = p.use_cats;
  ix.img_pos.reserve(ix.num_img);
  for (uint32_t i = 0; i < ix.num_img; ++i) ix.img_pos.emplace(img_ids[i], i);
  for (uint32_t i = 0; i < cat_ids.size(); ++i) ix.cat_pos.emplace(cat_ids[i], i);
  return ix;
}

// The keys of the annotations in the evaluated images and categories, in (cell, sub, file
// position) order.
template <typename Annotation>
std::vector<SortKey> SortedCellKeys(const std::vector<Annotation>& anns, const CellIndex& ix) {
  std::vector<SortKey> keys;
  keys.reserve(anns.size());
  for (uint32_t i = 0; i < anns.size(); ++i) {
    auto ii = ix.img_pos.find(anns[i].image_id);
    if (ii == ix.img_pos.end()) continue;
    auto ci = ix.cat_pos.find(anns[i].category_id);
    if (ci == ix.cat_pos.end()) continue;
    if (ix.use_cats) {
      keys.push_back({ci->second * ix.num_img + ii->second, 0, i});
    } else {
      keys.push_back({ii->second, ci->second, i});
    }
  }
  // Order: (cell, sub, file position). Keys are built in file order, so a stable counting
  // sort on (cell, sub) gives it in linear time when the key space is small enough.
  const uint64_t num_cat = ix.num_cat;
  const uint64_t space = ix.num_img * std::max<uint64_t>(num_cat, 1);
  if (space <= (uint64_t{1} << 24) && space <= 8 * keys.size() + 65536) {
    auto rank = [&](const SortKey& k) { return ix.use_cats ? k.cell : k.cell * num_cat + k.sub; };
    std::vector<uint32_t> start(space + 1, 0);
    for (const SortKey& k : keys) ++start[rank(k) + 1];
    for (uint64_t i = 0; i < space; ++i) start[i + 1] += start[i];
    std::vector<SortKey> sorted(keys.size());
    for (const SortKey& k : keys) sorted[start[rank(k)]++] = k;
    return sorted;
  }
  tbb::parallel_sort(keys.begin(), keys.end());
  return keys;
}

// A segm annotation's mask: its RLE (the annotation's own, or one rasterised into storage the
// evaluation owns), with the RLE's bounding box and area.
struct MaskInfo {
  const Rle* rle = nullptr;
  BoxXywh box;
  uint32_t area = 0;
};

// Masks for segm, converted once (annToRLE). RLEs are used in place; polygons and boxes are
// rasterised into `*_owned`. Indexed by key position.
struct SegmMasks {
  std::vector<Rle> gt_owned, dt_owned;
  std::vector<MaskInfo> gt_mask, dt_mask;
};

// Checks that an annotation can be turned into a mask (pycocotools converts them all in _prepare
// and raises on the first bad one); the rasterisation itself happens lazily (MakeMask), only for
// cells that have both detections and ground truth.
template <typename Annotation>
Status CheckMaskable(const Annotation& ann, bool is_gt, const CocoDataset& gt) {
  const Segmentation& s = ann.segmentation;
  if (s.kind == Segmentation::Kind::kRle) return absl::OkStatus();
  if (s.kind == Segmentation::Kind::kNone && is_gt) {
    return absl::InvalidArgumentError(
        absl::StrCat("segm evaluation: ground-truth annotation ", ann.id, " has no segmentation"));
  }
  if (gt.FindImage(ann.image_id) == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("segm evaluation: annotation ", ann.id, " is on image ", ann.image_id,
                     " which is not in the ground truth images (its size is unknown)"));
  }
  if (s.kind == Segmentation::Kind::kPolygons) {
    Status valid = ValidatePolygons(s.polygons);
    if (!valid.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("segm evaluation: annotation ", ann.id, ": ", std::string(valid.message())));
    }
  }
  return absl::OkStatus();
}

// Rasterises one checked annotation (bbox-branch detections without segmentation: the box).
template <typename Annotation>
void MakeMask(const Annotation& ann, const CocoDataset& gt, Rle* owned, MaskInfo* out) {
  const Segmentation& s = ann.segmentation;
  if (s.kind == Segmentation::Kind::kRle) {
    out->rle = &s.rle;
  } else {
    const ImageInfo* img = gt.FindImage(ann.image_id);
    if (s.kind == Segmentation::Kind::kPolygons) {
      *owned = *RleFromPolygons(s.polygons, img->height, img->width);
    } else {
      *owned = RleFromBox(ann.bbox, img->height, img->width);
    }
    out->rle = owned;
  }
  out->box = RleToBbox(*out->rle);
  out->area = RleArea(*out->rle);
}

// One (image, category) cell - one (image) cell without use_cats: its ranges of the sorted GT
// and detection keys.
struct Cell {
  uint64_t key;
  uint32_t gt_begin, gt_end, dt_begin, dt_end;
};

// The union of the keys of GT and detections, in key order.
std::vector<Cell> MergeCells(const std::vector<SortKey>& gt_keys,
                             const std::vector<SortKey>& dt_keys) {
  std::vector<Cell> cells;
  cells.reserve(std::max(gt_keys.size(), dt_keys.size()));
  size_t g = 0, d = 0;
  while (g < gt_keys.size() || d < dt_keys.size()) {
    const uint64_t kg = g < gt_keys.size() ? gt_keys[g].cell : UINT64_MAX;
    const uint64_t kd = d < dt_keys.size() ? dt_keys[d].cell : UINT64_MAX;
    const uint64_t key = std::min(kg, kd);
    Cell c{key, static_cast<uint32_t>(g), 0, static_cast<uint32_t>(d), 0};
    while (g < gt_keys.size() && gt_keys[g].cell == key) ++g;
    while (d < dt_keys.size() && dt_keys[d].cell == key) ++d;
    c.gt_end = static_cast<uint32_t>(g);
    c.dt_end = static_cast<uint32_t>(d);
    cells.push_back(c);
  }
  return cells;
}

// Sizes the table for `cells`: offsets per category and per cell (at most max_det detections a
// cell), arrays for the per-detection results.
void LayoutMatchTable(const std::vector<Cell>& cells, const CocoEvalParams& p, uint64_t num_img,
                      int num_k, size_t max_det, MatchTable* st) {
  const int A = static_cast<int>(p.area_rngs.size());
  st->num_areas = A;
  st->cat_cell_begin.assign(num_k + 1, 0);
  {
    // Cells are in category-major order: count per category.
    std::vector<uint32_t> count(num_k, 0);
    for (const Cell& c : cells) ++count[p.use_cats ? c.key / num_img : 0];
    for (int k = 0; k < num_k; ++k) st->cat_cell_begin[k + 1] = st->cat_cell_begin[k] + count[k];
  }
  st->cell_det_begin.resize(cells.size() + 1);
  st->cell_det_begin[0] = 0;
  for (size_t c = 0; c < cells.size(); ++c) {
    st->cell_det_begin[c + 1] =
        st->cell_det_begin[c] +
        static_cast<uint32_t>(std::min<size_t>(cells[c].dt_end - cells[c].dt_begin, max_det));
  }
  const size_t total_dets = st->cell_det_begin.back();
  st->cell_gt_valid.assign(cells.size() * A, 0);
  st->det_score.resize(total_dets);
  st->det_rank.resize(total_dets);
  st->det_bits.resize(total_dets * A);
}

// Compact copies in key order, so that a cell reads contiguous memory.
struct GtRow {
  BoxXywh box;
  double area;
  bool crowd;
  bool id_nonzero;  // pycocotools stores the GT id as the match; id 0 reads as "no match"
};
struct DtRow {
  BoxXywh box;
  double area;
  double score;
};

void CopyRows(const std::vector<GtAnnotation>& gts, const std::vector<ResultAnnotation>& dts,
              const std::vector<SortKey>& gt_keys, const std::vector<SortKey>& dt_keys,
              std::vector<GtRow>* gt_rows, std::vector<DtRow>* dt_rows) {
  gt_rows->resize(gt_keys.size());
  dt_rows->resize(dt_keys.size());
  tbb::parallel_for(tbb::blocked_range<size_t>(0, gt_keys.size() + dt_keys.size(), 4096),
                    [&](const tbb::blocked_range<size_t>& r) {
                      for (size_t i = r.begin(); i != r.end(); ++i) {
                        if (i < gt_keys.size()) {
                          const GtAnnotation& g = gts[gt_keys[i].idx];
                          (*gt_rows)[i] = GtRow{g.bbox, g.area, g.iscrowd, g.id != 0};
                        } else {
                          const ResultAnnotation& d = dts[dt_keys[i - gt_keys.size()].idx];
                          (*dt_rows)[i - gt_keys.size()] = DtRow{d.bbox, d.area, d.score};
                        }
                      }
                    });
}

// One (image, category) cell's inputs while matching.
struct CellScratch {
  std::vector<uint32_t> dets;      // result indices, score-sorted
  std::vector<double> ious;        // D x G, GT in original order
  std::vector<uint32_t> gt_order;  // GT sorted ignore-last for the current area
  std::vector<uint8_t> gt_ig;      // in gt_order
  std::vector<uint8_t> gt_matched;
  std::vector<double> row_max;       // per detection: best IoU over the cell's GT
  std::vector<uint32_t> candidates;  // detections that can match at some threshold
};

// The IoU thresholds as matching uses them: capped at 1 - 1e-10, their minimum, and the match
// word of a detection unmatched at every threshold.
struct ThresholdCaps {
  std::vector<double> thr_cap;
  double min_thr_cap = 0;
  uint64_t fp_all = 0;
};

ThresholdCaps MakeThresholdCaps(const std::vector<double>& iou_thrs) {
  const int T = static_cast<int>(iou_thrs.size());
  const double kIouCap = 1 - 1e-10;
  ThresholdCaps caps;
  caps.thr_cap.resize(T);
  for (int t = 0; t < T; ++t) caps.thr_cap[t] = std::min(iou_thrs[t], kIouCap);
  caps.min_thr_cap = *std::min_element(caps.thr_cap.begin(), caps.thr_cap.end());
  caps.fp_all = ((T == 32 ? uint64_t{0xffffffff} : ((uint64_t{1} << T) - 1))) << 32;
  return caps;
}

// Matches the detections of each cell to its ground truth (COCOeval.evaluateImg) and writes the
// results into the table. Cells are independent: EvaluateCell may run for different cells at
// once (each GT and detection belongs to exactly one cell, so the masks it rasterises too).
struct CellMatcher {
  const CocoEvalParams& p;
  const CocoDataset& gt;
  const std::vector<GtAnnotation>& gts;
  const std::vector<ResultAnnotation>& dts;
  const std::vector<SortKey>& gt_keys;
  const std::vector<SortKey>& dt_keys;
  const std::vector<Cell>& cells;
  const std::vector<GtRow>& gt_rows;
  const std::vector<DtRow>& dt_rows;
  const bool segm;
  const size_t max_det;
  SegmMasks& masks;  // segm only
  MatchTable& st;
  const ThresholdCaps caps;

  void EvaluateCell(size_t ci, CellScratch& s) const {
    const Cell& c = cells[ci];
    SortDetections(c, s);
    const uint32_t D =
        std::min<uint32_t>(static_cast<uint32_t>(s.dets.size()), static_cast<uint32_t>(max_det));
    const uint32_t out0 = st.cell_det_begin[ci];
    for (uint32_t d = 0; d < D; ++d) {
      st.det_score[out0 + d] = dt_rows[s.dets[d]].score;
      st.det_rank[out0 + d] = d;
    }
    ComputeIous(c, D, s);
    for (int a = 0; a < st.num_areas; ++a) MatchAreaRange(c, ci, a, D, s);
  }

  // Detections by score, stable (np.argsort(-score, kind='mergesort')), into s.dets.
  void SortDetections(const Cell& c, CellScratch& s) const {
    s.dets.clear();
    for (uint32_t j = c.dt_begin; j < c.dt_end; ++j) s.dets.push_back(j);
    auto by_score = [&](uint32_t a, uint32_t b) { return dt_rows[a].score > dt_rows[b].score; };
    if (s.dets.size() <= 24) {
      for (size_t i = 1; i < s.dets.size(); ++i) {  // insertion sort: stable, no allocation
        const uint32_t v = s.dets[i];
        size_t j = i;
        while (j > 0 && by_score(v, s.dets[j - 1])) {
          s.dets[j] = s.dets[j - 1];
          --j;
        }
        s.dets[j] = v;
      }
    } else {
      std::stable_sort(s.dets.begin(), s.dets.end(), by_score);
    }
  }

  // IoU matrix of the first D detections (pycocotools skips matching entirely when either side
  // is empty) and, per detection, its best IoU: a detection whose best IoU is under a threshold
  // cannot match.
  void ComputeIous(const Cell& c, uint32_t D, CellScratch& s) const {
    const uint32_t G = c.gt_end - c.gt_begin;
    const GtRow* grow = gt_rows.data() + c.gt_begin;
    s.ious.resize(static_cast<size_t>(D) * G);
    s.row_max.assign(D, -1.0);
    s.candidates.clear();
    if (G > 0 && D > 0 && segm) {
      for (uint32_t g = 0; g < G; ++g) {
        const uint32_t gk = c.gt_begin + g;
        MakeMask(gts[gt_keys[gk].idx], gt, &masks.gt_owned[gk], &masks.gt_mask[gk]);
      }
      for (uint32_t d = 0; d < D; ++d) {
        const uint32_t dk = s.dets[d];
        MakeMask(dts[dt_keys[dk].idx], gt, &masks.dt_owned[dk], &masks.dt_mask[dk]);
      }
    }
    if (G == 0) return;
    for (uint32_t d = 0; d < D; ++d) {
      const uint32_t dk = s.dets[d];
      double mx = -1.0;
      for (uint32_t g = 0; g < G; ++g) {
        const uint32_t gk = c.gt_begin + g;
        const double v = segm ? RleIou(*masks.dt_mask[dk].rle, masks.dt_mask[dk].box,
                                       masks.dt_mask[dk].area, *masks.gt_mask[gk].rle,
                                       masks.gt_mask[gk].box, masks.gt_mask[gk].area, grow[g].crowd)
                              : BoxIou(dt_rows[dk].box, grow[g].box, grow[g].crowd);
        s.ious[d * G + g] = v;
        if (v > mx) mx = v;
      }
      s.row_max[d] = mx;
      if (mx >= caps.min_thr_cap) s.candidates.push_back(d);
    }
  }

  // Area range `a` of cell `ci`: which GT are ignored, then the greedy matching at every IoU
  // threshold, as true / false positive bits of the cell's detections.
  void MatchAreaRange(const Cell& c, size_t ci, int a, uint32_t D, CellScratch& s) const {
    const int A = st.num_areas;
    const int T = static_cast<int>(p.iou_thrs.size());
    const uint32_t G = c.gt_end - c.gt_begin;
    const GtRow* grow = gt_rows.data() + c.gt_begin;
    uint64_t* bits = st.det_bits.data() + static_cast<size_t>(st.cell_det_begin[ci]) * A;
    const double lo = p.area_rngs[a].lo, hi = p.area_rngs[a].hi;
    // Unmatched detections outside the area range are ignored; inside they are FPs.
    for (uint32_t d = 0; d < D; ++d) {
      const double area = dt_rows[s.dets[d]].area;
      bits[d * A + a] = (area < lo || area > hi) ? 0 : caps.fp_all;
    }
    // GT ignore flags; order: not ignored first, stable.
    s.gt_order.clear();
    s.gt_ig.clear();
    for (int pass = 0; pass < 2; ++pass) {
      for (uint32_t g = 0; g < G; ++g) {
        const bool ig = grow[g].crowd || grow[g].area < lo || grow[g].area > hi;
        if (ig == (pass == 1)) {
          s.gt_order.push_back(g);
          s.gt_ig.push_back(ig ? 1 : 0);
        }
      }
    }
    uint32_t valid = 0;
    for (uint8_t ig : s.gt_ig) valid += ig ? 0 : 1;
    st.cell_gt_valid[ci * A + a] = valid;
    if (s.candidates.empty()) return;
    for (int t = 0; t < T; ++t) {
      s.gt_matched.assign(G, 0);
      const uint64_t tp_bit = uint64_t{1} << t;
      const uint64_t fp_bit = uint64_t{1} << (32 + t);
      for (uint32_t d : s.candidates) {
        double iou = caps.thr_cap[t];
        if (s.row_max[d] < iou) continue;  // stays unmatched: bits already say so
        int m = -1;
        const double* row = s.ious.data() + d * G;
        for (uint32_t gi = 0; gi < G; ++gi) {
          if (s.gt_matched[gi] && !grow[s.gt_order[gi]].crowd) continue;
          if (m > -1 && s.gt_ig[m] == 0 && s.gt_ig[gi] == 1) break;
          const double v = row[s.gt_order[gi]];
          if (v < iou) continue;
          iou = v;
          m = static_cast<int>(gi);
        }
        if (m == -1) continue;
        s.gt_matched[m] = 1;
        const bool matched_nonzero = grow[s.gt_order[m]].id_nonzero;
        bool ignored = s.gt_ig[m] != 0;
        if (!matched_nonzero) {
          const double area = dt_rows[s.dets[d]].area;
          if (area < lo || area > hi) ignored = true;
        }
        uint64_t& w = bits[d * A + a];
        w &= ~(tp_bit | fp_bit);
        if (!ignored) w |= matched_nonzero ? tp_bit : fp_bit;
      }
    }
  }
};

}  // namespace

Status CocoEvaluator::Evaluate() {
  ABLATE_RETURN_IF_ERROR(ResolveParams(gt_, params_));
  const CocoEvalParams& p = params_;
  const size_t max_det = static_cast<size_t>(p.max_dets.back());
  const CellIndex index = MakeCellIndex(p);
  num_k_ = p.use_cats ? static_cast<int>(index.num_cat) : 1;

  const std::vector<GtAnnotation>& gts = gt_.annotations();
  const std::vector<ResultAnnotation>& dts = dt_.annotations();
  const std::vector<SortKey> gt_keys = SortedCellKeys(gts, index);
  const std::vector<SortKey> dt_keys = SortedCellKeys(dts, index);

  const bool segm = p.iou_type == IouType::kSegm;
  SegmMasks masks;
  if (segm) {
    for (const SortKey& k : gt_keys) ABLATE_RETURN_IF_ERROR(CheckMaskable(gts[k.idx], true, gt_));
    for (const SortKey& k : dt_keys) ABLATE_RETURN_IF_ERROR(CheckMaskable(dts[k.idx], false, gt_));
    masks.gt_owned.resize(gt_keys.size());
    masks.gt_mask.resize(gt_keys.size());
    masks.dt_owned.resize(dt_keys.size());
    masks.dt_mask.resize(dt_keys.size());
  }

  const std::vector<Cell> cells = MergeCells(gt_keys, dt_keys);
  auto st = std::make_unique<State>();
  LayoutMatchTable(cells, p, index.num_img, num_k_, max_det, st.get());
  std::vector<GtRow> gt_rows;
  std::vector<DtRow> dt_rows;
  CopyRows(gts, dts, gt_keys, dt_keys, &gt_rows, &dt_rows);

  CellMatcher matcher{
      p,       gt_,     gts,  dts,     gt_keys, dt_keys, cells,
      gt_rows, dt_rows, segm, max_det, masks,   *st,     MakeThresholdCaps(p.iou_thrs)};
  tbb::parallel_for(tbb::blocked_range<size_t>(0, cells.size(), 256),
                    [&](const tbb::blocked_range<size_t>& r) {
                      CellScratch scratch;
                      for (size_t ci = r.begin(); ci != r.end(); ++ci) {
                        matcher.EvaluateCell(ci, scratch);
                      }
                    });

  state_ = std::move(st);
  evaluated_ = true;
  accumulated_ = false;
  return absl::OkStatus();
}

namespace {

// Shape of the accumulated arrays: precision T x R x K x A x M, recall T x K x A x M, in
// pycocotools' index order.
struct ArrayShape {
  int T, R, K, A, M;
  size_t PrecisionIndex(int t, int r, int k, int a, int m) const {
    return (((static_cast<size_t>(t) * R + r) * K + k) * A + a) * M + m;
  }
  size_t RecallIndex(int t, int k, int a, int m) const {
    return ((static_cast<size_t>(t) * K + k) * A + a) * M + m;
  }
};

// One category's detections over all its cells in global order (score descending, stable over
// the concatenation: image order, rank), gathered once, one row of match words per area range
// (sequential reads below).
struct CategoryDetections {
  size_t n = 0;
  std::vector<uint32_t> rank;  // n
  std::vector<uint64_t> bits;  // A rows of n
  uint32_t max_rank = 0;
};

CategoryDetections GatherInScoreOrder(const MatchTable& st, uint32_t cb, uint32_t ce, int A) {
  const uint32_t db = st.cell_det_begin[cb], de = st.cell_det_begin[ce];
  std::vector<uint32_t> order(de - db);
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = db + i;
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return st.det_score[a] > st.det_score[b]; });
  CategoryDetections out;
  out.n = order.size();
  out.rank.resize(out.n);
  out.bits.resize(out.n * A);
  for (size_t j = 0; j < out.n; ++j) {
    const uint32_t i = order[j];
    out.rank[j] = st.det_rank[i];
    out.max_rank = std::max(out.max_rank, out.rank[j]);
    for (int a = 0; a < A; ++a)
      out.bits[a * out.n + j] = st.det_bits[static_cast<size_t>(i) * A + a];
  }
  return out;
}

// Per threshold, from one pass over a sequence of detections: the true positives in order, as
// the fp count after each (the precision envelope only needs precision at true positives: it
// rises only there). Reused across (area, maxDets) pairs of a category.
struct ThresholdCounts {
  explicit ThresholdCounts(int T) : ev_fp_t(T), tp_count(T), fp_mixed(T), first_is_tp_t(T) {}
  std::vector<std::vector<uint32_t>> ev_fp_t;
  std::vector<uint32_t> tp_count, fp_mixed;
  std::vector<uint8_t> first_is_tp_t;
  std::vector<double> ev_rc, ev_env;  // scratch of StorePrecisionRecall
};

// One pass for all thresholds over seq[0, nd). Most detections are unmatched at every threshold
// (word == fp_all) or ignored (word == 0); only the rest need per-threshold work.
void CountMatches(const uint64_t* seq, size_t nd, int T, uint64_t fp_all, ThresholdCounts* c) {
  // fp count at threshold t = n_all_fp + fp_mixed[t].
  uint32_t n_all_fp = 0;
  for (int t = 0; t < T; ++t) {
    c->tp_count[t] = 0;
    c->fp_mixed[t] = 0;
    c->first_is_tp_t[t] = 0;
    c->ev_fp_t[t].clear();
  }
  for (size_t i = 0; i < nd; ++i) {
    const uint64_t w = seq[i];
    if (w == fp_all) {
      ++n_all_fp;
      continue;
    }
    if (w == 0) continue;
    for (int t = 0; t < T; ++t) {
      if ((w >> (32 + t)) & 1) ++c->fp_mixed[t];
      if ((w >> t) & 1) {
        ++c->tp_count[t];
        if (i == 0) c->first_is_tp_t[t] = 1;
        c->ev_fp_t[t].push_back(n_all_fp + c->fp_mixed[t]);
      }
    }
  }
}

// recall[t, k, a, m] and precision[t, :, k, a, m] from threshold t's counts over nd detections
// and npig_d GT that are not ignored.
void StorePrecisionRecall(int t, int k, int a, int m, double npig_d, size_t nd,
                          const std::vector<double>& rec_thrs, const ArrayShape& shape,
                          ThresholdCounts* c, double* precision, double* recall) {
  const int R = shape.R;
  const uint32_t tp = c->tp_count[t];
  const bool first_is_tp = c->first_is_tp_t[t] != 0;
  const std::vector<uint32_t>& ev_fp = c->ev_fp_t[t];
  std::vector<double>& ev_rc = c->ev_rc;
  std::vector<double>& ev_env = c->ev_env;
  const size_t ne = ev_fp.size();
  ev_rc.resize(ne);
  ev_env.resize(ne);
  for (size_t j = 0; j < ne; ++j) {
    const double tpd = static_cast<double>(j + 1);
    // Exactly numpy's rc = tp / npig and pr = tp / (fp + tp + np.spacing(1)).
    ev_rc[j] = tpd / npig_d;
    ev_env[j] = tpd / (static_cast<double>(ev_fp[j]) + tpd + kNumpyEps);
  }
  for (size_t j = ne; j-- > 1;) {
    if (ev_env[j] > ev_env[j - 1]) ev_env[j - 1] = ev_env[j];
  }
  recall[shape.RecallIndex(t, k, a, m)] = nd ? static_cast<double>(tp) / npig_d : 0.0;
  // rc at position 0 and the envelope there (max over every position).
  const double rc0 = first_is_tp ? ev_rc[0] : 0.0;
  const double env0 = ne ? ev_env[0] : 0.0;
  for (int r = 0; r < R; ++r) {
    // np.searchsorted(rc, recThrs, side='left'); pycocotools stops at the first index
    // past the end (its try/except), leaving the rest at 0.
    const double thr = rec_thrs[r];
    double q;
    bool past_end = nd == 0;
    if (!past_end && rc0 >= thr) {
      q = env0;
    } else {
      const size_t j = std::lower_bound(ev_rc.begin(), ev_rc.end(), thr) - ev_rc.begin();
      past_end = past_end || j >= ne;
      q = past_end ? 0.0 : ev_env[j];
    }
    if (past_end) {
      for (int r2 = r; r2 < R; ++r2) precision[shape.PrecisionIndex(t, r2, k, a, m)] = 0.0;
      break;
    }
    precision[shape.PrecisionIndex(t, r, k, a, m)] = q;
  }
}

// Category k's slices of the precision and recall arrays (left at -1 when it has no cells).
void AccumulateCategory(const MatchTable& st, const CocoEvalParams& p, int k,
                        const ArrayShape& shape, double* precision, double* recall) {
  const int T = shape.T, A = shape.A, M = shape.M;
  const uint32_t cb = st.cat_cell_begin[k], ce = st.cat_cell_begin[k + 1];
  if (cb == ce) return;  // no evalImgs for this category: stays -1
  const CategoryDetections dets = GatherInScoreOrder(st, cb, ce, A);
  const size_t n = dets.n;
  std::vector<uint64_t> seq_buf;
  ThresholdCounts counts(T);
  const uint64_t fp_all = (T == 32 ? uint64_t{0xffffffff} : ((uint64_t{1} << T) - 1)) << 32;
  for (int a = 0; a < A; ++a) {
    uint64_t npig = 0;
    for (uint32_t c = cb; c < ce; ++c) npig += st.cell_gt_valid[static_cast<size_t>(c) * A + a];
    if (npig == 0) continue;
    const double npig_d = static_cast<double>(npig);
    for (int m = 0; m < M; ++m) {
      const int64_t max_det = p.max_dets[m];
      const uint64_t* seq = dets.bits.data() + a * n;
      size_t nd = n;
      if (n > 0 && static_cast<int64_t>(dets.max_rank) >= max_det) {  // cut at max_det per image
        seq_buf.clear();
        for (size_t j = 0; j < n; ++j) {
          if (static_cast<int64_t>(dets.rank[j]) < max_det) seq_buf.push_back(seq[j]);
        }
        seq = seq_buf.data();
        nd = seq_buf.size();
      }
      CountMatches(seq, nd, T, fp_all, &counts);
      for (int t = 0; t < T; ++t) {
        StorePrecisionRecall(t, k, a, m, npig_d, nd, p.rec_thrs, shape, &counts, precision, recall);
      }
    }
  }
}

}  // namespace

Status CocoEvaluator::Accumulate() {
  if (!evaluated_) return absl::FailedPreconditionError("Accumulate() before Evaluate()");
  const CocoEvalParams& p = params_;
  const ArrayShape shape{static_cast<int>(p.iou_thrs.size()), static_cast<int>(p.rec_thrs.size()),
                         num_k_, static_cast<int>(p.area_rngs.size()),
                         static_cast<int>(p.max_dets.size())};
  precision_.assign(static_cast<size_t>(shape.T) * shape.R * shape.K * shape.A * shape.M, -1.0);
  recall_.assign(static_cast<size_t>(shape.T) * shape.K * shape.A * shape.M, -1.0);
  tbb::parallel_for(0, shape.K, [&](int k) {
    AccumulateCategory(*state_, p, k, shape, precision_.data(), recall_.data());
  });
  accumulated_ = true;
  return absl::OkStatus();
}

double CocoEvaluator::Precision(int t, int r, int k, int a, int m) const {
  const CocoEvalParams& p = params_;
  const size_t R = p.rec_thrs.size(), K = num_k_, A = p.area_rngs.size(), M = p.max_dets.size();
  return precision_[(((t * R + r) * K + k) * A + a) * M + m];
}

double CocoEvaluator::Recall(int t, int k, int a, int m) const {
  const CocoEvalParams& p = params_;
  const size_t K = num_k_, A = p.area_rngs.size(), M = p.max_dets.size();
  return recall_[((t * K + k) * A + a) * M + m];
}

namespace {

// numpy's pairwise summation of a contiguous double array (pairwise_sum_DOUBLE, blocks of 128
// unrolled by 8), so that means come out bit for bit as np.mean gives them.
double NumpyPairwiseSum(const double* a, size_t n) {
  if (n < 8) {
    double res = 0.;
    for (size_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= 128) {
    double r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j];
    size_t i;
    for (i = 8; i < n - (n % 8); i += 8) {
      for (int j = 0; j < 8; ++j) r[j] += a[i + j];
    }
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  size_t n2 = n / 2;
  n2 -= n2 % 8;
  return NumpyPairwiseSum(a, n2) + NumpyPairwiseSum(a + n2, n - n2);
}

// np.mean(s[s > -1]) over values collected in numpy's C order, or -1 when none is > -1.
// Bit-identical to pycocotools on every shared vector (the tolerance needed is only 1e-9).
struct MeanAcc {
  std::vector<double> values;
  void Add(double v) {
    if (v > -1) values.push_back(v);
  }
  double Get() const {
    if (values.empty()) return -1.0;
    // np.add.reduce runs its inner loop over buffers of 8192 elements (NumPy's default
    // buffer size) and adds the buffers' pairwise sums in order.
    double sum = 0;
    for (size_t i = 0; i < values.size(); i += 8192) {
      sum += NumpyPairwiseSum(values.data() + i, std::min<size_t>(8192, values.size() - i));
    }
    return sum / static_cast<double>(values.size());
  }
};

}  // namespace

StatusOr<CocoStats> CocoEvaluator::Summarize(std::string* text) const {
  if (!accumulated_) return absl::FailedPreconditionError("Summarize() before Accumulate()");
  const CocoEvalParams& p = params_;
  const int T = static_cast<int>(p.iou_thrs.size());
  const int R = static_cast<int>(p.rec_thrs.size());
  const int A = static_cast<int>(p.area_rngs.size());
  const int M = static_cast<int>(p.max_dets.size());
  auto summarize = [&](bool ap, std::optional<double> iou_thr, const std::string& area,
                       int max_dets) {
    // s[:, :, :, aind, mind] (precision) or s[:, :, aind, mind] (recall): numpy puts the
    // (area, maxDets) pairs last, so values are visited t, r, k, pair.
    std::vector<std::pair<int, int>> pairs;
    for (int a = 0; a < A; ++a) {
      if (p.area_rngs[a].label != area) continue;
      for (int m = 0; m < M; ++m) {
        if (p.max_dets[m] == max_dets) pairs.emplace_back(a, m);
      }
    }
    MeanAcc acc;
    for (int t = 0; t < T; ++t) {
      if (iou_thr && !(p.iou_thrs[t] == *iou_thr)) continue;
      if (ap) {
        for (int r = 0; r < R; ++r) {
          for (int k = 0; k < num_k_; ++k) {
            for (const auto& [a, m] : pairs) acc.Add(Precision(t, r, k, a, m));
          }
        }
      } else {
        for (int k = 0; k < num_k_; ++k) {
          for (const auto& [a, m] : pairs) acc.Add(Recall(t, k, a, m));
        }
      }
    }
    const double mean = acc.Get();
    if (text != nullptr) {
      text->append(FormatSummaryLine(ap, iou_thr, p.iou_thrs.front(), p.iou_thrs.back(), area,
                                     max_dets, mean));
      text->push_back('\n');
    }
    return mean;
  };
  // pycocotools indexes maxDets[0..2]; fewer than 3 would raise there.
  if (p.max_dets.size() < 3) {
    return absl::InvalidArgumentError("summarize() needs at least 3 max_dets values");
  }
  const int md0 = p.max_dets[0], md1 = p.max_dets[1], md2 = p.max_dets[2];
  CocoStats s{};
  s[0] = summarize(true, std::nullopt, "all", 100);
  s[1] = summarize(true, 0.5, "all", md2);
  s[2] = summarize(true, 0.75, "all", md2);
  s[3] = summarize(true, std::nullopt, "small", md2);
  s[4] = summarize(true, std::nullopt, "medium", md2);
  s[5] = summarize(true, std::nullopt, "large", md2);
  s[6] = summarize(false, std::nullopt, "all", md0);
  s[7] = summarize(false, std::nullopt, "all", md1);
  s[8] = summarize(false, std::nullopt, "all", md2);
  s[9] = summarize(false, std::nullopt, "small", md2);
  s[10] = summarize(false, std::nullopt, "medium", md2);
  s[11] = summarize(false, std::nullopt, "large", md2);
  return s;
}

std::vector<CategoryMetrics> CocoEvaluator::PerCategory() const {
  std::vector<CategoryMetrics> out;
  if (!accumulated_) return out;
  const CocoEvalParams& p = params_;
  const int T = static_cast<int>(p.iou_thrs.size());
  const int R = static_cast<int>(p.rec_thrs.size());
  int a = 0;
  for (int i = 0; i < static_cast<int>(p.area_rngs.size()); ++i) {
    if (p.area_rngs[i].label == "all") {
      a = i;
      break;
    }
  }
  int m = static_cast<int>(p.max_dets.size()) - 1;
  for (int i = 0; i < static_cast<int>(p.max_dets.size()); ++i) {
    if (p.max_dets[i] == 100) {
      m = i;
      break;
    }
  }
  int t50 = -1;
  for (int t = 0; t < T; ++t) {
    if (p.iou_thrs[t] == 0.5) t50 = t;
  }
  for (int k = 0; k < num_k_; ++k) {
    CategoryMetrics cm;
    cm.category_id = p.use_cats ? (*p.cat_ids)[k] : -1;
    MeanAcc ap, ap50, ar;
    for (int t = 0; t < T; ++t) {
      for (int r = 0; r < R; ++r) {
        const double v = Precision(t, r, k, a, m);
        ap.Add(v);
        if (t == t50) ap50.Add(v);
      }
      ar.Add(Recall(t, k, a, m));
    }
    cm.ap = ap.Get();
    cm.ap50 = ap50.Get();
    cm.ar = ar.Get();
    out.push_back(cm);
  }
  return out;
}

StatusOr<CocoEvalResult> EvaluateCoco(const CocoDataset& gt, const CocoResults& dt,
                                      const CocoEvalParams& params) {
  CocoEvaluator ev(gt, dt, params);
  ABLATE_RETURN_IF_ERROR(ev.Evaluate());
  ABLATE_RETURN_IF_ERROR(ev.Accumulate());
  CocoEvalResult res;
  ABLATE_ASSIGN_OR_RETURN(res.stats, ev.Summarize(&res.summary_text));
  res.per_category = ev.PerCategory();
  return res;
}

}  // namespace ablate::coco
