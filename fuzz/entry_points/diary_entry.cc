#include "fuzz/fuzz_entry_points.h"
#include "server/diary/diary_parser.h"

namespace ablate::fuzz {

void DiaryEntry(std::string_view data) {
  (void)diary::ParseDiary(data, "fuzz-diary.txt");
  (void)diary::RecogniseSettings(data);
  (void)diary::ParseCheckpointName(data);
}

}  // namespace ablate::fuzz
