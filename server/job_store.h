// Persistence for scheduling: workers, jobs and leases. Runs and sweeps stay in RunStore; a job
// belongs to a run. Every write is durable when the call returns OK, like RunStore's.
//
// Lease model (times are Unix ms from the injected Clock):
// - LeaseNextJob hands the oldest highest-priority pending job to a worker, respecting the
//   sweep's max_parallel, increments the job's attempt count and marks its run running;
// - a lease is valid until expires_unix_ms; RenewLeases extends it by the TTL;
// - ExpireLeases returns jobs of expired leases to pending (their run to queued), or fails them
//   when they have used max_attempts;
// - CompleteLease ends a lease with an outcome; failures are retried while attempts remain.
//
// Retention holds (docs/retention.md): a retention job holds the checkpoints and gallery files it
// will delete (checkpoints.deleting_job_id, evaluation_gallery.deleting_job_id) from the lease
// that fixes its list until the job has ended for
// good and no lease of it is still held; then every hold it still has is released — by
// CompleteLease, ExpireLeases and CancelJobs alike, so no path leaves a checkpoint held.
//
// Thread safety: implementations are safe to call from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "protocol/retention_spec.h"
#include "server/run_store.h"

namespace ablate::server {

struct WorkerId {
  int64_t value = 0;
};
struct JobId {
  int64_t value = 0;
};
struct LeaseId {
  int64_t value = 0;
};

// In protocol/job_names.h's order; the names are that file's (the jobs table's columns).
enum class JobKind { kTrain, kEval, kRetention };
enum class JobState { kPending, kLeased, kSucceeded, kFailed, kCancelled };
std::string_view JobKindName(JobKind kind);                    // "train" / "eval" / "retention"
std::optional<JobKind> ParseJobKind(std::string_view name);    // nullopt: not a kind's name
std::string_view JobStateName(JobState state);                 // "pending", "leased", ...
std::optional<JobState> ParseJobState(std::string_view name);  // nullopt: not a state's name

enum class JobOutcome { kSucceeded, kFailed, kDiverged, kCancelled, kReleased };

struct WorkerInfo {
  WorkerId id;
  std::string name;
  std::string host;
  int slots = 1;
  std::string device;
  std::string state;  // alive / lost / retired
  int64_t last_heartbeat_unix_ms = 0;
};

struct Job {
  JobId id;
  RunId run;  // value 0 (and run_name empty): a job of no run (retention)
  std::string run_name;
  std::string sweep;  // empty: none
  JobKind kind = JobKind::kTrain;
  std::string spec_json;
  JobState state = JobState::kPending;
  int attempts = 0;
  int max_attempts = 3;
  std::string last_error;
  std::string result_json = "{}";  // what the job reported (retention: counts, failures)
  std::string worker;              // name of the worker holding the current lease, if leased
  int64_t created_unix_ms = 0;
  int64_t updated_unix_ms = 0;
};

// Pending or leased: the job has not ended yet.
inline bool IsUnfinished(const Job& job) {
  return job.state == JobState::kPending || job.state == JobState::kLeased;
}

struct NewJob {
  std::optional<RunId> run;  // nullopt only for a retention job
  std::string sweep;         // the sweep the job counts towards; empty: the run's sweep
  JobKind kind = JobKind::kTrain;
  std::string spec_json;
  int max_attempts = 3;
  int priority = 0;  // higher first
  // Stored as already succeeded: links a sweep trial to an identical finished run.
  bool already_done = false;
};

struct SweepInfo {
  int64_t id = 0;
  std::string name;
  std::string spec_json;
  int max_parallel = 0;
  int64_t created_unix_ms = 0;
};

struct Lease {
  LeaseId id;
  JobId job;
  WorkerId worker;
  int64_t granted_unix_ms = 0;
  int64_t expires_unix_ms = 0;
};

struct CompletionResult {
  Job job;
  bool will_retry = false;
};

// What a worker reports for one checkpoint file of a retention job.
struct CheckpointDeletion {
  using Result = protocol::DeletionResult;  // the retention contract's (protocol/retention_spec.h)
  CheckpointId checkpoint;
  Result result = Result::kFailed;
  std::string reason;       // kFailed: why (e.g. "permission denied")
  int64_t bytes_freed = 0;  // kDeleted: the file's size when it was removed
};

// What a worker reports for one gallery file of a retention job (docs/retention.md "Galleries").
// A file is named by its uri: the bbox and segm rows of one pass (and any other row naming the
// same file) are marked together.
struct GalleryFileDeletion {
  std::string uri;
  CheckpointDeletion::Result result = CheckpointDeletion::Result::kFailed;
  std::string reason;       // kFailed: why
  int64_t bytes_freed = 0;  // kDeleted: the file's size when it was removed
};

// What RecordGalleryDeletions did with a report; counted per file (uri), not per row.
struct GalleryDeletionTally {
  int deleted = 0;
  int missing = 0;
  int failed = 0;
  int ignored = 0;  // files this job did not hold
  int64_t bytes_freed = 0;
  std::vector<std::pair<std::string, std::string>> failures;  // uri, reason
};

// What RecordCheckpointDeletions did with a report.
struct DeletionTally {
  int deleted = 0;  // rows marked deleted after the worker removed the file
  int missing = 0;  // rows marked deleted whose file was already gone
  int failed = 0;   // holds released, rows unchanged
  int ignored = 0;  // checkpoints this job did not hold (nothing changed)
  int64_t bytes_freed = 0;
  std::vector<std::pair<Checkpoint, std::string>> failures;  // checkpoint, reason
};

class JobStore {
 public:
  virtual ~JobStore() = default;

  // Registers a worker by its unique name, or refreshes an existing one (marking it alive).
  virtual StatusOr<WorkerInfo> UpsertWorker(const std::string& name, const std::string& host,
                                            int slots, const std::string& device) = 0;
  // NotFound for an unknown worker id.
  virtual StatusOr<WorkerInfo> GetWorker(WorkerId id) = 0;
  virtual StatusOr<std::vector<WorkerInfo>> ListWorkers() = 0;

  // Records a sweep's validated spec and max_parallel (0: no limit), creating the sweep row if
  // needed (RunStore::CreateRun also creates sweeps on first use).
  virtual Status SaveSweep(const std::string& sweep, const std::string& spec_json,
                           int max_parallel) = 0;
  virtual StatusOr<std::vector<SweepInfo>> ListSweeps() = 0;
  // True when a sweep of that name exists.
  virtual StatusOr<bool> SweepExists(const std::string& sweep) = 0;
  // The newest succeeded run whose config fingerprint is `fingerprint`, if any.
  virtual StatusOr<std::optional<Run>> FindSucceededRun(const std::string& fingerprint) = 0;

  // NotFound for an unknown run.
  virtual StatusOr<Job> CreateJob(const NewJob& job) = 0;
  virtual StatusOr<Job> GetJob(JobId id) = 0;
  // Jobs of a run (oldest first) or of a sweep; `run` and `sweep` empty: all.
  virtual StatusOr<std::vector<Job>> ListJobs(std::optional<RunId> run,
                                              const std::string& sweep) = 0;

  // nullopt when no job may be leased now. NotFound for an unknown worker.
  // Skips jobs whose lease failed on this worker less than retry_elsewhere_ms ago.
  virtual StatusOr<std::optional<std::pair<Job, Lease>>> LeaseNextJob(
      WorkerId worker, int64_t ttl_ms, int64_t retry_elsewhere_ms) = 0;
  // Extends the worker's listed leases; returns those it no longer holds (expired, completed,
  // or whose job was cancelled) so the worker stops them. Also records the heartbeat.
  virtual StatusOr<std::vector<LeaseId>> RenewLeases(WorkerId worker,
                                                     std::span<const LeaseId> leases,
                                                     int64_t ttl_ms) = 0;
  // FailedPrecondition when the lease is no longer held (expired and requeued, or completed).
  virtual StatusOr<CompletionResult> CompleteLease(LeaseId lease, JobOutcome outcome,
                                                   const std::string& reason) = 0;
  // Requeues (or fails, past max_attempts) every job whose lease expired; returns how many.
  virtual StatusOr<int> ExpireLeases() = 0;
  // Cancels unfinished jobs of a run or sweep (their runs become cancelled); returns how many.
  virtual StatusOr<int> CancelJobs(std::optional<RunId> run, const std::string& sweep) = 0;
  // Cancels one job if it is unfinished; returns whether it was. NotFound for an unknown id.
  virtual StatusOr<bool> CancelJob(JobId job) = 0;
  // Early stopping (docs/sweeps.md): ends the run's unfinished train jobs as cancelled with
  // `reason` as their last error (a running one's worker is told to stop at its next heartbeat,
  // as for a cancel, and it is never retried) and marks the run stopped at `step` with `reason`
  // (RunStore::MarkRunStopped). Returns how many jobs it ended. NotFound for an unknown run.
  virtual StatusOr<int> StopRun(RunId run, int64_t step, const std::string& reason) = 0;

  // ---- Retention ----
  // The job of `lease` while the lease is held; FailedPrecondition (the same message as
  // CompleteLease's) when it is not, NotFound for an unknown lease.
  virtual StatusOr<Job> GetHeldLeaseJob(LeaseId lease) = 0;
  // Holds the listed checkpoints for deletion by `job`, skipping any that are pinned, already
  // deleted or held by another job (checked in the same statement that sets the hold). Returns
  // every checkpoint `job` holds afterwards, sorted by run id then step.
  virtual StatusOr<std::vector<Checkpoint>> HoldCheckpointsForDeletion(
      JobId job, std::span<const CheckpointId> checkpoints) = 0;
  virtual StatusOr<std::vector<Checkpoint>> CheckpointsHeldBy(JobId job) = 0;
  // Applies a worker's report: kDeleted / kMissing mark the row deleted (deleted_unix_ms,
  // deleted_by_job_id) and release the hold; kFailed only releases it. Entries for checkpoints
  // `job` does not hold change nothing and are counted as ignored.
  virtual StatusOr<DeletionTally> RecordCheckpointDeletions(
      JobId job, std::span<const CheckpointDeletion> report) = 0;
  // Galleries go with their checkpoints (docs/retention.md "Galleries"). Holds every gallery row
  // naming one of `uris` for deletion by `job`, skipping rows already deleted or held by another
  // job (checked in the statement that sets the hold). Returns every gallery row `job` holds
  // afterwards, in ListGalleryFiles order.
  virtual StatusOr<std::vector<GalleryFile>> HoldGalleryFilesForDeletion(
      JobId job, std::span<const std::string> uris) = 0;
  virtual StatusOr<std::vector<GalleryFile>> GalleryFilesHeldBy(JobId job) = 0;
  // Applies a worker's report for gallery files, as RecordCheckpointDeletions does for
  // checkpoints: kDeleted / kMissing mark every row of that uri this job holds deleted and
  // release it; kFailed only releases; a uri this job holds no row of is ignored.
  virtual StatusOr<GalleryDeletionTally> RecordGalleryDeletions(
      JobId job, std::span<const GalleryFileDeletion> report) = 0;
  virtual Status SetJobResult(JobId job, const std::string& result_json) = 0;
};

}  // namespace ablate::server
