// JobStore on the coordinator's SQLite file, sharing SqliteRunStore's connection, mutex and
// transactions (so a sweep's runs and jobs are created in one transaction).
//
// Thread safety: every method runs under the run store's lock.
#pragma once

#include <memory>

#include "common/clock.h"
#include "server/job_store.h"
#include "server/sqlite_run_store.h"

namespace ablate::server {

class SqliteJobStore final : public JobStore {
 public:
  // `runs` and `clock` are not owned and must outlive the job store.
  SqliteJobStore(SqliteRunStore& runs, const Clock& clock) : runs_(runs), clock_(clock) {}

  StatusOr<WorkerInfo> UpsertWorker(const std::string& name, const std::string& host, int slots,
                                    const std::string& device) override;
  StatusOr<WorkerInfo> GetWorker(WorkerId id) override;
  StatusOr<std::vector<WorkerInfo>> ListWorkers() override;
  Status SaveSweep(const std::string& sweep, const std::string& spec_json,
                   int max_parallel) override;
  StatusOr<std::vector<SweepInfo>> ListSweeps() override;
  StatusOr<bool> SweepExists(const std::string& sweep) override;
  StatusOr<std::optional<Run>> FindSucceededRun(const std::string& fingerprint) override;
  StatusOr<Job> CreateJob(const NewJob& job) override;
  StatusOr<Job> GetJob(JobId id) override;
  StatusOr<std::vector<Job>> ListJobs(std::optional<RunId> run, const std::string& sweep) override;
  StatusOr<std::optional<std::pair<Job, Lease>>> LeaseNextJob(WorkerId worker, int64_t ttl_ms,
                                                              int64_t retry_elsewhere_ms) override;
  StatusOr<std::vector<LeaseId>> RenewLeases(WorkerId worker, std::span<const LeaseId> leases,
                                             int64_t ttl_ms) override;
  StatusOr<CompletionResult> CompleteLease(LeaseId lease, JobOutcome outcome,
                                           const std::string& reason) override;
  StatusOr<int> ExpireLeases() override;
  StatusOr<int> CancelJobs(std::optional<RunId> run, const std::string& sweep) override;
  StatusOr<bool> CancelJob(JobId job) override;
  StatusOr<int> StopRun(RunId run, int64_t step, const std::string& reason) override;
  StatusOr<Job> GetHeldLeaseJob(LeaseId lease) override;
  StatusOr<std::vector<Checkpoint>> HoldCheckpointsForDeletion(
      JobId job, std::span<const CheckpointId> checkpoints) override;
  StatusOr<std::vector<Checkpoint>> CheckpointsHeldBy(JobId job) override;
  StatusOr<DeletionTally> RecordCheckpointDeletions(
      JobId job, std::span<const CheckpointDeletion> report) override;
  StatusOr<std::vector<GalleryFile>> HoldGalleryFilesForDeletion(
      JobId job, std::span<const std::string> uris) override;
  StatusOr<std::vector<GalleryFile>> GalleryFilesHeldBy(JobId job) override;
  StatusOr<GalleryDeletionTally> RecordGalleryDeletions(
      JobId job, std::span<const GalleryFileDeletion> report) override;
  Status SetJobResult(JobId job, const std::string& result_json) override;

 private:
  // Ends a job's attempt: retry (pending, run queued) while attempts remain, else fail it.
  StatusOr<bool> RetryOrFail(SqliteDb& db, const Job& job, const std::string& reason);
  Status SetTrainRunStatus(const Job& job, RunStatus status);
  // Releases every retention hold of `job` once it has ended (succeeded, failed, cancelled) and
  // no lease of it is held any more; otherwise does nothing.
  Status ReleaseHoldsIfEnded(SqliteDb& db, JobId job);
  // Marks a pending or leased `job` cancelled, its train run cancelled, and releases its holds.
  // Call inside runs_.WithDb.
  Status MarkCancelled(SqliteDb& db, const Job& job);
  StatusOr<std::vector<Job>> QueryJobs(SqliteDb& db, const std::string& where,
                                       const std::function<void(SqliteStatement&)>& bind);

  SqliteRunStore& runs_;
  const Clock& clock_;
};

}  // namespace ablate::server
