// The scheduling core: turns sweeps, forks and re-evaluation requests into runs and jobs, and
// leases jobs to workers. Pure logic over RunStore + JobStore; SchedulerService adapts it to
// gRPC. Recovery is a named path: every lease call first expires dead leases, so a coordinator
// restarted on the same file simply carries on (leases granted before the restart stay valid
// until their expiry, and workers that reconnect renew them).
//
// Thread safety: safe from any thread (the stores serialise).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "protocol/job_spec.h"
#include "server/early_stopping.h"
#include "server/job_store.h"
#include "server/retention_scheduler.h"
#include "server/run_store.h"

namespace ablate::server {

struct JobSchedulerOptions {
  int64_t lease_ttl_ms = 20'000;          // a lease not renewed for this long expires
  int64_t heartbeat_interval_ms = 3'000;  // what workers are told to use
  int max_attempts = 3;                   // per job, crashes and lease expiries included
  // A job whose lease failed on a worker (a crash, a full or unwritable trial folder) is not
  // leased back to that worker for this long, so another worker retries it first; a lone worker
  // takes it again afterwards. Negative: twice lease_ttl_ms.
  int64_t retry_elsewhere_ms = -1;
  // keep_last of a retention request that does not say (docs/retention.md).
  int retention_keep_last = kDefaultRetentionKeepLast;
  // Set: when the last unfinished job of a sweep completes, queue a retention job for that
  // sweep's runs keeping this many checkpoints per run (`ablate server --retention-keep-last`).
  std::optional<int> auto_retention_keep_last;
};

// Checks a training config (preset + `--set` keys) the way ablate-train will: unknown key,
// unknown loss name, neg_threshold >= pos_threshold... InvalidArgument naming the key.
using TrainConfigValidator =
    std::function<Status(const std::string& preset, const nlohmann::json& set)>;

struct SubmittedTrial {
  int index = 0;
  std::string run_name;
  nlohmann::json params;
  std::string fingerprint;
  bool reused = false;  // an identical config already succeeded: linked, not run again
};

struct SubmitResult {
  std::string sweep;
  std::string spec_json;
  int max_parallel = 0;
  std::vector<SubmittedTrial> trials;
  int dropped_by_constraints = 0;
};

struct SweepProgressCounts {
  int total = 0, queued = 0, running = 0, succeeded = 0, failed = 0, cancelled = 0, diverged = 0,
      stopped = 0;
  // One more run in `status`: total and that status's count.
  void CountRun(RunStatus status);
};

struct TrialStatus {
  Run run;
  int64_t step = 0;
  int64_t total_steps = 0;
  std::optional<double> loss;
  std::optional<double> last_ap;  // bbox AP of the latest evaluation
  std::string worker;
  int attempts = 0;
  std::string last_error;
};

struct SweepStatus {
  SweepInfo sweep;
  SweepProgressCounts progress;
  std::vector<TrialStatus> trials;
};

struct LeasedJob {
  Job job;
  Lease lease;
  std::string spec_json;  // the stored spec plus resume_checkpoint, as the worker must run it
};

struct EvalOverrides {
  std::optional<double> score_threshold;
  std::optional<int> top_k;
  std::optional<double> nms_iou;
  std::optional<int> max_dets;
};

struct JobFilter {
  std::optional<JobId> id;
  std::optional<JobKind> kind;
  int limit = 50;  // the newest `limit` jobs; 0: all
};

struct LineageNode {
  Run run;
  std::optional<double> best_ap;
  std::vector<Checkpoint> checkpoints;
};

class JobScheduler {
 public:
  // The stores must outlive the scheduler.
  JobScheduler(RunStore& runs, JobStore& jobs, TrainConfigValidator validator,
               JobSchedulerOptions options)
      : runs_(runs),
        jobs_(jobs),
        validator_(std::move(validator)),
        options_(options),
        retention_(
            runs, jobs,
            RetentionSchedulerOptions{options.retention_keep_last, options.auto_retention_keep_last,
                                      options.max_attempts}) {}

  const JobSchedulerOptions& options() const { return options_; }

  // Validates the spec (file, key, problem in every error), resolves start_from, expands the
  // trials and stores the sweep, its runs and jobs in one transaction (nothing on error).
  // Relative data paths are resolved against `base_dir`. A sweep name already in use gets a
  // "-2", "-3"... suffix.
  StatusOr<SubmitResult> SubmitSweep(const std::string& spec_yaml, const std::string& source,
                                     const std::vector<std::string>& overrides,
                                     const std::string& base_dir, bool dry_run);

  // A new run from a checkpoint with config overrides ("KEY=VALUE"), training `steps` more
  // steps (0: as many as the parent's budget). NotFound / FailedPrecondition for the reference.
  StatusOr<std::pair<Run, Job>> ForkRun(const std::string& checkpoint_ref,
                                        const std::vector<std::string>& overrides, int64_t steps,
                                        bool reset_optimizer, const std::string& name);

  // A new run from a weights file that is not a registered checkpoint: one of our checkpoint
  // files, a torchvision ResNet state dict or a reference YOLACT checkpoint (ablate-train reads
  // all three, docs/coordinator.md "Forking a file"). `path` must be absolute; the file is read by
  // the worker, not here. The dataset, preset, eval settings, budget and trainer come from run
  // `config_from` (a name or id), with `overrides` applied; its `init_from` is dropped (the file
  // is the start). The new run has no parent checkpoint
  // (it is a root of the lineage) and records `start_from: "file:PATH"`. Training starts at the
  // step in the file's name when it is one of ours ("step0200000-ep014-loss4.902.pt"), else at
  // 0, and runs `steps` more (0: config_from's budget). Default name "<file stem>-forkN".
  // InvalidArgument for a relative path or a missing config_from; NotFound for an unknown run;
  // FailedPrecondition when that run records no dataset.
  StatusOr<std::pair<Run, Job>> ForkRunFromFile(const std::string& path,
                                                const std::string& config_from,
                                                const std::vector<std::string>& overrides,
                                                int64_t steps, bool reset_optimizer,
                                                const std::string& name);

  // An eval-only job for a checkpoint; its evaluation is recorded on the checkpoint's run.
  StatusOr<std::pair<Run, Job>> EvaluateCheckpoint(const std::string& checkpoint_ref,
                                                   const EvalOverrides& overrides);

  // Plans retention with `keep_last` (nullopt: options().retention_keep_last) over the checkpoints
  // of `run` / `sweep` (empty: every run) and, unless `dry_run`, queues a retention job that a
  // worker runs (RetentionScheduler::Submit). InvalidArgument for keep_last < 0; NotFound for an
  // unknown run or sweep.
  StatusOr<RetentionSubmission> SubmitRetention(std::optional<int> keep_last,
                                                const std::string& run, const std::string& sweep,
                                                bool dry_run) {
    return retention_.Submit(keep_last, run, sweep, dry_run);
  }
  // Jobs, newest first.
  StatusOr<std::vector<Job>> ListJobs(const JobFilter& filter);

  StatusOr<std::vector<SweepStatus>> ListSweeps();
  StatusOr<SweepStatus> GetSweep(const std::string& name_or_id);
  // Cancels the unfinished jobs of a sweep or a run, or one job (job > 0); returns how many.
  StatusOr<int> Cancel(const std::string& sweep, const std::string& run, int64_t job = 0);

  StatusOr<WorkerInfo> RegisterWorker(const std::string& name, const std::string& host, int slots,
                                      const std::string& device);
  // Expires dead leases, then leases the next job and prepares its spec in one transaction. A
  // train job gets the run's newest checkpoint whose file still exists as resume_checkpoint; a
  // retention job gets its list of files (RetentionScheduler::PrepareLease): what it already
  // holds from an earlier attempt, or else the current plan, held for it in this same
  // transaction (docs/retention.md).
  StatusOr<std::optional<LeasedJob>> LeaseJob(WorkerId worker);
  StatusOr<std::vector<LeaseId>> Heartbeat(WorkerId worker, std::span<const LeaseId> leases);
  // Completes a lease. `deletions` and `gallery_deletions` (retention jobs only;
  // InvalidArgument otherwise) are applied in the same transaction, only to checkpoints and
  // gallery files the job holds; the job's result_json adds them up over its attempts
  // (RetentionScheduler::ApplyReport, AddToResult). When the job ended for good and it was the
  // last unfinished one of its sweep, queues the sweep's automatic retention (if configured).
  // FailedPrecondition when the lease is no longer held (nothing applied).
  StatusOr<CompletionResult> CompleteJob(
      LeaseId lease, JobOutcome outcome, const std::string& reason,
      std::span<const CheckpointDeletion> deletions = {},
      std::span<const GalleryFileDeletion> gallery_deletions = {});

  // Early stopping (docs/sweeps.md "Early stopping"). When `run` is a trial of a sweep submitted
  // with `early_stop`, decides over the evaluations recorded for the sweep's trials
  // (DecideEarlyStops: the rule's iou type, evaluations made with the sweep's eval settings, at
  // checkpoint steps counted from the trial's start) and stops every unfinished trial it selects
  // (JobStore::StopRun: status stopped with the step and reason; a running job's worker is told
  // to stop at its next heartbeat). Returns the trials stopped by this call (steps as stored,
  // i.e. absolute); none for a run of no sweep or a sweep without the rule. One transaction;
  // the coordinator calls it inside the transaction that records an evaluation.
  StatusOr<std::vector<StopDecision>> ApplyEarlyStopping(RunId run);

  // Every run of the tree containing `run` (a name or id; nullopt: every run), parents before
  // children. NotFound for an unknown run.
  StatusOr<std::vector<LineageNode>> Lineage(const std::optional<std::string>& run);

 private:
  // Where a fork starts: a registered checkpoint (parent_checkpoint set) or a file.
  struct ForkStart {
    protocol::CheckpointRef weights;
    int64_t step = 0;                               // the step training continues from
    std::optional<CheckpointId> parent_checkpoint;  // rechecked in the fork's transaction
    std::string start_from;         // recorded in the config: "RUN/NAME", "file:PATH"
    std::string default_name_base;  // "<base>-forkN"
  };
  // The shared half of ForkRun and ForkRunFromFile: `config_run`'s config with `overrides`
  // becomes the new run's, and one train job is queued, in one transaction.
  StatusOr<std::pair<Run, Job>> QueueFork(const Run& config_run, const ForkStart& start,
                                          const std::vector<std::string>& overrides, int64_t steps,
                                          bool reset_optimizer, const std::string& name);
  StatusOr<SweepStatus> BuildSweepStatus(const SweepInfo& sweep);

  RunStore& runs_;
  JobStore& jobs_;
  TrainConfigValidator validator_;
  JobSchedulerOptions options_;
  RetentionScheduler retention_;
};

}  // namespace ablate::server
