// DeleteCheckpointFiles and DeleteGalleryFiles on real files in a temp directory: what is
// deleted, what is left alone and why, emptied gallery folders, and stopping between files.
#include "worker/retention_task.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/testing/fresh_temp_dir.h"
#include "protocol/job_spec.h"

namespace ablate::worker {

using protocol::PathFromUri;
using protocol::UriFromPath;
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class RetentionTaskTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = ablate::testing::FreshTempDirForTest("retention_task_"); }

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
  EXPECT_EQ(SummarizeDeletions(task, done), "deleted 2 (300 B), missing 1, failed 0");
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
            "deleted 1 (1 B), missing 0, failed 0, stopped before 1 file(s)");
}

// Gallery images go with their checkpoint: deleted when its file was, kept when it was not;
// images of a checkpoint deleted earlier (not in the list) go; nothing unlisted is touched; an
// emptied gallery folder is removed, a folder with anything else in it stays.
TEST_F(RetentionTaskTest, DeletesGalleryImagesWithTheirCheckpointAndRemovesEmptiedFolders) {
  RetentionTask task;
  task.files.push_back(File("a.pt", 10, 1));
  CheckpointFile b = File("b.pt", 10, 2);
  b.bytes = 11;  // not the registered file: it stays, and so does its gallery
  task.files.push_back(b);
  for (const char* folder : {"g_a", "g_b", "g_c"}) fs::create_directories(dir_ / folder);
  auto image = [&](const std::string& rel, int64_t bytes, int64_t checkpoint) {
    std::ofstream(dir_ / rel) << std::string(static_cast<size_t>(bytes), 'j');
    return GalleryFileEntry{checkpoint, "r/ck" + std::to_string(checkpoint) + " image " + rel,
                            UriFromPath((dir_ / rel).string()), bytes};
  };
  task.gallery.push_back(image("g_a/000001.jpg", 30, 1));
  task.gallery.push_back(image("g_a/000002.jpg", 20, 1));
  fs::remove(dir_ / "g_a/000002.jpg");                     // gone already: missing
  task.gallery.push_back(image("g_b/000001.jpg", 40, 2));  // b stays: kept
  task.gallery.push_back(image("g_c/000001.JPG", 50, 9));  // checkpoint 9 deleted earlier
  image("g_c/000002.jpg", 60, 9);                          // not listed: must survive
  task.gallery.push_back(image("g_c/notes.txt", 5, 9));    // not a JPEG: left alone
  task.gallery.push_back(  // its folder was removed by an earlier attempt: missing
      {9, "r/ck9 image gone", UriFromPath((dir_ / "g_gone/000001.jpg").string()), 1});
  task.gallery.push_back(  // not even the folder's parent: another machine's disk
      {9, "r/ck9 image far", UriFromPath((dir_ / "far/g/000001.jpg").string()), 1});
  fs::create_symlink(dir_ / "g_c/000002.jpg", dir_ / "g_c/000003.jpg");
  task.gallery.push_back(
      {9, "r/ck9 image link", UriFromPath((dir_ / "g_c/000003.jpg").string()), 60});

  auto done = DeleteCheckpointFiles(task, [] { return true; });
  ASSERT_EQ(done.size(), 2u);
  ASSERT_EQ(done[1].result, FileDeletion::Result::kFailed);
  GalleryOutcome gallery = DeleteGalleryFiles(task, done, [] { return true; });
  ASSERT_EQ(gallery.done.size(), task.gallery.size());
  using R = FileDeletion::Result;
  std::vector<R> results;
  for (const auto& d : gallery.done) results.push_back(d.result);
  EXPECT_EQ(results, (std::vector<R>{R::kDeleted, R::kMissing, R::kFailed, R::kDeleted, R::kFailed,
                                     R::kMissing, R::kFailed, R::kFailed}));
  EXPECT_EQ(gallery.done[0].uri, task.gallery[0].uri);
  EXPECT_EQ(gallery.done[0].bytes_freed, 30);
  EXPECT_EQ(gallery.done[3].bytes_freed, 50);
  EXPECT_EQ(gallery.done[2].reason,
            "kept with its checkpoint run/b.pt, whose file was not deleted");
  EXPECT_EQ(gallery.done[4].reason,
            "not a gallery image (.jpg/.jpeg): " + task.gallery[4].uri + "; left alone");
  EXPECT_EQ(gallery.done[6].reason,
            "directory " + (dir_ / "far/g").string() + " is not reachable from this worker");
  EXPECT_NE(gallery.done[7].reason.find("is not a regular file"), std::string::npos);

  EXPECT_FALSE(fs::exists(dir_ / "g_a"));  // emptied: removed
  EXPECT_TRUE(fs::exists(dir_ / "g_b/000001.jpg"));
  EXPECT_FALSE(fs::exists(dir_ / "g_c/000001.JPG"));
  EXPECT_TRUE(fs::exists(dir_ / "g_c/000002.jpg"));  // unlisted: untouched, so the folder stays
  EXPECT_TRUE(fs::exists(dir_ / "g_c/notes.txt"));
  EXPECT_TRUE(fs::is_symlink(dir_ / "g_c/000003.jpg"));
  EXPECT_EQ(gallery.folders_removed, (std::vector<std::string>{(dir_ / "g_a").string()}));
  const std::string summary = SummarizeDeletions(task, done, &gallery);
  EXPECT_EQ(summary.rfind("deleted 1 (10 B), missing 0, failed 1", 0), 0u) << summary;
  // 30 + 50 bytes: g_a/000001.jpg and g_c/000001.JPG.
  EXPECT_NE(summary.find("; gallery images: deleted 2 (80 B), missing 2, failed 4 (r/ck2 "
                         "image g_b/000001.jpg: kept with its checkpoint run/b.pt"),
            std::string::npos)
      << summary;
  EXPECT_EQ(summary.substr(summary.size() - 19), "1 folder(s) removed");
}

TEST_F(RetentionTaskTest, StopsBetweenGalleryImagesAndThenRemovesNoFolder) {
  RetentionTask task;
  fs::create_directories(dir_ / "g");
  for (const char* name : {"000001.jpg", "000002.jpg"}) {
    std::ofstream(dir_ / "g" / name) << "jpg";
    task.gallery.push_back(
        {7, std::string("r/ck7 image ") + name, UriFromPath((dir_ / "g" / name).string()), 3});
  }
  int asked = 0;
  GalleryOutcome gallery = DeleteGalleryFiles(task, {}, [&] { return ++asked == 1; });
  ASSERT_EQ(gallery.done.size(), 1u);
  EXPECT_EQ(gallery.done[0].result, FileDeletion::Result::kDeleted);
  EXPECT_TRUE(fs::exists(dir_ / "g/000002.jpg"));
  EXPECT_TRUE(gallery.folders_removed.empty());
  EXPECT_EQ(SummarizeDeletions(task, {}, &gallery),
            "deleted 0 (0 B), missing 0, failed 0; gallery images: deleted 1 (3 B), "
            "missing 0, failed 0, not reached 1");
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
  EXPECT_TRUE(task->gallery.empty());  // a coordinator from before gallery retention

  task = ParseRetentionTask(json::parse(R"({"delete": [], "delete_gallery": [
      {"checkpoint_id": 7, "run": "r", "checkpoint": "step0000100", "image_id": 12,
       "uri": "file:///w/g/000012.jpg", "bytes": 345}]})"));
  ASSERT_TRUE(task.ok()) << task.status();
  ASSERT_EQ(task->gallery.size(), 1u);
  EXPECT_EQ(task->gallery[0].checkpoint_id, 7);
  EXPECT_EQ(task->gallery[0].label, "r/step0000100 image 12");
  EXPECT_EQ(task->gallery[0].uri, "file:///w/g/000012.jpg");
  EXPECT_EQ(task->gallery[0].bytes, 345);
  EXPECT_EQ(
      ParseRetentionTask(json::parse(R"({"delete": [], "delete_gallery": {}})")).status().message(),
      "retention job spec: 'delete_gallery' must be a list");
  EXPECT_EQ(ParseRetentionTask(json::parse(R"({"delete": [], "delete_gallery": [{"bytes": 1}]})"))
                .status()
                .message(),
            "retention job spec: delete_gallery[0] needs a uri");
}

}  // namespace
}  // namespace ablate::worker
