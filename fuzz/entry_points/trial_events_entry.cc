#include <cstdlib>
#include <string>

#include "fuzz/fuzz_entry_points.h"
#include "worker/trial_events.h"

namespace ablate::fuzz {

void TrialEventsEntry(std::string_view data) {
  auto event = worker::ParseTrialEvent(std::string(data));
  if (!event.ok()) return;
  // trial_events.h: ParseTrialEvent(FormatTrialEvent(e)) gives e back.
  std::string line = worker::FormatTrialEvent(*event);
  auto again = worker::ParseTrialEvent(line);
  if (!again.ok() || worker::FormatTrialEvent(*again) != line) std::abort();
}

}  // namespace ablate::fuzz
