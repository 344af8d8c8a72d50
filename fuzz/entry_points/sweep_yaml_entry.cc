#include <string>

#include "fuzz/fuzz_entry_points.h"
#include "sweepspec/sweep_spec.h"
#include "sweepspec/trial_expansion.h"

namespace ablate::fuzz {

void SweepYamlEntry(std::string_view data) {
  auto spec = sweepspec::ParseSweepSpec(std::string(data), "fuzz.yaml");
  if (!spec.ok()) return;
  (void)sweepspec::ExpandTrials(*spec);
}

}  // namespace ablate::fuzz
