// RunStore on one SQLite file in WAL mode. The coordinator is the only writer.
//
// Durability: journal_mode=WAL with synchronous=FULL, so a write is on disk (WAL fsynced) when
// its call returns OK; a process crash (SIGKILL) or power loss after that keeps it. Foreign keys
// are enforced. Thread safety: one connection guarded by one mutex; reads and writes from any
// thread are serialised (the coordinator's load is small; see docs/coordinator.md).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "common/clock.h"
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
  // one already open, e.g. from Transact()). For companion stores on the same file
  // (SqliteJobStore), so runs and jobs can change in one transaction.
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
  SqliteRunStore(std::unique_ptr<SqliteDb> db, const Clock* clock)
      : db_(std::move(db)), clock_(clock) {}

  // Runs `body` inside a transaction unless one is already open (then it joins it).
  Status InTransaction(const std::function<Status()>& body);
  StatusOr<int64_t> EnsureSweep(const std::string& name);
  StatusOr<std::vector<Run>> QueryRuns(const std::string& where,
                                       const std::function<void(SqliteStatement&)>& bind);
  StatusOr<std::vector<Checkpoint>> QueryCheckpoints(
      const std::string& where, const std::function<void(SqliteStatement&)>& bind);
  StatusOr<std::vector<Evaluation>> QueryEvaluations(
      const std::string& where, const std::function<void(SqliteStatement&)>& bind);
  // Inside a transaction: set an evaluation's counts / its gallery (columns and rows, pass 0).
  Status WriteOutputs(int64_t evaluation_id, const EvaluationOutputs& outputs);
  Status WriteGallery(int64_t evaluation_id, const Gallery& gallery);
  Status WriteGalleryFiles(int64_t evaluation_id, int64_t pass,
                           const std::vector<GalleryImage>& images);
  // A later identical pass: registers its files not yet registered for the evaluation as the
  // next pass (none new: nothing written).
  Status WriteLaterGalleryPass(int64_t evaluation_id, const Gallery& gallery);

  std::recursive_mutex mu_;
  std::unique_ptr<SqliteDb> db_;  // guarded by mu_
  int tx_depth_ = 0;              // guarded by mu_
  const Clock* clock_;
  MigrationReport migration_report_;
};

}  // namespace ablate::server
