#include "coco/dataset.h"
#include "fuzz/fuzz_entry_points.h"

namespace ablate::fuzz {

void CocoDatasetEntry(std::string_view data) {
  auto gt = coco::CocoDataset::Parse(data);
  if (!gt.ok()) return;
  (void)gt->SortedImageIds();
  (void)gt->SortedCategoryIds();
}

}  // namespace ablate::fuzz
