#include <cstdlib>

#include "coco/dataset.h"
#include "coco/evaluator.h"
#include "coco/results.h"
#include "fuzz/fuzz_entry_points.h"

namespace ablate::fuzz {
namespace {

// Two images, a polygon, a box-only annotation and a crowd RLE: enough for both IoU types.
constexpr std::string_view kGroundTruth = R"({
  "images": [{"id": 1, "width": 64, "height": 48, "file_name": "a.jpg"},
             {"id": 2, "width": 32, "height": 32, "file_name": "b.jpg"}],
  "categories": [{"id": 1, "name": "circle"}, {"id": 2, "name": "square"}],
  "annotations": [
    {"id": 1, "image_id": 1, "category_id": 1, "bbox": [4, 4, 20, 10], "area": 200,
     "iscrowd": 0, "segmentation": [[4, 4, 24, 4, 24, 14, 4, 14]]},
    {"id": 2, "image_id": 2, "category_id": 2, "bbox": [0, 0, 2, 32], "area": 64,
     "iscrowd": 1, "segmentation": {"size": [32, 32], "counts": [0, 64, 960]}},
    {"id": 3, "image_id": 2, "category_id": 1, "bbox": [10, 10, 5, 5], "area": 25,
     "iscrowd": 0, "segmentation": [[10, 10, 15, 10, 15, 15, 10, 15]]}]
})";

const coco::CocoDataset& GroundTruth() {
  static const coco::CocoDataset* gt = [] {
    auto parsed = coco::CocoDataset::Parse(kGroundTruth);
    if (!parsed.ok()) std::abort();  // the constant above is wrong
    return new coco::CocoDataset(std::move(*parsed));
  }();
  return *gt;
}

}  // namespace

void CocoResultsEntry(std::string_view data) {
  (void)coco::ParseDetectionsJson(data);
  auto dt = coco::CocoResults::Parse(data, GroundTruth());
  if (!dt.ok()) return;
  for (auto iou_type : {coco::IouType::kBbox, coco::IouType::kSegm}) {
    coco::CocoEvalParams params;
    params.iou_type = iou_type;
    (void)coco::EvaluateCoco(GroundTruth(), *dt, params);
  }
}

}  // namespace ablate::fuzz
