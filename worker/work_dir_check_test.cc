// CheckWorkDir on real directories: a normal one, a missing one, a threshold above the disk's
// free space. (Read-only and full filesystems need mounts: tests/disk_faults_e2e_test.cc.)
#include "worker/work_dir_check.h"

#include <gtest/gtest.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/testing/fresh_temp_dir.h"

namespace ablate::worker {
namespace {

std::filesystem::path FreshDir(const std::string& name) {
  return ablate::testing::FreshTempDir("work_dir_check_" + name);
}

TEST(WorkDirCheckTest, AWritableDirWithSpaceIsReadyAndLeavesNoProbeBehind) {
  const auto dir = FreshDir("ok");
  EXPECT_TRUE(CheckWorkDir(dir, 1).ok());
  EXPECT_TRUE(std::filesystem::is_empty(dir));
}

TEST(WorkDirCheckTest, AMissingDirIsNamed) {
  const auto dir = FreshDir("missing") / "not-there";
  Status s = CheckWorkDir(dir, 0);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(s.message()).find(dir.string()), std::string::npos) << s.message();
}

TEST(WorkDirCheckTest, LessFreeSpaceThanTheMinimumIsResourceExhausted) {
  const auto dir = FreshDir("full");
  struct statvfs fs {};
  ASSERT_EQ(::statvfs(dir.c_str(), &fs), 0);
  const int64_t free_bytes = static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
  Status s = CheckWorkDir(dir, free_bytes + (int64_t{1} << 30));
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(std::string(s.message()).find("--min-free-disk-mb"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace ablate::worker
