// JobScheduler::ApplyEarlyStopping and JobStore::StopRun over a real SQLite file: what a stop
// does to the run and its job, how a running job's worker learns of it, and which evaluations
// count as rung results.
#include <gtest/gtest.h>

#include "server/job_scheduler.h"
#include "server/sqlite_job_store.h"
#include "server/test_util.h"
#include "server/train_config_validator.h"

namespace ablate::server {
namespace {

using nlohmann::json;

// Four trials; ASHA at rungs 100, 300 (900 is the last step).
constexpr char kSpec[] = R"(name: es
base: {preset: tiny}
data: {train: data/train.json, val: data/val.json}
budget: {steps: 900, checkpoint_every: 100, eval_every: 100}
max_parallel: 4
parameters:
  lr: [0.001, 0.002, 0.004, 0.008]
early_stop: {method: asha, metric: segm.AP, mode: max, grace_steps: 100, reduction_factor: 3}
)";

class JobSchedulerEarlyStopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runs_ = testing::OpenTestStore(&clock_);
    ASSERT_NE(runs_, nullptr);
    jobs_ = std::make_unique<SqliteJobStore>(*runs_, clock_);
    JobSchedulerOptions o;
    o.lease_ttl_ms = 10'000;
    scheduler_ = std::make_unique<JobScheduler>(*runs_, *jobs_, ValidateTrainConfig, o);
    auto w = scheduler_->RegisterWorker("w1", "host", 4, "cpu");
    ASSERT_TRUE(w.ok());
    worker_ = w->id;
  }

  SubmitResult Submit(const std::string& spec = kSpec) {
    auto r = scheduler_->SubmitSweep(spec, "spec.yaml", {}, "/base", false);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : SubmitResult{};
  }

  LeasedJob Lease() {
    auto l = scheduler_->LeaseJob(worker_);
    EXPECT_TRUE(l.ok() && l->has_value());
    return **l;
  }

  // What a worker's trial reports at `step`: a checkpoint and its segm evaluation (AP `ap`) with
  // the sweep's eval settings; then the coordinator's decision, as RecordEvaluation makes it.
  std::vector<StopDecision> Evaluate(const server::Run& run, int64_t step, double ap,
                                     double score_threshold = 0.05) {
    char name[32];
    std::snprintf(name, sizeof(name), "step%07lld", static_cast<long long>(step));
    Checkpoint ck = testing::AddCheckpoint(*runs_, run.id, name, step);
    testing::AddEval(*runs_, run.id, ck.id,
                     testing::Settings(score_threshold, "sha256:val", IouType::kSegm),
                     testing::StatsWithAp(ap));
    auto stops = scheduler_->ApplyEarlyStopping(run.id);
    EXPECT_TRUE(stops.ok()) << stops.status();
    return stops.ok() ? *stops : std::vector<StopDecision>{};
  }

  server::Run RunOf(const LeasedJob& j) { return *runs_->GetRun(j.job.run); }

  FakeClock clock_;
  std::unique_ptr<SqliteRunStore> runs_;
  std::unique_ptr<SqliteJobStore> jobs_;
  std::unique_ptr<JobScheduler> scheduler_;
  WorkerId worker_;
};

TEST_F(JobSchedulerEarlyStopTest, StopsARunningTrialAndItsWorkerIsToldToStop) {
  Submit();
  LeasedJob a = Lease(), b = Lease(), c = Lease();
  EXPECT_TRUE(Evaluate(RunOf(a), 100, 0.30).empty());  // n=1
  EXPECT_TRUE(Evaluate(RunOf(b), 100, 0.20).empty());  // n=2
  // n=3, keep 1, rank 3: stopped at rung 100.
  std::vector<StopDecision> stops = Evaluate(RunOf(c), 100, 0.10);
  ASSERT_EQ(stops.size(), 1u);
  EXPECT_EQ(stops[0].name, "es-t02");
  const std::string reason =
      "asha rung 100: segm.AP 0.1000 ranks 3 of 3 results seen there; only the top 1 continue "
      "(reduction_factor 3)";
  EXPECT_EQ(stops[0].reason, reason);

  server::Run stopped = RunOf(c);
  EXPECT_EQ(stopped.status, RunStatus::kStopped);
  EXPECT_EQ(stopped.stopped_at_step, 100);
  EXPECT_EQ(stopped.stop_reason, reason);
  auto job = jobs_->GetJob(c.job.id);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->state, JobState::kCancelled);
  EXPECT_EQ(job->last_error, reason);

  // The worker's next heartbeat names the lease to stop (as for `ablate cancel`); the others
  // keep theirs.
  LeaseId held[] = {a.lease.id, b.lease.id, c.lease.id};
  auto stop = scheduler_->Heartbeat(worker_, held);
  ASSERT_TRUE(stop.ok());
  ASSERT_EQ(stop->size(), 1u);
  EXPECT_EQ((*stop)[0].value, c.lease.id.value);
  // It completes the job as cancelled: the run stays stopped, nothing is retried.
  auto done = scheduler_->CompleteJob(c.lease.id, JobOutcome::kCancelled, "stopped");
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_FALSE(done->will_retry);
  EXPECT_EQ(RunOf(c).status, RunStatus::kStopped);
  EXPECT_EQ(RunOf(c).stopped_at_step, 100);

  // The fourth trial is the only job left to lease.
  LeasedJob d = Lease();
  EXPECT_EQ(RunOf(d).name, "es-t03");
  auto none = scheduler_->LeaseJob(worker_);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  auto sweep = scheduler_->GetSweep("es");
  ASSERT_TRUE(sweep.ok());
  EXPECT_EQ(sweep->progress.stopped, 1);
  EXPECT_EQ(sweep->progress.running, 3);
}

TEST_F(JobSchedulerEarlyStopTest, AFinishingOrFinishedTrialIsNotStopped) {
  Submit();
  LeasedJob a = Lease(), b = Lease(), c = Lease();
  EXPECT_TRUE(Evaluate(RunOf(a), 900, 0.30).empty());
  EXPECT_TRUE(Evaluate(RunOf(b), 900, 0.20).empty());
  // 900 is a rung (100 * 3^2) and c ranks 3 of 3 there, but it is the budget's last step: the
  // trial has finished training, so a result there stops nothing.
  EXPECT_TRUE(Evaluate(RunOf(c), 900, 0.01).empty());
  EXPECT_EQ(RunOf(c).status, RunStatus::kRunning);
  // A trial that already succeeded is never stopped, even if its results would stop it.
  ASSERT_TRUE(scheduler_->CompleteJob(c.lease.id, JobOutcome::kSucceeded, "").ok());
  Evaluate(RunOf(a), 100, 0.30);
  Evaluate(RunOf(b), 100, 0.20);
  EXPECT_TRUE(Evaluate(RunOf(c), 100, 0.01).empty());  // would rank 3 of 3 at rung 100
  EXPECT_EQ(RunOf(c).status, RunStatus::kSucceeded);
}

TEST_F(JobSchedulerEarlyStopTest, OnlyTheSweepsEvalSettingsAndIouTypeCount) {
  Submit();
  LeasedJob a = Lease(), b = Lease(), c = Lease();
  // Re-scorings with another score threshold are not rung results.
  EXPECT_TRUE(Evaluate(RunOf(a), 100, 0.30, /*score_threshold=*/0.005).empty());
  EXPECT_TRUE(Evaluate(RunOf(b), 100, 0.20, 0.005).empty());
  EXPECT_TRUE(Evaluate(RunOf(c), 100, 0.10, 0.005).empty());
  // bbox evaluations are not segm.AP.
  for (const LeasedJob* j : {&a, &b}) {
    Checkpoint ck = *runs_->FindCheckpointsByNamePrefix("step0000100", RunOf(*j).id)->begin();
    testing::AddEval(*runs_, RunOf(*j).id, ck.id, testing::Settings(0.05, "sha256:val"),
                     testing::StatsWithAp(0.9));
  }
  auto stops = scheduler_->ApplyEarlyStopping(RunOf(c).id);
  ASSERT_TRUE(stops.ok());
  EXPECT_TRUE(stops->empty());
  EXPECT_EQ(RunOf(c).status, RunStatus::kRunning);
}

TEST_F(JobSchedulerEarlyStopTest, SweepsWithoutARuleAndRunsWithoutASweepAreLeftAlone) {
  std::string spec = kSpec;
  spec.erase(spec.find("early_stop:"));
  Submit(spec);
  LeasedJob a = Lease(), b = Lease(), c = Lease();
  Evaluate(RunOf(a), 100, 0.30);
  Evaluate(RunOf(b), 100, 0.20);
  EXPECT_TRUE(Evaluate(RunOf(c), 100, 0.10).empty());
  EXPECT_EQ(RunOf(c).status, RunStatus::kRunning);
  server::Run lone = testing::AddRun(*runs_, "lone");
  auto stops = scheduler_->ApplyEarlyStopping(lone.id);
  ASSERT_TRUE(stops.ok());
  EXPECT_TRUE(stops->empty());
}

// A queued trial (e.g. waiting for a retry after a crash) with a bad rung result is stopped too,
// and its job is never leased again.
TEST_F(JobSchedulerEarlyStopTest, StopsAQueuedTrialBetweenAttempts) {
  Submit();
  LeasedJob a = Lease(), b = Lease(), c = Lease();
  Evaluate(RunOf(a), 100, 0.30);
  Evaluate(RunOf(b), 100, 0.20);
  ASSERT_TRUE(scheduler_->CompleteJob(c.lease.id, JobOutcome::kFailed, "segfault").ok());
  ASSERT_EQ(RunOf(c).status, RunStatus::kQueued);
  // Its evaluation from the crashed attempt arrives late (a retried RPC).
  ASSERT_EQ(Evaluate(RunOf(c), 100, 0.10).size(), 1u);
  EXPECT_EQ(RunOf(c).status, RunStatus::kStopped);
  LeasedJob d = Lease();
  EXPECT_EQ(RunOf(d).name, "es-t03");
  EXPECT_FALSE(scheduler_->LeaseJob(worker_)->has_value());
}

TEST_F(JobSchedulerEarlyStopTest, StoppedStatusIsOnlySetWithAStepAndAReason) {
  server::Run r = testing::AddRun(*runs_, "r");
  EXPECT_EQ(runs_->SetRunStatus(r.id, RunStatus::kStopped).status().message(),
            "status stopped is set by a sweep's early stopping, with the step and the reason; it "
            "cannot be set directly");
  EXPECT_EQ(runs_->MarkRunStopped(r.id, 100, "").status().message(),
            "a stopped run needs a reason");
  EXPECT_EQ(runs_->MarkRunStopped(r.id, -1, "x").status().message(), "stop step -1 is negative");
  EXPECT_EQ(runs_->MarkRunStopped(RunId{99}, 1, "x").status().code(), absl::StatusCode::kNotFound);
  NewRun born_stopped;
  born_stopped.name = "born-stopped";
  born_stopped.status = RunStatus::kStopped;
  EXPECT_EQ(runs_->CreateRun(born_stopped).status().message(),
            "a run cannot be created stopped: early stopping stops a trial, with the step and the "
            "reason");
  auto stopped = runs_->MarkRunStopped(r.id, 300, "why");
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(stopped->status, RunStatus::kStopped);
  // Leaving the status clears the stop.
  auto requeued = runs_->SetRunStatus(r.id, RunStatus::kQueued);
  ASSERT_TRUE(requeued.ok());
  EXPECT_FALSE(requeued->stopped_at_step.has_value());
  EXPECT_EQ(requeued->stop_reason, "");
  RunFilter f;
  f.statuses = {RunStatus::kStopped};
  ASSERT_TRUE(runs_->MarkRunStopped(r.id, 300, "why").ok());
  auto listed = runs_->ListRuns(f);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].stopped_at_step, 300);
}

}  // namespace
}  // namespace ablate::server
