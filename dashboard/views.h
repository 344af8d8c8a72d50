// The dashboard's read-only views: each builds the JSON document one API endpoint returns
// (docs/dashboard.md lists the fields). Cross-run views read a StoreSnapshot; per-run views read
// the store (a RunReader) directly so a run's page is never behind the store.
//
// Errors: NotFound names the missing run/checkpoint; InvalidArgument names the bad parameter.
// Thread safety: stateless functions; safe from any thread (RunReader is thread-safe).
//
// Ranking and comparability are the coordinator's own code, run on the snapshot through
// SnapshotRunReader: server::BuildLeaderboard (leaderboard, each sweep's best; the query is the
// coordinator's server::LeaderboardQuery) and server::CompareEvaluations (compare, each run
// against the first), so the page and `ablate leaderboard` / `ablate compare` never disagree.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "dashboard/store_snapshot.h"
#include "server/job_store.h"
#include "server/leaderboard.h"
#include "server/run_store.h"

namespace ablate::dashboard {

// GET /api/sweeps: every sweep (and the runs in none) with counts per status and best AP.
nlohmann::json SweepsView(const StoreSnapshot& snap);

// GET /api/leaderboard: the selected group's rows (`q.all_groups` is not used). NotFound when
// `q.group` names no group of the filtered evaluations.
StatusOr<nlohmann::json> LeaderboardView(const StoreSnapshot& snap,
                                         const server::LeaderboardQuery& q);

// GET /api/runs/{name}: run, effective config and what it overrides from its parent run,
// checkpoints, evaluations (with per-category AP), metric keys and latest values, children, and
// with `jobs` (may be nullptr) the run's jobs and the worker of the latest leased one.
StatusOr<nlohmann::json> RunView(server::RunReader& store, const StoreSnapshot& snap,
                                 std::string_view name, server::JobStore* jobs = nullptr);

// GET /api/runs/{name}/metrics: {"series": {key: [[step, value], ...]}} for `keys` (empty: every
// key the run has logged).
StatusOr<nlohmann::json> MetricsView(server::RunReader& store, std::string_view name,
                                     const std::vector<std::string>& keys);

// GET /api/compare: 2..8 runs; config diff, the 12 stats for bbox and segm with deltas against the
// first run, per-category AP deltas.
StatusOr<nlohmann::json> CompareView(const StoreSnapshot& snap,
                                     const std::vector<std::string>& run_names);

// GET /api/lineage: the fork tree below `root` (a run name or a checkpoint name prefix such as
// "step1066300"); empty root: every run without a parent. Nodes carry their best AP.
StatusOr<nlohmann::json> LineageView(const StoreSnapshot& snap, std::string_view root);

// GET /api/checkpoints: every checkpoint (or one run's), with the best AP evaluated on it.
StatusOr<nlohmann::json> CheckpointsView(const StoreSnapshot& snap, std::string_view run_name);

// Flattens nested objects into dotted keys ({"a":{"b":1}} -> {"a.b": 1}); other values as-is.
std::vector<std::pair<std::string, nlohmann::json>> FlattenConfig(const nlohmann::json& config);

}  // namespace ablate::dashboard
