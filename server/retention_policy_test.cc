// The retention policy on a real SQLite file: every keep rule, scopes, bad input and the gallery
// files that go with a checkpoint. The inputs are read through LoadRetentionInputs, as the
// scheduler reads them.
#include "server/retention_policy.h"

#include <gtest/gtest.h>

#include <map>

#include "server/sqlite_job_store.h"
#include "server/test_util.h"

namespace ablate::server {
namespace {

using nlohmann::json;

class RetentionPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runs_ = testing::OpenTestStore(&clock_);
    ASSERT_NE(runs_, nullptr);
    jobs_ = std::make_unique<SqliteJobStore>(*runs_, clock_);
  }

  // A checkpoint with a stored file of `bytes` bytes (URI under /w/RUN/).
  Checkpoint File(const server::Run& run, int64_t step, int64_t bytes = 1000, bool pinned = false) {
    NewCheckpoint c;
    c.run = run.id;
    c.name = "step" + std::to_string(step);
    c.step = step;
    c.uri = "file:///w/" + run.name + "/" + c.name + ".pt";
    c.bytes = bytes;
    c.pinned = pinned;
    auto r = runs_->RegisterCheckpoint(c);
    EXPECT_TRUE(r.ok()) << r.status();
    return r->value;
  }

  RetentionPlan Plan(RetentionOptions options) {
    auto inputs = LoadRetentionInputs(*runs_, *jobs_);
    EXPECT_TRUE(inputs.ok()) << inputs.status();
    auto plan = PlanRetention(*inputs, options);
    EXPECT_TRUE(plan.ok()) << plan.status();
    return plan.ok() ? *plan : RetentionPlan{};
  }

  RetentionPlan Plan(int keep_last) {
    RetentionOptions o;
    o.keep_last = keep_last;
    return Plan(o);
  }

  // "run/stepN" -> keep reasons ("delete" for a candidate).
  static std::map<std::string, std::string> Verdicts(const RetentionPlan& plan) {
    std::map<std::string, std::string> out;
    for (const auto& v : plan.verdicts) {
      std::string text;
      for (const auto& r : v.keep_reasons) text += (text.empty() ? "" : "; ") + r;
      out[v.checkpoint.run_name + "/" + v.checkpoint.name] = v.remove ? "delete" : text;
    }
    return out;
  }

  FakeClock clock_;
  std::unique_ptr<SqliteRunStore> runs_;
  std::unique_ptr<SqliteJobStore> jobs_;
};

TEST_F(RetentionPolicyTest, KeepsTheNewestKPerRunByStep) {
  server::Run a = testing::AddRun(*runs_, "a");
  server::Run b = testing::AddRun(*runs_, "b");
  // Registered out of step order: the policy goes by step, not by id or time.
  File(a, 300, 30);
  File(a, 100, 10);
  File(a, 500, 50);
  File(a, 200, 20);
  File(a, 400, 40);
  File(b, 100, 7);
  RetentionPlan plan = Plan(2);
  const std::string newest = "one of the newest 2 of its run";
  EXPECT_EQ(Verdicts(plan), (std::map<std::string, std::string>{{"a/step100", "delete"},
                                                                {"a/step200", "delete"},
                                                                {"a/step300", "delete"},
                                                                {"a/step400", newest},
                                                                {"a/step500", newest},
                                                                {"b/step100", newest}}));
  EXPECT_EQ(plan.to_delete, 3);
  EXPECT_EQ(plan.bytes_to_free, 60);
  EXPECT_EQ(plan.keep_last, 2);
  // Sorted by run, then step.
  ASSERT_EQ(plan.verdicts.size(), 6u);
  EXPECT_EQ(plan.verdicts[0].checkpoint.name, "step100");
  EXPECT_EQ(plan.verdicts[4].checkpoint.name, "step500");

  EXPECT_EQ(Plan(0).to_delete, 6);  // a finished run keeps nothing at K = 0
  EXPECT_EQ(Plan(10).to_delete, 0);
}

TEST_F(RetentionPolicyTest, NeverDeletesAPinnedCheckpoint) {
  server::Run a = testing::AddRun(*runs_, "a");
  File(a, 100, 10, /*pinned=*/true);
  File(a, 200);
  File(a, 300);
  auto v = Verdicts(Plan(1));
  EXPECT_EQ(v["a/step100"], "pinned");
  EXPECT_EQ(v["a/step200"], "delete");
  EXPECT_EQ(v["a/step300"], "one of the newest 1 of its run");
  // A pinned checkpoint does not count towards K: the newest unpinned one is still kept.
  EXPECT_EQ(Verdicts(Plan(0))["a/step100"], "pinned");
}

TEST_F(RetentionPolicyTest, KeepsCheckpointsOtherRunsWereForkedFrom) {
  server::Run a = testing::AddRun(*runs_, "a");
  Checkpoint fork_point = File(a, 100);
  File(a, 200);
  File(a, 300);
  testing::AddRun(*runs_, "a-fork1", json::object(), "", fork_point.id);
  testing::AddRun(*runs_, "a-fork2", json::object(), "", fork_point.id);
  auto v = Verdicts(Plan(1));
  EXPECT_EQ(v["a/step100"], "parent of run a-fork1; parent of run a-fork2");
  EXPECT_EQ(v["a/step200"], "delete");
}

TEST_F(RetentionPolicyTest, KeepsWhatAnUnfinishedJobStartsFromOrEvaluates) {
  server::Run a = testing::AddRun(*runs_, "a");
  Checkpoint evaluated = File(a, 100);
  Checkpoint started = File(a, 200);
  File(a, 300);
  json eval_spec = {{"kind", "eval"},
                    {"init_checkpoint", {{"name", evaluated.name}, {"uri", evaluated.uri}}}};
  auto eval = jobs_->CreateJob(NewJob{a.id, "", JobKind::kEval, eval_spec.dump(), 3});
  ASSERT_TRUE(eval.ok()) << eval.status();
  // A train job of another run whose spec starts from a.step200 (e.g. a sweep with start_from
  // whose run row was made by hand): matched by URI.
  server::Run b = testing::AddRun(*runs_, "b");
  json train_spec = {{"kind", "train"},
                     {"init_checkpoint", {{"name", started.name}, {"uri", started.uri}}}};
  auto train = jobs_->CreateJob(NewJob{b.id, "", JobKind::kTrain, train_spec.dump(), 3});
  ASSERT_TRUE(train.ok()) << train.status();

  auto v = Verdicts(Plan(0));
  EXPECT_EQ(v["a/step100"], "input of eval job " + std::to_string(eval->id.value));
  EXPECT_EQ(v["a/step200"], "input of train job " + std::to_string(train->id.value));
  EXPECT_EQ(v["a/step300"], "delete");

  // Once those jobs have ended, their inputs are ordinary checkpoints again.
  ASSERT_TRUE(jobs_->CancelJobs(std::nullopt, "").ok());
  v = Verdicts(Plan(0));
  EXPECT_EQ(v["a/step100"], "delete");
  EXPECT_EQ(v["a/step200"], "delete");
}

TEST_F(RetentionPolicyTest, KeepsTheNewestCheckpointOfARunningOrQueuedRun) {
  server::Run running = testing::AddRun(*runs_, "running");
  ASSERT_TRUE(runs_->SetRunStatus(running.id, RunStatus::kRunning).ok());
  File(running, 100);
  File(running, 200);
  server::Run queued =
      testing::AddRun(*runs_, "queued");  // a retry waits: it resumes from its newest
  File(queued, 100);
  File(queued, 200);
  ASSERT_TRUE(jobs_->CreateJob(NewJob{queued.id, "", JobKind::kTrain, "{}", 3}).ok());
  server::Run done = testing::AddRun(*runs_, "done");
  ASSERT_TRUE(runs_->SetRunStatus(done.id, RunStatus::kSucceeded).ok());
  File(done, 100);

  const std::string resume = "newest of a running or queued run (its resume point)";
  EXPECT_EQ(Verdicts(Plan(0)), (std::map<std::string, std::string>{{"running/step100", "delete"},
                                                                   {"running/step200", resume},
                                                                   {"queued/step100", "delete"},
                                                                   {"queued/step200", resume},
                                                                   {"done/step100", "delete"}}));
}

TEST_F(RetentionPolicyTest, NeverTouchesCheckpointsWithoutAStoredFile) {
  server::Run diary = testing::AddRun(*runs_, "diary");
  testing::AddCheckpoint(*runs_, diary.id, "step0200000-ep014-loss4.902", 200000);  // uri ""
  NewCheckpoint relative;
  relative.run = diary.id;
  relative.name = "step0300000";
  relative.step = 300000;
  relative.uri = "step0300000.pt";  // a file name from a diary: not a path retention wrote
  ASSERT_TRUE(runs_->RegisterCheckpoint(relative).ok());
  auto v = Verdicts(Plan(0));
  EXPECT_EQ(v["diary/step0200000-ep014-loss4.902"], "no stored file");
  EXPECT_EQ(v["diary/step0300000"], "no stored file");
  EXPECT_EQ(Plan(0).to_delete, 0);
}

TEST_F(RetentionPolicyTest, ScopesToOneRunOrOneSweep) {
  server::Run a = testing::AddRun(*runs_, "a", json::object(), "sweep-1");
  server::Run b = testing::AddRun(*runs_, "b", json::object(), "sweep-2");
  File(a, 100);
  File(a, 200);
  File(b, 100);
  File(b, 200);
  RetentionOptions only_a;
  only_a.keep_last = 1;
  only_a.run = a.id;
  EXPECT_EQ(Verdicts(Plan(only_a)),
            (std::map<std::string, std::string>{{"a/step100", "delete"},
                                                {"a/step200", "one of the newest 1 of its run"}}));
  RetentionOptions only_sweep_2;
  only_sweep_2.keep_last = 0;
  only_sweep_2.sweep = "sweep-2";
  EXPECT_EQ(Verdicts(Plan(only_sweep_2)),
            (std::map<std::string, std::string>{{"b/step100", "delete"}, {"b/step200", "delete"}}));
}

TEST_F(RetentionPolicyTest, DeletedAndHeldCheckpointsAreNotPlannedAgain) {
  server::Run a = testing::AddRun(*runs_, "a");
  Checkpoint c100 = File(a, 100);
  Checkpoint c200 = File(a, 200);
  File(a, 300);
  NewJob retention;
  retention.kind = JobKind::kRetention;
  retention.spec_json = R"({"kind": "retention"})";
  auto job = jobs_->CreateJob(retention);
  ASSERT_TRUE(job.ok()) << job.status();
  const CheckpointId both[] = {c100.id, c200.id};
  ASSERT_TRUE(jobs_->HoldCheckpointsForDeletion(job->id, both).ok());
  const CheckpointDeletion report[] = {{c100.id, CheckpointDeletion::Result::kDeleted, "", 1000}};
  ASSERT_TRUE(jobs_->RecordCheckpointDeletions(job->id, report).ok());

  // step100 is deleted (not in the plan), step200 is held by the job: kept here and not counted
  // towards K, so step300 stays the newest.
  auto v = Verdicts(Plan(1));
  EXPECT_EQ(v, (std::map<std::string, std::string>{
                   {"a/step200", "being deleted by job " + std::to_string(job->id.value)},
                   {"a/step300", "one of the newest 1 of its run"}}));
}

// uri -> bytes of a list of gallery files.
std::map<std::string, int64_t> Files(const std::vector<GalleryFile>& files) {
  std::map<std::string, int64_t> out;
  for (const GalleryFile& f : files) out[f.uri] = f.bytes;
  return out;
}

TEST_F(RetentionPolicyTest, GalleriesGoWithTheirCheckpointAndCountTowardsTheBytes) {
  server::Run a = testing::AddRun(*runs_, "a");
  Checkpoint c100 = File(a, 100);
  Checkpoint c200 = File(a, 200);
  Checkpoint c300 = File(a, 300);
  // step100: bbox and segm of one pass name the same two files; a second eval job of the same
  // settings wrote two more elsewhere (pass 1). step200: no evaluation. step300 (kept): its own.
  for (IouType iou : {IouType::kBbox, IouType::kSegm}) {
    testing::AddGalleryEval(*runs_, a.id, c100.id, "file:///w/evals/1/g", {30, 20}, iou);
    testing::AddGalleryEval(*runs_, a.id, c100.id, "file:///w/evals/2/g", {31, 21}, iou);
  }
  testing::AddGalleryEval(*runs_, a.id, c300.id, "file:///w/a/g300", {40});
  testing::AddGalleryEval(*runs_, a.id, std::nullopt, "file:///w/a/g-none", {50});

  RetentionPlan plan = Plan(1);
  EXPECT_EQ(Verdicts(plan),
            (std::map<std::string, std::string>{{"a/step100", "delete"},
                                                {"a/step200", "delete"},
                                                {"a/step300", "one of the newest 1 of its run"}}));
  ASSERT_EQ(plan.verdicts.size(), 3u);
  EXPECT_EQ(Files(plan.verdicts[0].gallery),
            (std::map<std::string, int64_t>{{"file:///w/evals/1/g/000001.jpg", 30},
                                            {"file:///w/evals/1/g/000002.jpg", 20},
                                            {"file:///w/evals/2/g/000001.jpg", 31},
                                            {"file:///w/evals/2/g/000002.jpg", 21}}));
  EXPECT_EQ(plan.verdicts[0].gallery.size(), 4u);  // once per file, not per bbox/segm row
  EXPECT_EQ(plan.verdicts[0].GalleryBytes(), 102);
  EXPECT_TRUE(plan.verdicts[1].gallery.empty());
  EXPECT_TRUE(plan.verdicts[2].gallery.empty());  // kept: its gallery stays
  EXPECT_TRUE(plan.leftover_gallery.empty());
  EXPECT_EQ(plan.to_delete, 2);
  EXPECT_EQ(plan.gallery_files, 4);
  EXPECT_EQ(plan.gallery_bytes, 102);
  EXPECT_EQ(plan.bytes_to_free, 2000 + 102);
}

// A file named by a row of a kept checkpoint's evaluation (or of no checkpoint) stays, even when
// a candidate's evaluation names it too.
TEST_F(RetentionPolicyTest, AFileAKeptEvaluationNamesStays) {
  server::Run a = testing::AddRun(*runs_, "a");
  Checkpoint c100 = File(a, 100);
  Checkpoint c200 = File(a, 200);
  testing::AddGalleryEval(*runs_, a.id, c100.id, "file:///w/shared", {10, 11});
  testing::AddGalleryEval(*runs_, a.id, c200.id, "file:///w/shared", {10});
  RetentionPlan plan = Plan(1);
  ASSERT_EQ(Verdicts(plan)["a/step100"], "delete");
  EXPECT_EQ(Files(plan.verdicts[0].gallery),
            (std::map<std::string, int64_t>{{"file:///w/shared/000002.jpg", 11}}));
  EXPECT_EQ(plan.gallery_files, 1);
}

// Gallery files of a checkpoint deleted earlier (an evaluation recorded after the hold, or files
// an older worker left) are planned as leftovers, within the scope; files another job holds are
// not planned.
TEST_F(RetentionPolicyTest, LeftoverGalleriesOfDeletedCheckpointsArePlanned) {
  server::Run a = testing::AddRun(*runs_, "a");
  server::Run b = testing::AddRun(*runs_, "b");
  Checkpoint c100 = File(a, 100);
  File(a, 200);
  Checkpoint b100 = File(b, 100);
  File(b, 200);
  NewJob retention;
  retention.kind = JobKind::kRetention;
  retention.spec_json = R"({"kind": "retention"})";
  auto job = jobs_->CreateJob(retention);
  ASSERT_TRUE(job.ok()) << job.status();
  const CheckpointId both[] = {c100.id, b100.id};
  ASSERT_TRUE(jobs_->HoldCheckpointsForDeletion(job->id, both).ok());
  const CheckpointDeletion report[] = {{c100.id, CheckpointDeletion::Result::kDeleted, "", 1000},
                                       {b100.id, CheckpointDeletion::Result::kDeleted, "", 1000}};
  ASSERT_TRUE(jobs_->RecordCheckpointDeletions(job->id, report).ok());
  testing::AddGalleryEval(*runs_, a.id, c100.id, "file:///w/a/late", {7, 8});
  testing::AddGalleryEval(*runs_, b.id, b100.id, "file:///w/b/late", {9});

  RetentionPlan plan = Plan(1);
  EXPECT_EQ(plan.to_delete, 0);
  EXPECT_EQ(Files(plan.leftover_gallery),
            (std::map<std::string, int64_t>{{"file:///w/a/late/000001.jpg", 7},
                                            {"file:///w/a/late/000002.jpg", 8},
                                            {"file:///w/b/late/000001.jpg", 9}}));
  EXPECT_EQ(plan.gallery_files, 3);
  EXPECT_EQ(plan.bytes_to_free, 24);

  RetentionOptions only_b;
  only_b.keep_last = 1;
  only_b.run = b.id;
  EXPECT_EQ(Files(Plan(only_b).leftover_gallery),
            (std::map<std::string, int64_t>{{"file:///w/b/late/000001.jpg", 9}}));

  // Another job holds a's leftovers: only b's are planned now.
  auto other = jobs_->CreateJob(retention);
  ASSERT_TRUE(other.ok());
  const std::string a_files[] = {"file:///w/a/late/000001.jpg", "file:///w/a/late/000002.jpg"};
  auto held = jobs_->HoldGalleryFilesForDeletion(other->id, a_files);
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(held->size(), 2u);
  EXPECT_EQ(Files(Plan(1).leftover_gallery),
            (std::map<std::string, int64_t>{{"file:///w/b/late/000001.jpg", 9}}));
}

TEST_F(RetentionPolicyTest, NegativeKeepLastIsInvalidArgument) {
  auto inputs = LoadRetentionInputs(*runs_, *jobs_);
  ASSERT_TRUE(inputs.ok());
  RetentionOptions o;
  o.keep_last = -1;
  auto plan = PlanRetention(*inputs, o);
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(plan.status().message(), "keep_last must be >= 0 (checkpoints kept per run), got -1");
}

}  // namespace
}  // namespace ablate::server
