// The dashboard's read-only views: each builds the JSON document one API endpoint returns
// (docs/dashboard.md lists the fields). Cross-run views read a StoreSnapshot; per-run views read
// the RunStore directly so a run's page is never behind the store.
//
// Errors: NotFound names the missing run/checkpoint; InvalidArgument names the bad parameter.
// Thread safety: stateless functions; safe from any thread (RunStore is thread-safe).
//
// Ranking and comparability are the coordinator's own code, run on the snapshot through
// SnapshotRunStore: server::BuildLeaderboard (leaderboard, each sweep's best) and
// server::CompareEvaluations (compare, each run against the first), so the page and
// `ablate leaderboard` / `ablate compare` never disagree.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "dashboard/store_snapshot.h"
#include "server/job_store.h"
#include "server/run_store.h"

namespace ablate::dashboard {

// GET /api/sweeps: every sweep (and the runs in none) with counts per status and best AP.
nlohmann::json SweepsView(const StoreSnapshot& snap);

struct LeaderboardQuery {
  int stat = 0;  // index into kCocoStatNames; rows are sorted by it
  server::IouType iou_type = server::IouType::kBbox;
  std::string sweep;                        // empty: any
  std::vector<server::RunStatus> statuses;  // empty: any
  int top = 100;                            // 0: all rows
  bool ascending = false;                   // default: best (highest) first
  std::string group;                        // eval key; empty: the group with most runs
  // Eval-settings filters: only evaluations whose settings equal every set field take part.
  std::optional<double> score_threshold;
  std::optional<int64_t> top_k;
  std::optional<double> nms_iou;
  std::optional<int64_t> max_dets;
  std::string dataset;
};

// GET /api/leaderboard. NotFound when `group` names no group of the filtered evaluations.
StatusOr<nlohmann::json> LeaderboardView(const StoreSnapshot& snap, const LeaderboardQuery& q);

// GET /api/runs/{name}: run, effective config and what it overrides from its parent run,
// checkpoints, evaluations (with per-category AP), metric keys and latest values, children, and
// with `jobs` (may be nullptr) the run's jobs and the worker of the latest leased one.
StatusOr<nlohmann::json> RunView(server::RunStore& store, const StoreSnapshot& snap,
                                 std::string_view name, server::JobStore* jobs = nullptr);

// GET /api/runs/{name}/metrics: {"series": {key: [[step, value], ...]}} for `keys` (empty: every
// key the run has logged).
StatusOr<nlohmann::json> MetricsView(server::RunStore& store, std::string_view name,
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
