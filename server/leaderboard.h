// Leaderboard: one row per run (its best evaluation), ranked by one of the 12 COCO stats, with
// evaluations grouped by eval key so that different settings or datasets are never ranked
// against each other (docs/coordinator.md, "Comparability").
//
// The one query type: the CLI's (through the Leaderboard RPC) and the dashboard's /api/leaderboard.
//
// Thread safety: stateless functions over a RunReader (which is thread-safe).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "server/run_store.h"

namespace ablate::server {

struct LeaderboardQuery {
  int stat_index = 0;  // index into kCocoStatNames; 0 = AP
  IouType iou_type = IouType::kBbox;
  int top = 0;  // rows per group; 0: all
  // Rows worst first. Ranks stay those of the best-first order, stats pycocotools could not
  // score (-1) stay last, and `top` keeps the first rows of this order (the worst ones).
  bool ascending = false;
  std::string sweep;                // empty: any
  std::vector<RunStatus> statuses;  // empty: any
  // Eval-settings filters: evaluations must match every set field.
  std::optional<double> score_threshold;
  std::optional<int64_t> top_k;
  std::optional<double> nms_iou;
  std::optional<int64_t> max_dets;
  std::string dataset_fingerprint;
  std::string group;        // an eval key to show; empty: the group with the most runs
  bool all_groups = false;  // rows for every group
};

struct LeaderboardRow {
  int rank = 0;  // 1-based within its group
  Run run;
  Evaluation evaluation;
  double sort_value = 0;
};

struct LeaderboardGroup {
  std::string eval_key;
  EvalSettings settings;
  int run_count = 0;
  bool selected = false;
  std::vector<LeaderboardRow> rows;  // best first (ascending: worst first); empty unless selected
};

struct Leaderboard {
  // Selected group(s) first, then by run count (descending), then by eval key.
  std::vector<LeaderboardGroup> groups;
};

// InvalidArgument for a stat index outside 0..11 or a negative `top`; NotFound when
// `query.group` names an eval key no evaluation has. An empty store gives no groups.
StatusOr<Leaderboard> BuildLeaderboard(RunReader& store, const LeaderboardQuery& query);

}  // namespace ablate::server
