#include <array>

#include "fuzz/fuzz_entry_points.h"

namespace ablate::fuzz {

std::span<const FuzzTarget> AllFuzzTargets() {
  static constexpr std::array<FuzzTarget, 7> kTargets = {{
      {"sweep_yaml", &SweepYamlEntry},
      {"coco_dataset", &CocoDatasetEntry},
      {"coco_results", &CocoResultsEntry},
      {"coco_masks", &CocoMasksEntry},
      {"diary", &DiaryEntry},
      {"trial_events", &TrialEventsEntry},
      {"dashboard_query", &DashboardQueryEntry},
  }};
  return kTargets;
}

}  // namespace ablate::fuzz
