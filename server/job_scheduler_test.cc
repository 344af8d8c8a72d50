// JobScheduler over a real SQLite file, with a FakeClock for lease expiry (no sleeping).
#include "server/job_scheduler.h"

#include <gtest/gtest.h>

#include <fstream>

#include "server/sqlite_job_store.h"
#include "server/test_util.h"
#include "server/train_config_validator.h"
#include "sweepspec/sweep_spec_examples.h"

namespace ablate::server {
namespace {

using nlohmann::json;

// The sweeps issue's pos/neg-threshold sweep: 12 trials.
constexpr const char* kSpec = sweepspec::testing::kIssueExample;

class JobSchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir =
        testing::FreshTempDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    SqliteRunStoreOptions options;
    options.path = (dir / "ablate.db").string();
    options.clock = &clock_;
    auto store = SqliteRunStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    runs_ = std::move(*store);
    jobs_ = std::make_unique<SqliteJobStore>(*runs_, clock_);
    JobSchedulerOptions o;
    o.lease_ttl_ms = 10'000;
    o.max_attempts = 2;
    scheduler_ = std::make_unique<JobScheduler>(*runs_, *jobs_, ValidateTrainConfig, o);
    auto w1 = scheduler_->RegisterWorker("w1", "host", 1, "cpu");
    auto w2 = scheduler_->RegisterWorker("w2", "host", 1, "cpu");
    ASSERT_TRUE(w1.ok() && w2.ok());
    w1_ = w1->id;
    w2_ = w2->id;
  }

  SubmitResult Submit(const std::string& spec = kSpec,
                      const std::vector<std::string>& overrides = {}) {
    auto r = scheduler_->SubmitSweep(spec, "spec.yaml", overrides, "/base", false);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : SubmitResult{};
  }

  LeasedJob Lease(WorkerId w) {
    auto l = scheduler_->LeaseJob(w);
    EXPECT_TRUE(l.ok()) << l.status();
    EXPECT_TRUE(l->has_value());
    return **l;
  }

  // Registers a checkpoint of `run` (uri empty: no stored file, like a diary import).
  void AddCheckpoint(RunId run, const std::string& name, int64_t step, const std::string& uri) {
    NewCheckpoint ck;
    ck.run = run;
    ck.name = name;
    ck.step = step;
    ck.uri = uri;
    auto r = runs_->RegisterCheckpoint(ck);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  int RunCount() {
    auto runs = runs_->ListRuns(RunFilter{});
    return runs.ok() ? static_cast<int>(runs->size()) : -1;
  }

  FakeClock clock_;
  std::unique_ptr<SqliteRunStore> runs_;
  std::unique_ptr<SqliteJobStore> jobs_;
  std::unique_ptr<JobScheduler> scheduler_;
  WorkerId w1_, w2_;
};

TEST_F(JobSchedulerTest, SubmitCreatesRunsAndJobsWithAbsoluteDataPaths) {
  SubmitResult r = Submit();
  EXPECT_EQ(r.sweep, "pos-neg-thresholds");
  ASSERT_EQ(r.trials.size(), 12u);
  EXPECT_EQ(r.trials[0].run_name, "pos-neg-thresholds-t00");
  EXPECT_EQ(RunCount(), 12);
  auto status = scheduler_->GetSweep("pos-neg-thresholds");
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->progress.total, 12);
  EXPECT_EQ(status->progress.queued, 12);
  EXPECT_EQ(status->sweep.max_parallel, 2);
  LeasedJob job = Lease(w1_);
  json spec = json::parse(job.spec_json);
  EXPECT_EQ(spec["data"]["train"], "/base/data/shapes/train.json");
  EXPECT_EQ(spec["steps"], 600);
  EXPECT_EQ(spec["set"]["pos_threshold"], 0.5);
  EXPECT_EQ(spec["eval"]["score_threshold"], 0.05);
  // Same file again: a new sweep with a suffix, not a clash.
  EXPECT_EQ(Submit().sweep, "pos-neg-thresholds-2");
}

TEST_F(JobSchedulerTest, BadSpecsStoreNothing) {
  auto r = scheduler_->SubmitSweep("name: x\nbase: [", "bad.yaml", {}, "", false);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  std::string with_bad_loss = kSpec;
  with_bad_loss.replace(with_bad_loss.find("[ce, focal]"), 11, "[ce, fokal]");
  r = scheduler_->SubmitSweep(with_bad_loss, "spec.yaml", {}, "", false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message()).find("fokal"), std::string::npos)
      << r.status().message();
  r = scheduler_->SubmitSweep(kSpec, "spec.yaml", {"base.set.lr=-1"}, "", false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message()).find("lr"), std::string::npos);
  r = scheduler_->SubmitSweep(kSpec, "spec.yaml", {"start_from=step0000600"}, "", false);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(r.status().message()).find("start_from"), std::string::npos);
  EXPECT_EQ(RunCount(), 0);
}

// base.set.init_from (a pretrained start) becomes absolute and carries the file's sha256, so a
// trial from other weights under the same path is a different config (not reused).
TEST_F(JobSchedulerTest, InitFromRecordsTheFileSha256) {
  const auto dir = testing::FreshTempDir("init_from_sha256");
  const auto weights = dir / "weights.pth";
  std::ofstream(weights) << "abc";
  const std::string spec =
      "name: pre\nbase: {preset: r50, set: {init_from: weights.pth}}\n"
      "data: {train: t.json, val: v.json}\nbudget: {steps: 10}\n";
  auto first = scheduler_->SubmitSweep(spec, "spec.yaml", {}, dir.string(), false);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->trials.size(), 1u);
  auto run = runs_->FindRunByName(first->trials[0].run_name);
  ASSERT_TRUE(run.ok()) << run.status();
  const json config = json::parse(run->config_json);
  EXPECT_EQ(config["set"]["init_from"], weights.string());
  // sha256("abc"), FIPS 180-2 appendix B.1.
  EXPECT_EQ(config["set"]["init_sha256"],
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  LeasedJob job = Lease(w1_);
  EXPECT_EQ(json::parse(job.spec_json)["set"]["init_sha256"], config["set"]["init_sha256"]);

  std::ofstream(weights) << "abd";  // other weights, same path
  auto second = scheduler_->SubmitSweep(spec, "spec.yaml", {}, dir.string(), false);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(second->trials[0].reused);
  EXPECT_NE(second->trials[0].fingerprint, first->trials[0].fingerprint);

  auto wrong = scheduler_->SubmitSweep(
      spec, "spec.yaml", {"base.set.init_sha256=" + std::string(64, 'a')}, dir.string(), false);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(std::string(wrong.status().message()).find("has sha256"), std::string::npos)
      << wrong.status();
}

TEST_F(JobSchedulerTest, DryRunStoresNothing) {
  auto r = scheduler_->SubmitSweep(kSpec, "spec.yaml", {}, "", /*dry_run=*/true);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->trials.size(), 12u);
  EXPECT_EQ(RunCount(), 0);
}

TEST_F(JobSchedulerTest, MaxParallelLimitsLeasedJobsOfASweep) {
  Submit();
  Lease(w1_);
  Lease(w2_);
  auto third = scheduler_->LeaseJob(w1_);
  ASSERT_TRUE(third.ok());
  EXPECT_FALSE(third->has_value());
}

TEST_F(JobSchedulerTest, ExpiredLeaseIsResumedFromTheLatestCheckpoint) {
  Submit();
  LeasedJob first = Lease(w1_);
  EXPECT_EQ(first.job.attempts, 1);
  // The trial registered a checkpoint at step 200, then its worker died.
  AddCheckpoint(first.job.run, "step0000200-ep003-loss4.000", 200,
                "file:///work/runs/a/step0000200-ep003-loss4.000.ckpt");
  clock_.AdvanceMs(5'000);
  std::vector<LeaseId> leases = {first.lease.id};
  auto stop = scheduler_->Heartbeat(w1_, leases);  // renewed: nothing to stop
  ASSERT_TRUE(stop.ok());
  EXPECT_TRUE(stop->empty());
  clock_.AdvanceMs(10'001);  // no heartbeat since: expired
  LeasedJob second = Lease(w2_);
  EXPECT_EQ(second.job.id.value, first.job.id.value);
  EXPECT_EQ(second.job.attempts, 2);
  json spec = json::parse(second.spec_json);
  EXPECT_EQ(spec["resume_checkpoint"]["name"], "step0000200-ep003-loss4.000");
  EXPECT_EQ(second.job.last_error, "lease expired: worker 'w1' stopped heartbeating");
  // The dead worker's late heartbeat is told to stop; its completion is refused.
  stop = scheduler_->Heartbeat(w1_, leases);
  ASSERT_TRUE(stop.ok());
  ASSERT_EQ(stop->size(), 1u);
  auto late = scheduler_->CompleteJob(first.lease.id, JobOutcome::kSucceeded, "");
  EXPECT_EQ(late.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(JobSchedulerTest, CrashesAreRetriedUntilMaxAttemptsThenTheRunFails) {
  Submit(kSpec, {"max_parallel=1"});
  LeasedJob a = Lease(w1_);
  auto r = scheduler_->CompleteJob(a.lease.id, JobOutcome::kFailed, "killed by signal 11");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->will_retry);
  EXPECT_EQ(runs_->GetRun(a.job.run)->status, RunStatus::kQueued);
  LeasedJob b = Lease(w2_);
  EXPECT_EQ(b.job.id.value, a.job.id.value);
  r = scheduler_->CompleteJob(b.lease.id, JobOutcome::kFailed, "killed by signal 9");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->will_retry);
  EXPECT_EQ(runs_->GetRun(a.job.run)->status, RunStatus::kFailed);
  EXPECT_EQ(r->job.last_error, "killed by signal 9");
}

TEST_F(JobSchedulerTest, AFailedJobGoesToAnotherWorkerFirst) {
  Submit();
  LeasedJob a = Lease(w1_);
  ASSERT_TRUE(
      scheduler_->CompleteJob(a.lease.id, JobOutcome::kFailed, "No space left on device").ok());
  // Within 2 x the lease TTL (20 s here) w1 gets the next trial, not the one it just failed ...
  clock_.AdvanceMs(19'000);
  LeasedJob b = Lease(w1_);
  EXPECT_NE(b.job.id.value, a.job.id.value);
  // ... while w2 takes the failed one at once.
  LeasedJob c = Lease(w2_);
  EXPECT_EQ(c.job.id.value, a.job.id.value);
  EXPECT_EQ(c.job.attempts, 2);
  EXPECT_EQ(c.job.last_error, "No space left on device");
}

TEST_F(JobSchedulerTest, ALoneWorkerRetriesItsFailedJobAfterTheHoldBack) {
  Submit(kSpec, {"max_parallel=1"});
  LeasedJob a = Lease(w1_);
  ASSERT_TRUE(scheduler_->CompleteJob(a.lease.id, JobOutcome::kFailed, "crash").ok());
  clock_.AdvanceMs(20'001);
  LeasedJob b = Lease(w1_);
  EXPECT_EQ(b.job.id.value, a.job.id.value);
  EXPECT_EQ(b.job.attempts, 2);
}

TEST_F(JobSchedulerTest, ReleasedJobsDoNotSpendAnAttempt) {
  Submit(kSpec, {"max_parallel=1"});
  LeasedJob a = Lease(w1_);
  auto r = scheduler_->CompleteJob(a.lease.id, JobOutcome::kReleased, "worker stopping");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->job.attempts, 0);
  EXPECT_EQ(Lease(w2_).job.attempts, 1);
}

TEST_F(JobSchedulerTest, DivergedAndSucceededSetTheRunStatus) {
  Submit();
  LeasedJob a = Lease(w1_);
  LeasedJob b = Lease(w2_);
  ASSERT_TRUE(scheduler_->CompleteJob(a.lease.id, JobOutcome::kDiverged, "loss is nan").ok());
  ASSERT_TRUE(scheduler_->CompleteJob(b.lease.id, JobOutcome::kSucceeded, "").ok());
  EXPECT_EQ(runs_->GetRun(a.job.run)->status, RunStatus::kDiverged);
  EXPECT_EQ(runs_->GetRun(b.job.run)->status, RunStatus::kSucceeded);
  auto s = scheduler_->GetSweep("pos-neg-thresholds");
  EXPECT_EQ(s->progress.diverged, 1);
  EXPECT_EQ(s->progress.succeeded, 1);
  EXPECT_EQ(s->progress.queued, 10);
}

TEST_F(JobSchedulerTest, CancelStopsRunningLeasesAndQueuedJobs) {
  Submit();
  LeasedJob a = Lease(w1_);
  auto n = scheduler_->Cancel("pos-neg-thresholds", "");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 12);
  std::vector<LeaseId> leases = {a.lease.id};
  auto stop = scheduler_->Heartbeat(w1_, leases);
  ASSERT_EQ(stop->size(), 1u);
  auto none = scheduler_->LeaseJob(w2_);
  EXPECT_FALSE(none->has_value());
  EXPECT_EQ(scheduler_->GetSweep("pos-neg-thresholds")->progress.cancelled, 12);
  EXPECT_EQ(scheduler_->Cancel("nope", "").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(JobSchedulerTest, IdenticalFinishedTrialsAreReusedNotRerun) {
  std::string one = kSpec;
  one.replace(one.find("[[0.5, 0.4], [0.5, 0.2], [0.6, 0.4], [1.1, 0.7]]"), 48, "[[0.5, 0.4]]");
  one.replace(one.find("[ce, focal]"), 11, "[ce]");
  Submit(one);
  LeasedJob a = Lease(w1_);
  ASSERT_TRUE(scheduler_->CompleteJob(a.lease.id, JobOutcome::kSucceeded, "").ok());
  SubmitResult again = Submit(one);
  ASSERT_EQ(again.trials.size(), 1u);
  EXPECT_TRUE(again.trials[0].reused);
  EXPECT_EQ(again.trials[0].run_name, a.job.run_name);
  EXPECT_FALSE(scheduler_->LeaseJob(w2_)->has_value());
  EXPECT_EQ(scheduler_->GetSweep(again.sweep)->progress.succeeded, 1);
  SubmitResult forced = Submit(one, {"rerun_finished=true"});
  EXPECT_FALSE(forced.trials[0].reused);
}

TEST_F(JobSchedulerTest, ForkAndEvaluateFromANamedCheckpoint) {
  Submit();
  LeasedJob a = Lease(w1_);
  AddCheckpoint(a.job.run, "step0000600-ep010-loss2.000", 600, "file:///w/ck.pt");
  ASSERT_TRUE(scheduler_->CompleteJob(a.lease.id, JobOutcome::kSucceeded, "").ok());

  auto fork =
      scheduler_->ForkRun("step0000600", {"conf_loss=focal", "focal_alpha=0.75"}, 300, true, "");
  ASSERT_TRUE(fork.ok()) << fork.status();
  EXPECT_EQ(fork->first.name, a.job.run_name + "-fork1");
  EXPECT_EQ(fork->first.parent_checkpoint_name, "step0000600-ep010-loss2.000");
  json spec = json::parse(fork->second.spec_json);
  EXPECT_EQ(spec["steps"], 900);
  EXPECT_EQ(spec["set"]["focal_alpha"], 0.75);
  EXPECT_EQ(spec["reset_optimizer"], true);
  EXPECT_EQ(spec["init_checkpoint"]["uri"], "file:///w/ck.pt");

  auto bad = scheduler_->ForkRun("step0000600", {"conf_loss=fokal"}, 300, false, "");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(scheduler_->ForkRun("step9999999", {}, 10, false, "").status().code(),
            absl::StatusCode::kNotFound);

  EvalOverrides o;
  o.score_threshold = 0.005;
  auto eval = scheduler_->EvaluateCheckpoint("step0000600", o);
  ASSERT_TRUE(eval.ok()) << eval.status();
  EXPECT_EQ(eval->first.name, a.job.run_name);
  EvalOverrides ten;
  ten.max_dets = 10;
  EXPECT_EQ(scheduler_->EvaluateCheckpoint("step0000600", ten).status().code(),
            absl::StatusCode::kInvalidArgument);
  json espec = json::parse(eval->second.spec_json);
  EXPECT_EQ(espec["kind"], "eval");
  EXPECT_EQ(espec["eval"]["score_threshold"], 0.005);
}

// A real COCO tree: two image folders travel, made absolute, into every job of the run,
// including the forks and evaluations made later from its record.
TEST_F(JobSchedulerTest, ImageFoldersReachTrainForkAndEvalJobs) {
  std::string spec = kSpec;
  const std::string data = "data: {train: data/shapes/train.json, val: data/shapes/val.json}";
  spec.replace(spec.find(data), data.size(),
               "data: {train: coco/annotations/instances_train2017.json, train_images: "
               "coco/train2017, val: coco/annotations/instances_val2017.json, val_images: "
               "/mnt/coco/val2017}");
  Submit(spec);
  LeasedJob a = Lease(w1_);
  const json expected = {{"train", "/base/coco/annotations/instances_train2017.json"},
                         {"train_images", "/base/coco/train2017"},
                         {"val", "/base/coco/annotations/instances_val2017.json"},
                         {"val_images", "/mnt/coco/val2017"}};
  EXPECT_EQ(json::parse(a.spec_json)["data"], expected);
  AddCheckpoint(a.job.run, "step0000600-ep010-loss2.000", 600, "file:///w/ck.pt");
  auto fork = scheduler_->ForkRun("step0000600", {}, 100, false, "");
  ASSERT_TRUE(fork.ok()) << fork.status();
  EXPECT_EQ(json::parse(fork->second.spec_json)["data"], expected);
  auto eval = scheduler_->EvaluateCheckpoint("step0000600", EvalOverrides{});
  ASSERT_TRUE(eval.ok()) << eval.status();
  EXPECT_EQ(json::parse(eval->second.spec_json)["data"], expected);
}

// Issue 12: `ablate fork file:PATH --config-from RUN`: a weights file that is not a registered
// checkpoint (an ImageNet ResNet, a reference YOLACT file, one of our files from elsewhere).
TEST_F(JobSchedulerTest, ForkFromAFileTakesAnotherRunsConfig) {
  Submit();
  LeasedJob a = Lease(w1_);
  const json data = json::parse(a.spec_json)["data"];

  auto fork = scheduler_->ForkRunFromFile("/weights/yolact_base_54_800000.pth", a.job.run_name,
                                          {"conf_loss=focal"}, 250, false, "");
  ASSERT_TRUE(fork.ok()) << fork.status();
  EXPECT_EQ(fork->first.name, "yolact_base_54_800000-fork1");
  EXPECT_FALSE(fork->first.parent_checkpoint.has_value());  // a root of the lineage
  EXPECT_EQ(json::parse(fork->first.config_json)["start_from"],
            "file:/weights/yolact_base_54_800000.pth");
  json spec = json::parse(fork->second.spec_json);
  EXPECT_EQ(spec["kind"], "train");
  EXPECT_EQ(spec["steps"], 250);  // not one of ours: from step 0
  EXPECT_EQ(spec["set"]["conf_loss"], "focal");
  EXPECT_EQ(spec["data"], data);
  EXPECT_EQ(spec["init_checkpoint"]["uri"], "file:///weights/yolact_base_54_800000.pth");
  EXPECT_EQ(spec["init_checkpoint"]["name"], "yolact_base_54_800000.pth");
  auto again = scheduler_->ForkRunFromFile("/weights/yolact_base_54_800000.pth", a.job.run_name, {},
                                           10, false, "");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->first.name, "yolact_base_54_800000-fork2");

  // One of our checkpoint files continues at the step its name carries.
  auto ours = scheduler_->ForkRunFromFile("/old/run/step0000600-ep010-loss2.000.pt", a.job.run_name,
                                          {}, 100, true, "from-old");
  ASSERT_TRUE(ours.ok()) << ours.status();
  json ours_spec = json::parse(ours->second.spec_json);
  EXPECT_EQ(ours_spec["steps"], 700);
  EXPECT_EQ(ours_spec["reset_optimizer"], true);

  const int runs_before = RunCount();
  EXPECT_EQ(
      scheduler_->ForkRunFromFile("weights.pth", a.job.run_name, {}, 10, false, "").status().code(),
      absl::StatusCode::kInvalidArgument);
  auto no_config = scheduler_->ForkRunFromFile("/w.pth", "", {}, 10, false, "");
  EXPECT_EQ(no_config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(no_config.status().message()).find("--config-from"), std::string::npos);
  EXPECT_EQ(scheduler_->ForkRunFromFile("/w.pth", "nope", {}, 10, false, "").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(
      scheduler_->ForkRunFromFile("/w.pth", a.job.run_name, {"conf_loss=fokal"}, 10, false, "")
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(scheduler_->ForkRunFromFile("/w.pth", a.job.run_name, {}, 10, false, "from-old")
                .status()
                .code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(RunCount(), runs_before);  // nothing stored by a refused fork
}

TEST_F(JobSchedulerTest, CheckpointsWithoutFilesCannotBeForked) {
  NewRun run;
  run.name = "diary-run";
  run.config = {{"conf_loss", "ohem"}};
  auto r = runs_->CreateRun(run);
  ASSERT_TRUE(r.ok());
  AddCheckpoint(r->value.id, "step0200000-ep014-loss4.902", 200000, "");
  auto fork = scheduler_->ForkRun("step0200000", {}, 100, false, "");
  EXPECT_EQ(fork.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(fork.status().message()).find("no stored weights file"), std::string::npos);
}

TEST_F(JobSchedulerTest, LineageFollowsForks) {
  Submit();
  LeasedJob a = Lease(w1_);
  AddCheckpoint(a.job.run, "step0000600-ep010-loss2.000", 600, "file:///w/ck.pt");
  auto fork = scheduler_->ForkRun("step0000600", {}, 100, false, "child");
  ASSERT_TRUE(fork.ok());
  AddCheckpoint(fork->first.id, "step0000700-ep011-loss1.900", 700, "file:///w/ck.pt");
  ASSERT_TRUE(scheduler_->ForkRun("child/step0000700", {}, 100, false, "grandchild").ok());
  auto tree = scheduler_->Lineage(std::string("grandchild"));
  ASSERT_TRUE(tree.ok()) << tree.status();
  ASSERT_EQ(tree->size(), 3u);
  EXPECT_EQ((*tree)[0].run.name, a.job.run_name);
  EXPECT_EQ((*tree)[1].run.name, "child");
  EXPECT_EQ((*tree)[2].run.name, "grandchild");
  EXPECT_EQ(scheduler_->Lineage(std::string("nope")).status().code(), absl::StatusCode::kNotFound);
}

// Issue 14: a sweep with its own trainer. Its keys are the program's (not ablate-train's); its
// command's {key}s are filled per trial, and an unknown one is refused before anything is stored.
TEST_F(JobSchedulerTest, TrainerSweepFillsTheCommandPerTrialAndForksKeepIt) {
  constexpr char kTrainer[] = R"(name: mine
base: {set: {my_own_knob: 3}}
trainer: {command: [python3, train.py, "--pos={pos_threshold}", "--knob={my_own_knob}"],
          output: summaries, iou: segm}
budget: {steps: 100}
parameters:
  pos_threshold: {values: [0.5, 0.6]}
)";
  SubmitResult r = Submit(kTrainer);
  ASSERT_EQ(r.trials.size(), 2u);
  LeasedJob job = Lease(w1_);
  json spec = json::parse(job.spec_json);
  EXPECT_EQ(spec["trainer"]["command"], json({"python3", "train.py", "--pos=0.5", "--knob=3"}));
  EXPECT_EQ(spec["trainer"]["output"], "summaries");
  EXPECT_EQ(spec["trainer"]["iou"], "segm");
  EXPECT_EQ(spec["set"], json({{"my_own_knob", 3}, {"pos_threshold", 0.5}}));

  auto bad = scheduler_->SubmitSweep(
      std::string(kTrainer).replace(std::string(kTrainer).find("{my_own_knob}"), 13, "{nope}"),
      "bad.yaml", {}, "", false);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message())
                .find("trainer.command[3] '--knob={nope}': '{nope}' is not a key of the trial's "
                      "config"),
            std::string::npos)
      << bad.status();
  EXPECT_EQ(RunCount(), 2);

  // A fork of a trainer run runs the trainer, with the new value in its command.
  AddCheckpoint(job.job.run, "step0000100-ep001-loss2.000", 100, "file:///w/mine-t00/ck.pdparams");
  auto fork = scheduler_->ForkRun("mine-t00/step0000100-ep001-loss2.000", {"pos_threshold=0.7"}, 50,
                                  false, "");
  ASSERT_TRUE(fork.ok()) << fork.status();
  json fspec = json::parse(fork->second.spec_json);
  EXPECT_EQ(fspec["trainer"]["command"], json({"python3", "train.py", "--pos=0.7", "--knob=3"}));
  EXPECT_EQ(fspec["init_checkpoint"]["uri"], "file:///w/mine-t00/ck.pdparams");
  // Re-scoring runs ablate-train, which cannot read the program's checkpoints.
  auto eval = scheduler_->EvaluateCheckpoint("mine-t00/step0000100-ep001-loss2.000", {});
  ASSERT_FALSE(eval.ok());
  EXPECT_EQ(eval.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace ablate::server
