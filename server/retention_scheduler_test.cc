// Retention jobs (RetentionScheduler, driven through JobScheduler's submit, lease and complete as
// the coordinator drives it), over a real SQLite file with a FakeClock: planning at lease time,
// holds against pin/fork/eval races, applying a worker's report, retries, cancellation, and the
// sweep-end automation.
#include <gtest/gtest.h>

#include "server/job_scheduler.h"
#include "server/refs.h"
#include "server/sqlite_job_store.h"
#include "server/test_util.h"
#include "server/train_config_validator.h"

namespace ablate::server {
namespace {

using nlohmann::json;
using Result = CheckpointDeletion::Result;

class RetentionSchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(JobSchedulerOptions{}); }

  void Open(JobSchedulerOptions o) {
    runs_ = testing::OpenTestStore(&clock_);
    ASSERT_NE(runs_, nullptr);
    jobs_ = std::make_unique<SqliteJobStore>(*runs_, clock_);
    o.lease_ttl_ms = 10'000;
    o.max_attempts = 2;
    scheduler_ = std::make_unique<JobScheduler>(*runs_, *jobs_, ValidateTrainConfig, o);
    auto w = scheduler_->RegisterWorker("w1", "host", 1, "cpu");
    ASSERT_TRUE(w.ok());
    w1_ = w->id;
  }

  // A finished run with a config that can be forked and evaluated, and file checkpoints at the
  // given steps (1000 bytes each).
  server::Run FinishedRun(const std::string& name, std::vector<int64_t> steps,
                          const std::string& sweep = "") {
    json config = {{"preset", "tiny"},
                   {"set", json::object()},
                   {"data", {{"train", "/d/train.json"}, {"val", "/d/val.json"}}},
                   {"steps", 100}};
    server::Run run = testing::AddRun(*runs_, name, config, sweep);
    EXPECT_TRUE(runs_->SetRunStatus(run.id, RunStatus::kSucceeded).ok());
    for (int64_t step : steps) {
      NewCheckpoint c;
      c.run = run.id;
      c.name = "step" + std::to_string(step);
      c.step = step;
      c.uri = "file:///w/" + name + "/" + c.name + ".pt";
      c.bytes = 1000;
      EXPECT_TRUE(runs_->RegisterCheckpoint(c).ok());
    }
    return run;
  }

  Checkpoint Ck(const std::string& ref) {
    auto c = ResolveCheckpointRef(*runs_, ref);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *c : Checkpoint{};
  }

  RetentionSubmission Submit(std::optional<int> keep_last, bool dry_run = false,
                             const std::string& run = "") {
    auto r = scheduler_->SubmitRetention(keep_last, run, "", dry_run);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : RetentionSubmission{};
  }

  LeasedJob Lease() {
    auto l = scheduler_->LeaseJob(w1_);
    EXPECT_TRUE(l.ok()) << l.status();
    EXPECT_TRUE(l.ok() && l->has_value());
    return l.ok() && l->has_value() ? **l : LeasedJob{};
  }

  // "run/name" of every file a leased retention job must delete.
  static std::vector<std::string> DeleteList(const LeasedJob& leased) {
    std::vector<std::string> out;
    const json spec = json::parse(leased.spec_json);  // outlives the loop (unlike a temporary)
    for (const auto& e : spec["delete"]) {
      out.push_back(e["run"].get<std::string>() + "/" + e["name"].get<std::string>());
    }
    return out;
  }

  FakeClock clock_;
  std::unique_ptr<SqliteRunStore> runs_;
  std::unique_ptr<SqliteJobStore> jobs_;
  std::unique_ptr<JobScheduler> scheduler_;
  WorkerId w1_;
};

TEST_F(RetentionSchedulerTest, DryRunPlansAndQueuesNothing) {
  FinishedRun("a", {100, 200, 300});
  RetentionSubmission s = Submit(1, /*dry_run=*/true);
  EXPECT_FALSE(s.job.has_value());
  EXPECT_EQ(s.plan.to_delete, 2);
  EXPECT_EQ(s.plan.bytes_to_free, 2000);
  EXPECT_FALSE(scheduler_->LeaseJob(w1_)->has_value());
  // The server's default K (2) when the request does not say.
  EXPECT_EQ(Submit(std::nullopt, true).plan.keep_last, 2);
  EXPECT_EQ(Submit(std::nullopt, true).plan.to_delete, 1);
}

TEST_F(RetentionSchedulerTest, BadRequestsAreClearErrors) {
  auto neg = scheduler_->SubmitRetention(-1, "", "", false);
  EXPECT_EQ(neg.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(neg.status().message(), "keep_last must be >= 0 (checkpoints kept per run), got -1");
  auto run = scheduler_->SubmitRetention(1, "nope", "", false);
  EXPECT_EQ(run.status().code(), absl::StatusCode::kNotFound);
  auto sweep = scheduler_->SubmitRetention(1, "", "nope", false);
  EXPECT_EQ(sweep.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(sweep.status().message(), "sweep 'nope' not found");
  EXPECT_TRUE(scheduler_->ListJobs(JobFilter{})->empty());
}

TEST_F(RetentionSchedulerTest, TheLeaseFixesAndHoldsTheListThenTheReportIsApplied) {
  FinishedRun("a", {100, 200, 300, 400});
  RetentionSubmission s = Submit(1);
  ASSERT_TRUE(s.job.has_value());
  EXPECT_EQ(s.job->kind, JobKind::kRetention);
  EXPECT_EQ(s.job->run.value, 0);
  LeasedJob leased = Lease();
  EXPECT_EQ(leased.job.id.value, s.job->id.value);
  EXPECT_EQ(DeleteList(leased), (std::vector<std::string>{"a/step100", "a/step200", "a/step300"}));
  EXPECT_EQ(json::parse(leased.spec_json)["delete"][0]["uri"], "file:///w/a/step100.pt");

  // Held: pin, fork, eval and resolve-for-use are refused, naming the checkpoint and the job.
  const std::string job = std::to_string(s.job->id.value);
  auto pin = runs_->SetCheckpointPinned(Ck("a/step200").id, true);
  EXPECT_EQ(pin.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(pin.status().message(), "cannot pin checkpoint a/step200: retention job " + job +
                                        " is deleting its file (see `ablate jobs`)");
  auto fork = scheduler_->ForkRun("a/step200", {}, 10, false, "");
  EXPECT_EQ(fork.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(fork.status().message(),
            "checkpoint a/step200 is being deleted by retention job " + job);
  EXPECT_EQ(scheduler_->EvaluateCheckpoint("a/step200", {}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(runs_->SetCheckpointPinned(Ck("a/step400").id, true).ok());  // not held

  // The worker deleted one, found one gone, failed one.
  const CheckpointDeletion report[] = {
      {Ck("a/step100").id, Result::kDeleted, "", 1000},
      {Ck("a/step200").id, Result::kMissing, "", 0},
      {Ck("a/step300").id, Result::kFailed, "permission denied", 0},
  };
  auto done = scheduler_->CompleteJob(leased.lease.id, JobOutcome::kSucceeded, "", report);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->job.state, JobState::kSucceeded);
  EXPECT_EQ(json::parse(done->job.result_json),
            json::parse(R"({"deleted": 1, "missing": 1, "failed": 1, "ignored": 0,
                "bytes_freed": 1000, "gallery_deleted": 0, "gallery_missing": 0,
                "gallery_failed": 0, "gallery_ignored": 0, "gallery_bytes_freed": 0,
                "failures": [{"checkpoint": "a/step300", "reason": "permission denied"}]})"));

  // Rows stay, marked; the failed one is live again and can be pinned.
  Checkpoint c100 = Ck("a/step100");
  EXPECT_TRUE(c100.deleted());
  EXPECT_EQ(c100.deleted_by_job_id, s.job->id.value);
  EXPECT_EQ(c100.deleting_job_id, 0);
  EXPECT_TRUE(Ck("a/step200").deleted());
  EXPECT_FALSE(Ck("a/step300").deleted());
  EXPECT_EQ(Ck("a/step300").deleting_job_id, 0);
  EXPECT_TRUE(runs_->SetCheckpointPinned(Ck("a/step300").id, true).ok());
  EXPECT_EQ(runs_->ListCheckpoints(std::nullopt)->size(), 4u);

  // A deleted checkpoint: fork / eval / pin name it and the job that deleted it.
  fork = scheduler_->ForkRun("a/step100", {}, 10, false, "");
  EXPECT_EQ(fork.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(fork.status().message(),
            "checkpoint a/step100 was deleted by retention job " + job +
                ": its file is gone (the row is kept for lineage and evaluations)");
  EXPECT_EQ(scheduler_->EvaluateCheckpoint("a/step100", {}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(runs_->SetCheckpointPinned(c100.id, true).status().message(),
            "cannot pin checkpoint a/step100: its file was deleted by retention job " + job);
  EXPECT_TRUE(runs_->SetCheckpointPinned(c100.id, false).ok());  // unpinning is always fine
  // Nothing is planned for deleted rows again.
  EXPECT_EQ(Submit(0, true).plan.to_delete, 0);  // step300 and step400 are pinned now
}

TEST_F(RetentionSchedulerTest, PinOrForkBeforeTheLeaseWins) {
  FinishedRun("a", {100, 200, 300, 400});
  RetentionSubmission s = Submit(1);
  EXPECT_EQ(s.plan.to_delete, 3);  // the plan as of submission
  // Between submission and lease: a pin and a fork. The lease plans again and keeps both.
  ASSERT_TRUE(runs_->SetCheckpointPinned(Ck("a/step100").id, true).ok());
  auto fork = scheduler_->ForkRun("a/step200", {}, 10, false, "child");
  ASSERT_TRUE(fork.ok()) << fork.status();
  // Two jobs are queued: the fork (priority 0) and retention (priority 1, leased first).
  LeasedJob leased = Lease();
  ASSERT_EQ(leased.job.kind, JobKind::kRetention);
  EXPECT_EQ(DeleteList(leased), (std::vector<std::string>{"a/step300"}));
}

TEST_F(RetentionSchedulerTest, OnlyHeldCheckpointsAreMarkedAndOnlyForRetentionJobs) {
  FinishedRun("a", {100, 200, 300});
  Submit(2);
  LeasedJob leased = Lease();
  EXPECT_EQ(DeleteList(leased), (std::vector<std::string>{"a/step100"}));
  // A report naming a checkpoint the job does not hold changes nothing.
  const CheckpointDeletion report[] = {{Ck("a/step300").id, Result::kDeleted, "", 1000},
                                       {Ck("a/step100").id, Result::kDeleted, "", 1000}};
  auto done = scheduler_->CompleteJob(leased.lease.id, JobOutcome::kSucceeded, "", report);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_FALSE(Ck("a/step300").deleted());
  EXPECT_TRUE(Ck("a/step100").deleted());
  EXPECT_EQ(json::parse(done->job.result_json)["ignored"], 1);

  // Deletions reported for a train job are refused, and nothing is applied.
  server::Run b = FinishedRun("b", {});
  ASSERT_TRUE(runs_->SetRunStatus(b.id, RunStatus::kQueued).ok());
  ASSERT_TRUE(jobs_->CreateJob(NewJob{b.id, "", JobKind::kTrain, "{}", 2}).ok());
  LeasedJob train = Lease();
  const CheckpointDeletion bogus[] = {{Ck("a/step200").id, Result::kDeleted, "", 1}};
  auto refused = scheduler_->CompleteJob(train.lease.id, JobOutcome::kSucceeded, "", bogus);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(Ck("a/step200").deleted());
  EXPECT_EQ(jobs_->GetJob(train.job.id)->state, JobState::kLeased);  // not completed either
}

TEST_F(RetentionSchedulerTest, ARetryGetsTheSameListAndAFinalFailureReleasesTheHolds) {
  FinishedRun("a", {100, 200, 300});
  RetentionSubmission s = Submit(0);
  LeasedJob first = Lease();
  ASSERT_EQ(DeleteList(first).size(), 3u);
  // The worker deleted step100 and died before reporting: the lease expires, the job is queued
  // again with its holds (nothing can be pinned or forked meanwhile).
  clock_.AdvanceMs(10'001);
  EXPECT_EQ(runs_->SetCheckpointPinned(Ck("a/step300").id, true).status().code(),
            absl::StatusCode::kFailedPrecondition);
  LeasedJob second = Lease();
  EXPECT_EQ(second.job.id.value, s.job->id.value);
  EXPECT_EQ(second.job.attempts, 2);
  EXPECT_EQ(DeleteList(second), DeleteList(first));
  // The second attempt reports step100 missing and step200 deleted, then fails for good.
  const CheckpointDeletion report[] = {{Ck("a/step100").id, Result::kMissing, "", 0},
                                       {Ck("a/step200").id, Result::kDeleted, "", 1000}};
  auto done = scheduler_->CompleteJob(second.lease.id, JobOutcome::kFailed, "disk error", report);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_FALSE(done->will_retry);
  EXPECT_TRUE(Ck("a/step100").deleted());
  EXPECT_TRUE(Ck("a/step200").deleted());
  // step300 was never reported: released, live, pinnable.
  EXPECT_FALSE(Ck("a/step300").deleted());
  EXPECT_EQ(Ck("a/step300").deleting_job_id, 0);
  EXPECT_TRUE(runs_->SetCheckpointPinned(Ck("a/step300").id, true).ok());
}

// Galleries (docs/retention.md "Galleries"): the lease holds and lists the gallery files of the
// held checkpoints' evaluations (once per file), the report marks every row of a file, a kept
// checkpoint's gallery is not touched, a retry gets the same files, and what was never reported
// is released when the job ends.
TEST_F(RetentionSchedulerTest, GalleryFilesAreHeldListedAndMarkedWithTheirCheckpoints) {
  server::Run a = FinishedRun("a", {100, 200, 300});
  for (IouType iou : {IouType::kBbox, IouType::kSegm}) {
    testing::AddGalleryEval(*runs_, a.id, Ck("a/step100").id, "file:///w/a/g100", {30, 20}, iou);
    testing::AddGalleryEval(*runs_, a.id, Ck("a/step200").id, "file:///w/a/g200", {40}, iou);
    testing::AddGalleryEval(*runs_, a.id, Ck("a/step300").id, "file:///w/a/g300", {50}, iou);
  }
  RetentionSubmission s = Submit(1);
  EXPECT_EQ(s.plan.gallery_files, 3);
  EXPECT_EQ(s.plan.gallery_bytes, 90);
  EXPECT_EQ(s.plan.bytes_to_free, 2090);
  LeasedJob first = Lease();
  const json spec = json::parse(first.spec_json);
  EXPECT_EQ(spec["delete_gallery"], json::parse(R"([
      {"checkpoint_id": 1, "run": "a", "checkpoint": "step100", "image_id": 1,
       "uri": "file:///w/a/g100/000001.jpg", "bytes": 30},
      {"checkpoint_id": 1, "run": "a", "checkpoint": "step100", "image_id": 2,
       "uri": "file:///w/a/g100/000002.jpg", "bytes": 20},
      {"checkpoint_id": 2, "run": "a", "checkpoint": "step200", "image_id": 1,
       "uri": "file:///w/a/g200/000001.jpg", "bytes": 40}])"));
  // The worker dies before reporting: the retry gets the same list.
  clock_.AdvanceMs(10'001);
  LeasedJob second = Lease();
  EXPECT_EQ(json::parse(second.spec_json)["delete_gallery"], spec["delete_gallery"]);

  const CheckpointDeletion report[] = {{Ck("a/step100").id, Result::kDeleted, "", 1000},
                                       {Ck("a/step200").id, Result::kDeleted, "", 1000}};
  const GalleryFileDeletion gallery[] = {
      {"file:///w/a/g100/000001.jpg", Result::kDeleted, "", 30},
      {"file:///w/a/g100/000002.jpg", Result::kMissing, "", 0},
      {"file:///w/a/g300/000001.jpg", Result::kDeleted, "", 50},  // not held: ignored
  };  // g200/000001.jpg not reported (the worker stopped): released below
  auto done =
      scheduler_->CompleteJob(second.lease.id, JobOutcome::kFailed, "stopped", report, gallery);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_FALSE(done->will_retry);  // attempt 2 of 2
  const json result = json::parse(done->job.result_json);
  EXPECT_EQ(result["bytes_freed"], 2030);
  EXPECT_EQ(result["gallery_deleted"], 1);
  EXPECT_EQ(result["gallery_missing"], 1);
  EXPECT_EQ(result["gallery_failed"], 0);
  EXPECT_EQ(result["gallery_ignored"], 1);
  EXPECT_EQ(result["gallery_bytes_freed"], 30);

  EvaluationFilter f;
  f.run = a.id;
  auto evals = runs_->ListEvaluations(f);
  ASSERT_TRUE(evals.ok());
  ASSERT_EQ(evals->size(), 6u);
  for (const Evaluation& e : *evals) {  // bbox and segm rows alike
    ASSERT_TRUE(e.gallery.has_value());
    if (e.checkpoint_name == "step100") {
      EXPECT_TRUE(e.gallery->AllDeleted());
      EXPECT_EQ(e.gallery->DeletedByJob(), s.job->id.value);
      EXPECT_EQ(e.gallery->images[1].deleted_by_job_id, s.job->id.value);
      EXPECT_EQ(e.stats[0], 0.3);  // the numbers stay
    } else {
      EXPECT_FALSE(e.gallery->AllDeleted()) << e.checkpoint_name;
      EXPECT_EQ(e.gallery->images[0].deleting_job_id, 0) << e.checkpoint_name;  // released
    }
  }
  // step200's file stays live and is planned again (as a leftover: its checkpoint is gone).
  RetentionSubmission again = Submit(1, /*dry_run=*/true);
  ASSERT_EQ(again.plan.leftover_gallery.size(), 1u);
  EXPECT_EQ(again.plan.leftover_gallery[0].uri, "file:///w/a/g200/000001.jpg");

  // Gallery deletions reported for a train job are refused.
  server::Run b = FinishedRun("b", {});
  ASSERT_TRUE(runs_->SetRunStatus(b.id, RunStatus::kQueued).ok());
  ASSERT_TRUE(jobs_->CreateJob(NewJob{b.id, "", JobKind::kTrain, "{}", 2}).ok());
  LeasedJob train = Lease();
  const GalleryFileDeletion bogus[] = {{"file:///w/a/g300/000001.jpg", Result::kDeleted, "", 1}};
  auto refused = scheduler_->CompleteJob(train.lease.id, JobOutcome::kSucceeded, "", {}, bogus);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(RetentionSchedulerTest, ExpiryPastMaxAttemptsReleasesTheHolds) {
  FinishedRun("a", {100, 200});
  Submit(0);
  Lease();
  clock_.AdvanceMs(10'001);
  Lease();  // attempt 2 of 2
  clock_.AdvanceMs(10'001);
  EXPECT_FALSE(scheduler_->LeaseJob(w1_)->has_value());  // expires it: failed for good
  EXPECT_EQ(Ck("a/step100").deleting_job_id, 0);
  EXPECT_EQ(Ck("a/step200").deleting_job_id, 0);
}

TEST_F(RetentionSchedulerTest, CancellingALeasedJobKeepsItsHoldsUntilTheWorkerReports) {
  FinishedRun("a", {100, 200});
  RetentionSubmission s = Submit(0);
  LeasedJob leased = Lease();
  auto n = scheduler_->Cancel("", "", s.job->id.value);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 1);
  // The worker may be deleting right now: still held until it completes.
  EXPECT_EQ(Ck("a/step200").deleting_job_id, s.job->id.value);
  const LeaseId lease[] = {leased.lease.id};
  EXPECT_EQ(scheduler_->Heartbeat(w1_, lease)->size(), 1u);  // told to stop
  const CheckpointDeletion report[] = {{Ck("a/step100").id, Result::kDeleted, "", 1000}};
  auto done = scheduler_->CompleteJob(leased.lease.id, JobOutcome::kCancelled, "", report);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->job.state, JobState::kCancelled);
  EXPECT_TRUE(Ck("a/step100").deleted());  // what it did is recorded
  EXPECT_EQ(Ck("a/step200").deleting_job_id, 0);
  EXPECT_FALSE(Ck("a/step200").deleted());
  EXPECT_EQ(scheduler_->Cancel("", "", s.job->id.value).value(), 0);  // already ended
}

TEST_F(RetentionSchedulerTest, AQueuedRunResumesFromItsNewestFileNotADeletedOne) {
  server::Run a = FinishedRun("a", {100, 200, 300});
  RetentionSubmission s = Submit(1, false, "a");
  LeasedJob leased = Lease();
  EXPECT_EQ(DeleteList(leased), (std::vector<std::string>{"a/step100", "a/step200"}));
  const CheckpointDeletion report[] = {{Ck("a/step100").id, Result::kDeleted, "", 1000},
                                       {Ck("a/step200").id, Result::kDeleted, "", 1000}};
  ASSERT_TRUE(scheduler_->CompleteJob(leased.lease.id, JobOutcome::kSucceeded, "", report).ok());
  // A (hand-made) train job of the run resumes from step300, the newest file that exists.
  ASSERT_TRUE(runs_->SetRunStatus(a.id, RunStatus::kQueued).ok());
  ASSERT_TRUE(jobs_->CreateJob(NewJob{a.id, "", JobKind::kTrain, "{}", 2}).ok());
  LeasedJob train = Lease();
  EXPECT_EQ(json::parse(train.spec_json)["resume_checkpoint"]["name"], "step300");
  // ListJobs: newest first, filter by kind and id.
  JobFilter only_retention;
  only_retention.kind = JobKind::kRetention;
  auto list = scheduler_->ListJobs(only_retention);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id.value, s.job->id.value);
  EXPECT_EQ((*list)[0].state, JobState::kSucceeded);
  EXPECT_EQ(json::parse((*list)[0].spec_json)["scope"]["run"], "a");
  EXPECT_EQ(scheduler_->ListJobs(JobFilter{})->front().kind, JobKind::kTrain);
}

TEST_F(RetentionSchedulerTest, AutoRetentionRunsWhenASweepsLastJobEnds) {
  JobSchedulerOptions o;
  o.auto_retention_keep_last = 1;
  Open(o);
  server::Run a = FinishedRun("s-t00", {100, 200}, "s");
  server::Run b = FinishedRun("s-t01", {100, 200}, "s");
  server::Run other = FinishedRun("other", {100, 200});
  ASSERT_TRUE(jobs_->CreateJob(NewJob{a.id, "s", JobKind::kTrain, "{}", 2}).ok());
  ASSERT_TRUE(jobs_->CreateJob(NewJob{b.id, "s", JobKind::kTrain, "{}", 2}).ok());
  LeasedJob ja = Lease();
  LeasedJob jb = Lease();
  ASSERT_TRUE(scheduler_->CompleteJob(ja.lease.id, JobOutcome::kSucceeded, "").ok());
  JobFilter only_retention;
  only_retention.kind = JobKind::kRetention;
  EXPECT_TRUE(scheduler_->ListJobs(only_retention)->empty());  // the sweep is still running
  ASSERT_TRUE(scheduler_->CompleteJob(jb.lease.id, JobOutcome::kSucceeded, "").ok());
  auto queued = scheduler_->ListJobs(only_retention);
  ASSERT_EQ(queued->size(), 1u);
  EXPECT_EQ(json::parse((*queued)[0].spec_json),
            json::parse(R"({"kind": "retention", "keep_last": 1, "scope": {"sweep": "s"}})"));
  LeasedJob leased = Lease();
  EXPECT_EQ(DeleteList(leased), (std::vector<std::string>{"s-t00/step100", "s-t01/step100"}));
  (void)other;
}

}  // namespace
}  // namespace ablate::server
