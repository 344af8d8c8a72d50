// Retention jobs in the scheduler (docs/retention.md): queuing them (on request, or when a sweep
// ends with `ablate server --retention-keep-last`), fixing and holding the list of files a leased
// one deletes, and applying the worker's report when it completes. The policy (which files) is
// retention_policy.h; the job's spec and result are protocol/retention_spec.h. JobScheduler owns
// one and calls it from LeaseJob and CompleteJob, inside their transactions.
//
// Thread safety: safe from any thread (the stores serialise). The methods that say "inside a
// transaction" must be called inside one of RunStore::Transact, so that what they read and hold
// commits together with the lease or completion that uses it.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "common/status.h"
#include "server/job_store.h"
#include "server/retention_policy.h"
#include "server/run_store.h"

namespace ablate::server {

struct RetentionSchedulerOptions {
  int keep_last = kDefaultRetentionKeepLast;  // keep_last of a request that does not say
  // Set: when the last unfinished job of a sweep completes, queue a retention job for that
  // sweep's runs keeping this many checkpoints per run.
  std::optional<int> auto_keep_last;
  int max_attempts = 3;  // of each retention job
};

// A retention request: the plan as of now and, unless a dry run, the queued job. The job plans
// again when a worker leases it (that list is the one deleted).
struct RetentionSubmission {
  RetentionPlan plan;
  std::optional<Job> job;
};

// What one completion of a retention job did with the worker's report.
struct RetentionReport {
  DeletionTally checkpoints;
  GalleryDeletionTally gallery;
};

class RetentionScheduler {
 public:
  // The stores must outlive the scheduler.
  RetentionScheduler(RunStore& runs, JobStore& jobs, RetentionSchedulerOptions options)
      : runs_(runs), jobs_(jobs), options_(options) {}

  // Plans retention with `keep_last` (nullopt: options().keep_last) over the checkpoints of
  // `run` / `sweep` (empty: every run) and, unless `dry_run`, queues a retention job that a
  // worker runs; plan and job in one transaction. InvalidArgument for keep_last < 0; NotFound for
  // an unknown run or sweep.
  StatusOr<RetentionSubmission> Submit(std::optional<int> keep_last, const std::string& run,
                                       const std::string& sweep, bool dry_run);

  // Inside a transaction, for a retention job just leased: the spec the worker gets, with its
  // lists of files ("delete": checkpoints, "delete_gallery": gallery files of their evaluations
  // and leftovers of checkpoints deleted earlier). A first attempt plans now and holds the
  // candidates for `job`; a retried one gets exactly what the job already holds. A stored spec
  // that does not parse is handed out as stored: the worker, reading it by the same rules, fails
  // the job with what is wrong with it.
  StatusOr<std::string> PrepareLease(const Job& job);

  // Inside a transaction, before the lease of retention job `job` completes: applies the worker's
  // report, only to checkpoints and gallery files the job holds.
  StatusOr<RetentionReport> ApplyReport(const Job& job,
                                        std::span<const CheckpointDeletion> deletions,
                                        std::span<const GalleryFileDeletion> gallery_deletions);
  // Inside the same transaction, after the lease completed: adds `report` to the job's stored
  // result (the totals over its attempts) and returns the new result JSON. A stored result that
  // does not parse is started again from zero.
  StatusOr<std::string> AddToResult(const Job& job, const RetentionReport& report);

  // Inside a transaction: with options().auto_keep_last, queues retention for `sweep` once it
  // has no unfinished job; otherwise does nothing.
  Status MaybeQueueForFinishedSweep(const std::string& sweep);

  const RetentionSchedulerOptions& options() const { return options_; }

 private:
  // Queues a retention job (no plan, no checks beyond keep_last).
  StatusOr<Job> Queue(int keep_last, const std::optional<Run>& run, const std::string& sweep);

  RunStore& runs_;
  JobStore& jobs_;
  RetentionSchedulerOptions options_;
};

}  // namespace ablate::server
