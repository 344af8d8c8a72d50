// DeleteCheckpointFiles on real files in a temp directory: what is deleted, what is left alone
// and why, and stopping between files.
#include "worker/retention_task.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "worker/job_spec.h"

namespace ablate::worker {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class RetentionTaskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ablate_retention_task_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A file of `bytes` bytes; returns its entry for the task.
  CheckpointFile File(const std::string& name, int64_t bytes, int64_t id) {
    std::ofstream(dir_ / name) << std::string(static_cast<size_t>(bytes), 'x');
    return CheckpointFile{id, "run/" + name, UriFromPath((dir_ / name).string()), bytes};
  }

  fs::path dir_;
};

TEST_F(RetentionTaskTest, DeletesListedFilesAndReportsEachOne) {
  RetentionTask task;
  task.files.push_back(File("step0000100.pt", 100, 1));
  task.files.push_back(File("step0000200.pt", 200, 2));
  CheckpointFile gone = File("step0000300.pt", 300, 3);
  fs::remove(dir_ / "step0000300.pt");
  task.files.push_back(gone);
  File("step0000400.pt", 400, 4);  // not listed: must survive

  auto done = DeleteCheckpointFiles(task, [] { return true; });
  ASSERT_EQ(done.size(), 3u);
  EXPECT_EQ(done[0].result, FileDeletion::Result::kDeleted);
  EXPECT_EQ(done[0].bytes_freed, 100);
  EXPECT_EQ(done[1].result, FileDeletion::Result::kDeleted);
  EXPECT_EQ(done[1].bytes_freed, 200);
  EXPECT_EQ(done[2].result, FileDeletion::Result::kMissing);
  EXPECT_EQ(done[2].bytes_freed, 0);
  EXPECT_EQ(done[2].checkpoint_id, 3);
  EXPECT_FALSE(fs::exists(dir_ / "step0000100.pt"));
  EXPECT_FALSE(fs::exists(dir_ / "step0000200.pt"));
  EXPECT_TRUE(fs::exists(dir_ / "step0000400.pt"));
  EXPECT_EQ(SummarizeDeletions(task, done), "deleted 2 (0.0 MiB), missing 1, failed 0");
}

TEST_F(RetentionTaskTest, LeavesAloneWhatIsNotTheRegisteredFile) {
  RetentionTask task;
  CheckpointFile resized = File("resized.pt", 10, 1);
  resized.bytes = 11;  // registered with another size
  task.files.push_back(resized);
  fs::create_directories(dir_ / "adir.pt");
  task.files.push_back({2, "run/adir.pt", UriFromPath((dir_ / "adir.pt").string()), 0});
  File("target.pt", 5, 0);
  fs::create_symlink(dir_ / "target.pt", dir_ / "link.pt");
  task.files.push_back({3, "run/link.pt", UriFromPath((dir_ / "link.pt").string()), 5});
  task.files.push_back({4, "run/elsewhere", UriFromPath((dir_ / "no-such-dir/x.pt").string()), 1});
  task.files.push_back({5, "run/diary", "step0000100.pt", 0});

  auto done = DeleteCheckpointFiles(task, [] { return true; });
  ASSERT_EQ(done.size(), 5u);
  for (const auto& d : done) EXPECT_EQ(d.result, FileDeletion::Result::kFailed) << d.checkpoint_id;
  EXPECT_NE(done[0].reason.find("has 10 bytes, the registered file 11; left alone"),
            std::string::npos)
      << done[0].reason;
  EXPECT_NE(done[1].reason.find("is not a regular file"), std::string::npos) << done[1].reason;
  EXPECT_NE(done[2].reason.find("is not a regular file"), std::string::npos) << done[2].reason;
  EXPECT_EQ(done[3].reason,
            "directory " + (dir_ / "no-such-dir").string() + " is not reachable from this worker");
  EXPECT_EQ(done[4].reason, "not a local file URI: step0000100.pt");
  EXPECT_TRUE(fs::exists(dir_ / "resized.pt"));
  EXPECT_TRUE(fs::exists(dir_ / "adir.pt"));
  EXPECT_TRUE(fs::exists(dir_ / "target.pt"));
  EXPECT_TRUE(fs::is_symlink(dir_ / "link.pt"));
}

TEST_F(RetentionTaskTest, StopsBetweenFilesWhenToldTo) {
  RetentionTask task;
  task.files.push_back(File("a.pt", 1, 1));
  task.files.push_back(File("b.pt", 1, 2));
  int asked = 0;
  auto done = DeleteCheckpointFiles(task, [&] { return ++asked == 1; });
  ASSERT_EQ(done.size(), 1u);
  EXPECT_FALSE(fs::exists(dir_ / "a.pt"));
  EXPECT_TRUE(fs::exists(dir_ / "b.pt"));
  EXPECT_EQ(SummarizeDeletions(task, done),
            "deleted 1 (0.0 MiB), missing 0, failed 0, stopped before 1 file(s)");
}

TEST_F(RetentionTaskTest, ParsesTheSpecAndRefusesMalformedOnes) {
  auto task = ParseRetentionTask(json::parse(R"({"kind": "retention", "keep_last": 1,
      "delete": [{"checkpoint_id": 7, "run": "r", "name": "step0000100", "uri": "file:///w/a.pt",
                  "bytes": 12}]})"));
  ASSERT_TRUE(task.ok()) << task.status();
  ASSERT_EQ(task->files.size(), 1u);
  EXPECT_EQ(task->files[0].checkpoint_id, 7);
  EXPECT_EQ(task->files[0].label, "r/step0000100");
  EXPECT_EQ(task->files[0].uri, "file:///w/a.pt");
  EXPECT_EQ(task->files[0].bytes, 12);

  EXPECT_EQ(ParseRetentionTask(json::parse(R"({"kind": "retention"})")).status().message(),
            "retention job spec: 'delete' must be a list");
  EXPECT_EQ(
      ParseRetentionTask(json::parse(R"({"delete": [{"uri": "file:///a"}]})")).status().message(),
      "retention job spec: delete[0] needs checkpoint_id and uri");
}

}  // namespace
}  // namespace ablate::worker
