// RunStore on one SQLite file in WAL mode. The coordinator is the only writer.
//
// Durability: journal_mode=WAL with synchronous=FULL, so a write is on disk (WAL fsynced) when
// its call returns OK; a process crash (SIGKILL) or power loss after that keeps it. Foreign keys
// are enforced.
//
// Thread safety: one connection guarded by one mutex (mu_); reads and writes from any thread are
// serialised (the coordinator's load is small; see docs/coordinator.md). Every method holds the
// connection through a Session (below), which takes mu_ once per outermost call: calls made inside
// Transact's or WithDb's body on the same thread join the session open there instead of locking
// again. Inside the store, helpers named ...Locked require mu_ (ABSL_EXCLUSIVE_LOCKS_REQUIRED) and
// never take it; -DABLATE_THREAD_SAFETY_ANALYSIS=ON checks this with clang.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "server/migrator.h"
#include "server/run_store.h"
#include "server/sqlite_db.h"

namespace ablate::server {

struct SqliteRunStoreOptions {
  std::string path;  // required; created if missing
  // Time source for created/updated columns; nullptr: the system clock. Not owned.
  const Clock* clock = nullptr;
  // How long a statement waits for a lock held by another connection (e.g. a backup).
  int busy_timeout_ms = 5000;
};

class SqliteRunStore final : public RunStore {
 public:
  // Opens the file, applies migrations (refusing a newer schema), and returns the store.
  static StatusOr<std::unique_ptr<SqliteRunStore>> Open(const SqliteRunStoreOptions& options);

  const MigrationReport& migration_report() const { return migration_report_; }

  // Runs `body` with the store's connection, under its lock and inside a transaction (joining
  // the session already open on this thread, e.g. from Transact()): committed when body returns
  // OK and this call began it, rolled back when body fails. For companion stores on the same file
  // (SqliteJobStore), so runs and jobs can change in one transaction; `body` may call this
  // store's methods (they join too).
  Status WithDb(const std::function<Status(SqliteDb&)>& body);

  Status Transact(const std::function<Status()>& body) override;
  StatusOr<Created<Run>> CreateRun(const NewRun& run) override;
  StatusOr<Run> GetRun(RunId id) override;
  StatusOr<Run> FindRunByName(std::string_view name) override;
  StatusOr<std::vector<Run>> ListRuns(const RunFilter& filter) override;
  StatusOr<Run> SetRunStatus(RunId id, RunStatus status) override;
  StatusOr<Run> MarkRunStopped(RunId id, int64_t step, const std::string& reason) override;
  Status LogMetrics(RunId run, std::span<const MetricPoint> points) override;
  StatusOr<std::vector<MetricPoint>> LatestMetrics(RunId run) override;
  StatusOr<std::vector<MetricPoint>> ListMetrics(RunId run, std::string_view key) override;
  StatusOr<Created<Checkpoint>> RegisterCheckpoint(const NewCheckpoint& checkpoint) override;
  StatusOr<Checkpoint> GetCheckpoint(CheckpointId id) override;
  StatusOr<std::vector<Checkpoint>> ListCheckpoints(std::optional<RunId> run) override;
  StatusOr<std::vector<Checkpoint>> FindCheckpointsByNamePrefix(std::string_view prefix,
                                                                std::optional<RunId> run) override;
  StatusOr<Checkpoint> SetCheckpointPinned(CheckpointId id, bool pinned) override;
  StatusOr<Created<Evaluation>> RecordEvaluation(const NewEvaluation& evaluation) override;
  StatusOr<std::vector<Evaluation>> ListEvaluations(const EvaluationFilter& filter) override;
  StatusOr<std::vector<GalleryFile>> ListGalleryFiles(const GalleryFileFilter& filter) override;

 private:
  // The calling thread's use of the connection, for as long as it lives. It holds mu_: it takes
  // it, or joins when this thread holds it already (owner_), so a call made inside another
  // session never waits for itself. kWrite also runs inside a SQLite transaction: it begins one
  // (BEGIN IMMEDIATE) unless one is open, and only the session that began it commits (Commit())
  // or, destroyed without committing, rolls back; a session that joined leaves that to the one
  // that began it.
  class ABSL_SCOPED_LOCKABLE Session {
   public:
    enum class Mode { kRead, kWrite };
    Session(SqliteRunStore& store, Mode mode) ABSL_EXCLUSIVE_LOCK_FUNCTION(store.mu_);
    ~Session() ABSL_UNLOCK_FUNCTION();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // Why the SQLite transaction could not begin; OK otherwise. Check it before writing.
    const Status& status() const { return status_; }
    // Commits the transaction this session began (OK when it began none). Idempotent.
    Status Commit();

   private:
    SqliteRunStore& store_;
    bool took_lock_ = false;                 // false: joined this thread's session
    std::unique_ptr<SqliteTransaction> tx_;  // set: this session began the transaction
    Status status_;
  };

  SqliteRunStore(std::unique_ptr<SqliteDb> db, const Clock* clock)
      : db_(std::move(db)), clock_(clock) {}

  // The queries behind the public methods, for use inside a session.
  StatusOr<Run> GetRunLocked(RunId id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  StatusOr<Run> FindRunByNameLocked(std::string_view name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  StatusOr<Checkpoint> GetCheckpointLocked(CheckpointId id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  StatusOr<int64_t> EnsureSweepLocked(const std::string& name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  StatusOr<std::vector<Run>> QueryRunsLocked(const std::string& where,
                                             const std::function<void(SqliteStatement&)>& bind)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  StatusOr<std::vector<Checkpoint>> QueryCheckpointsLocked(
      const std::string& where, const std::function<void(SqliteStatement&)>& bind)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  StatusOr<std::vector<Evaluation>> QueryEvaluationsLocked(
      const std::string& where, const std::function<void(SqliteStatement&)>& bind)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Inside a transaction: set an evaluation's counts / its gallery (columns and rows, pass 0).
  Status WriteOutputsLocked(int64_t evaluation_id, const EvaluationOutputs& outputs)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Status WriteGalleryLocked(int64_t evaluation_id, const Gallery& gallery)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Status WriteGalleryFilesLocked(int64_t evaluation_id, int64_t pass,
                                 const std::vector<GalleryImage>& images)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A later identical pass: registers its files not yet registered for the evaluation as the
  // next pass (none new: nothing written).
  Status WriteLaterGalleryPassLocked(int64_t evaluation_id, const Gallery& gallery)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Mutex mu_;
  // The thread holding mu_ through its outermost Session; default (no thread) while none does.
  // Only the holder sets it to its own id, so a thread reading its own id holds mu_.
  std::atomic<std::thread::id> owner_;
  std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);
  bool tx_open_ ABSL_GUARDED_BY(mu_) = false;  // a Session's SQLite transaction is open
  const Clock* clock_;
  MigrationReport migration_report_;
};

}  // namespace ablate::server
