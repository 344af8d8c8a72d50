#include <cstdlib>
#include <string>

#include "fuzz/fuzz_entry_points.h"
#include "protocol/trial_events.h"

namespace ablate::fuzz {

void TrialEventsEntry(std::string_view data) {
  auto event = protocol::ParseTrialEvent(std::string(data));
  if (!event.ok()) return;
  // trial_events.h: ParseTrialEvent(FormatTrialEvent(e)) gives e back.
  std::string line = protocol::FormatTrialEvent(*event);
  auto again = protocol::ParseTrialEvent(line);
  if (!again.ok() || protocol::FormatTrialEvent(*again) != line) std::abort();
}

}  // namespace ablate::fuzz
