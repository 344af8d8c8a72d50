// Replays every seed (fuzz/corpus/<target>/) and every input a fuzzer once crashed on
// (fuzz/regressions/<target>/) through the entry points the libFuzzer targets use. A failure is
// a crash, a sanitizer report or an uncaught exception in the replaying process; the test also
// fails when a target has no inputs at all, so a moved folder cannot make it pass vacuously.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "fuzz/fuzz_entry_points.h"

namespace ablate::fuzz {
namespace {

std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Replays the regular files under fuzz/<kind>/<target>/; returns how many.
int ReplayFolder(const FuzzTarget& target, const std::string& kind) {
  const std::filesystem::path dir = std::filesystem::path("fuzz") / kind / target.name;
  if (!std::filesystem::is_directory(dir)) return 0;
  int replayed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().filename() == "README.md") continue;
    SCOPED_TRACE(entry.path().string());
    target.entry(ReadAll(entry.path()));
    ++replayed;
  }
  return replayed;
}

TEST(FuzzRegressionTest, EveryTargetHasSeedsAndReplaysThemAndItsRegressions) {
  ASSERT_EQ(AllFuzzTargets().size(), 7u);
  for (const FuzzTarget& target : AllFuzzTargets()) {
    SCOPED_TRACE(std::string(target.name));
    EXPECT_GT(ReplayFolder(target, "corpus"), 0) << "fuzz/corpus/" << target.name << " is empty";
    ReplayFolder(target, "regressions");
  }
}

}  // namespace
}  // namespace ablate::fuzz
