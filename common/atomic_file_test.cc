#include "common/atomic_file.h"

#include <gtest/gtest.h>

namespace ablate {
namespace {

TEST(AtomicFileTest, WritesCreatesParentsAndReplaces) {
  auto dir = std::filesystem::temp_directory_path() / "ablate_atomic_file_test";
  std::filesystem::remove_all(dir);
  auto path = dir / "a" / "b.txt";
  ASSERT_TRUE(WriteFileAtomically(path, "first").ok());
  ASSERT_TRUE(WriteFileAtomically(path, "second").ok());
  auto read = ReadFile(path);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, "second");
  // No temp files are left behind.
  int entries = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir / "a")) ++entries;
  EXPECT_EQ(entries, 1);
  std::filesystem::remove_all(dir);
}

TEST(AtomicFileTest, ReadMissingIsNotFound) {
  EXPECT_EQ(ReadFile("/nonexistent/ablate").status().code(), absl::StatusCode::kNotFound);
}

TEST(AtomicFileTest, UnwritableDirectoryIsAnError) {
  auto status = WriteFileAtomically("/proc/ablate_cannot_write_here/x", "data");
  EXPECT_FALSE(status.ok());
}

}  // namespace
}  // namespace ablate
