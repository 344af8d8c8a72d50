#include <cstdlib>

#include "diary/checkpoint_name.h"
#include "diary/diary_parser.h"
#include "diary/summary_line.h"
#include "fuzz/fuzz_entry_points.h"

namespace ablate::fuzz {

void DiaryEntry(std::string_view data) {
  (void)diary::ParseDiary(data, "fuzz-diary.txt");
  (void)diary::RecogniseSettings(data);
  (void)diary::ParseCheckpointName(data);
  // The recognisers the worker shares (worker/summary_stream.h) on the first line; a name found
  // in running text must parse on its own to the same parts.
  const std::string_view line = data.substr(0, data.find('\n'));
  if (auto summary = diary::MatchSummaryLine(line)) {
    (void)diary::SummaryStatIndex(*summary, {});
    (void)diary::SummaryValue(*summary);
  }
  for (const diary::CheckpointMention& m : diary::FindCheckpointNames(line)) {
    const auto alone = diary::ParseCheckpointName(m.file);
    if (!alone || alone->name != m.name.name || alone->step != m.name.step ||
        alone->epoch != m.name.epoch || alone->loss != m.name.loss) {
      std::abort();
    }
  }
}

}  // namespace ablate::fuzz
