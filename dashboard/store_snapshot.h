// A read-only, in-memory copy of the store's runs, checkpoints and evaluations, from which the
// dashboard computes its cross-run views (sweeps, leaderboard, lineage) without a query per
// request.
//
// Freshness: SnapshotCache reloads the copy when it is older than max(ttl_ms, 10 x the time the
// last load took); a view is therefore at most that far behind the store (1 s for a small store;
// the page polls every 3 s). The 10x rule bounds the dashboard's share of the store's lock to
// about 10% on very large stores. While one request reloads, concurrent requests keep using the
// previous copy.
//
// Thread safety: StoreSnapshot is immutable once built; SnapshotCache is safe from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "common/status.h"
#include "server/run_store.h"

namespace ablate::dashboard {

struct StoreSnapshot {
  std::vector<server::Run> runs;                // id ascending
  std::vector<server::Checkpoint> checkpoints;  // run id, then step
  std::vector<server::Evaluation> evaluations;  // id ascending
  std::vector<std::string> eval_keys;           // server::EvalKey of evaluations[i]

  std::unordered_map<std::string, size_t> run_by_name;                  // -> index in runs
  std::unordered_map<int64_t, size_t> run_by_id;                        // -> index in runs
  std::unordered_map<int64_t, size_t> checkpoint_by_id;                 // -> index in checkpoints
  std::unordered_map<int64_t, std::vector<size_t>> evaluations_by_run;  // -> indexes, id order
  int64_t loaded_unix_ms = 0;
  int64_t load_ms = 0;  // how long the load took

  const server::Run* FindRun(std::string_view name) const;
  const server::Checkpoint* FindCheckpoint(std::optional<server::CheckpointId> id) const;
  // Step of the evaluated checkpoint; nullopt for an evaluation without one.
  std::optional<int64_t> EvaluationStep(const server::Evaluation& e) const;
};

// Reads everything through the RunReader interface (ListRuns paged, ListCheckpoints,
// ListEvaluations).
StatusOr<std::shared_ptr<const StoreSnapshot>> LoadSnapshot(server::RunReader& store,
                                                            const Clock& clock);

// A RunReader over a snapshot, so the coordinator's own leaderboard and compare logic
// (server/leaderboard.h, server/run_comparison.h) runs on the in-memory copy: the page and the CLI
// rank and compare by the same code. Metrics are not in the snapshot (LatestMetrics/ListMetrics
// return Unimplemented); ListGalleryFiles lists the shown galleries (pass 0) only. `snap` must
// outlive it.
class SnapshotRunReader final : public server::RunReader {
 public:
  explicit SnapshotRunReader(const StoreSnapshot& snap) : snap_(snap) {}

  StatusOr<server::Run> GetRun(server::RunId id) override;
  StatusOr<server::Run> FindRunByName(std::string_view name) override;
  StatusOr<std::vector<server::Run>> ListRuns(const server::RunFilter& filter) override;
  StatusOr<std::vector<server::MetricPoint>> LatestMetrics(server::RunId) override;
  StatusOr<std::vector<server::MetricPoint>> ListMetrics(server::RunId, std::string_view) override;
  StatusOr<server::Checkpoint> GetCheckpoint(server::CheckpointId id) override;
  StatusOr<std::vector<server::Checkpoint>> ListCheckpoints(
      std::optional<server::RunId> run) override;
  StatusOr<std::vector<server::Checkpoint>> FindCheckpointsByNamePrefix(
      std::string_view prefix, std::optional<server::RunId> run) override;
  StatusOr<std::vector<server::Evaluation>> ListEvaluations(
      const server::EvaluationFilter& filter) override;
  StatusOr<std::vector<server::GalleryFile>> ListGalleryFiles(
      const server::GalleryFileFilter& filter) override;

 private:
  const StoreSnapshot& snap_;
};

class SnapshotCache {
 public:
  // `store` and `clock` must outlive the cache.
  SnapshotCache(server::RunReader& store, const Clock& clock, int64_t ttl_ms)
      : store_(store), clock_(clock), ttl_ms_(ttl_ms) {}

  // The current copy, reloaded first when it is older than ttl_ms (or when none exists yet).
  // An error only when no copy exists and loading fails.
  StatusOr<std::shared_ptr<const StoreSnapshot>> Get();

 private:
  server::RunReader& store_;
  const Clock& clock_;
  const int64_t ttl_ms_;
  std::mutex load_mu_;  // held while loading; serialises reloads
  Mutex mu_;
  std::shared_ptr<const StoreSnapshot> current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ablate::dashboard
