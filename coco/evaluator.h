// COCO detection evaluation with pycocotools' COCOeval semantics (iouType bbox and segm), bit for
// bit on every documented behaviour: stable ordering of tied scores, crowd / ignore handling,
// inclusive area bounds, numpy linspace thresholds, the 101-point interpolated precision with its
// epsilon, -1 for absent categories, the quirk that a match to a GT whose id is 0 counts as a
// false positive. See docs/coco.md.
//
// Usage mirrors COCOeval: Evaluate() -> Accumulate() -> Summarize(). Work is spread over all
// cores with TBB (per (category, image) cell in Evaluate, per category in Accumulate); the
// numbers do not depend on the thread count.
//
// Thread safety: one evaluator is used by one thread at a time. It keeps references to the
// dataset and results passed in; both must outlive it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "coco/dataset.h"
#include "coco/results.h"
#include "common/coco_stats.h"
#include "common/status.h"

namespace ablate::coco {

enum class IouType { kBbox, kSegm };

// Inclusive area range [lo, hi] in square pixels, with the label summarize() prints.
struct AreaRange {
  double lo = 0;
  double hi = 0;
  std::string label;
};

// numpy.linspace(.5, .95, 10): 0.5, 0.55, ..., 0.8999999999999999, 0.95 (exact doubles).
std::vector<double> DefaultIouThresholds();
// numpy.linspace(0, 1, 101): i * 0.01, last exactly 1.0.
std::vector<double> DefaultRecallThresholds();
// all [0, 1e10], small [0, 1024], medium [1024, 9216], large [9216, 1e10].
std::vector<AreaRange> DefaultAreaRanges();

// COCOeval.params. Defaults are pycocotools' for detection.
struct CocoEvalParams {
  IouType iou_type = IouType::kBbox;
  // Images to score. nullopt (default) = every ground-truth image. Sorted and de-duplicated by
  // Evaluate(), as pycocotools does.
  std::optional<std::vector<ImageId>> img_ids;
  // Categories. nullopt (default) = every ground-truth category, sorted. With use_cats they are
  // sorted and de-duplicated; without, kept in the given order (duplicates dropped).
  std::optional<std::vector<CategoryId>> cat_ids;
  std::vector<double> iou_thrs = DefaultIouThresholds();  // at most 32 thresholds
  std::vector<double> rec_thrs = DefaultRecallThresholds();
  std::vector<int> max_dets = {1, 10, 100};  // sorted by Evaluate(); summarize() reads 3
  std::vector<AreaRange> area_rngs = DefaultAreaRanges();
  bool use_cats = true;  // false: class-agnostic matching
};

// AP / AP50 / AR of one category at area "all" and maxDets 100 (or the largest maxDets when 100
// is not among them); -1 where the category has no ground truth to score.
struct CategoryMetrics {
  CategoryId category_id = 0;  // -1 when use_cats is false
  double ap = -1;
  double ap50 = -1;
  double ar = -1;
};

class CocoEvaluator {
 public:
  CocoEvaluator(const CocoDataset& gt, const CocoResults& dt, CocoEvalParams params = {});
  ~CocoEvaluator();
  CocoEvaluator(const CocoEvaluator&) = delete;
  CocoEvaluator& operator=(const CocoEvaluator&) = delete;

  // Matches detections to ground truth per (image, category). Fails (InvalidArgument) on
  // parameters pycocotools could not run with (no maxDets, more than 32 IoU thresholds) and on a
  // segm evaluation where an annotation has no usable segmentation.
  Status Evaluate();
  // Builds precision (T x R x K x A x M) and recall (T x K x A x M). FailedPrecondition before
  // Evaluate().
  Status Accumulate();
  // The 12 stats of summarize(); FailedPrecondition before Accumulate(). `text`, when given,
  // receives the 12 lines pycocotools prints, each ending in '\n'.
  StatusOr<CocoStats> Summarize(std::string* text = nullptr) const;
  // Per-category read-out of the precision / recall arrays (order = params().cat_ids, or one
  // entry with id -1 when use_cats is false). Empty before Accumulate().
  std::vector<CategoryMetrics> PerCategory() const;

  // The parameters as Evaluate() resolved them (ids filled in, sorted; max_dets sorted).
  const CocoEvalParams& params() const { return params_; }
  // Accumulated arrays, pycocotools' index order; -1 = no ground truth.
  double Precision(int t, int r, int k, int a, int m) const;
  double Recall(int t, int k, int a, int m) const;
  int num_categories() const { return num_k_; }

 private:
  struct State;
  const CocoDataset& gt_;
  const CocoResults& dt_;
  CocoEvalParams params_;
  int num_k_ = 0;
  bool evaluated_ = false;
  bool accumulated_ = false;
  std::vector<double> precision_;
  std::vector<double> recall_;
  std::unique_ptr<State> state_;  // per-detection match results between Evaluate and Accumulate
};

// Everything one evaluation produces (what the CLI and the coordinator store).
struct CocoEvalResult {
  CocoStats stats{};
  std::string summary_text;
  std::vector<CategoryMetrics> per_category;
};

// Evaluate + Accumulate + Summarize in one call.
StatusOr<CocoEvalResult> EvaluateCoco(const CocoDataset& gt, const CocoResults& dt,
                                      const CocoEvalParams& params = {});

}  // namespace ablate::coco
