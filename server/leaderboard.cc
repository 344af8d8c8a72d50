#include "server/leaderboard.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"

namespace ablate::server {

StatusOr<Leaderboard> BuildLeaderboard(RunReader& store, const LeaderboardQuery& query) {
  if (query.stat_index < 0 || query.stat_index >= kNumCocoStats) {
    return absl::InvalidArgumentError(
        absl::StrCat("stat index ", query.stat_index, " is outside 0..11"));
  }
  if (query.top < 0) return absl::InvalidArgumentError("top must not be negative");
  EvaluationFilter filter;
  filter.iou_type = query.iou_type;
  filter.sweep = query.sweep;
  filter.statuses = query.statuses;
  ABLATE_ASSIGN_OR_RETURN(std::vector<Evaluation> evals, store.ListEvaluations(filter));

  const size_t k = static_cast<size_t>(query.stat_index);
  // eval key -> run id -> best evaluation of that run.
  std::map<std::string, std::map<int64_t, Evaluation>> groups;
  for (Evaluation& e : evals) {
    const EvalSettings& s = e.settings;
    if (query.score_threshold && s.score_threshold != query.score_threshold) continue;
    if (query.top_k && s.top_k != query.top_k) continue;
    if (query.nms_iou && s.nms_iou != query.nms_iou) continue;
    if (query.max_dets && s.max_dets != query.max_dets) continue;
    if (!query.dataset_fingerprint.empty() && s.dataset_fingerprint != query.dataset_fingerprint) {
      continue;
    }
    auto& best = groups[EvalKey(s)];
    auto it = best.find(e.run_id.value);
    if (it == best.end() || e.stats[k] > it->second.stats[k]) {
      best[e.run_id.value] = std::move(e);
    }
  }
  if (!query.group.empty() && groups.count(query.group) == 0) {
    return absl::NotFoundError(
        absl::StrCat("no evaluations match the leaderboard group '", query.group, "'"));
  }
  std::string default_key;
  size_t most = 0;
  for (const auto& [key, runs] : groups) {
    if (runs.size() > most) {  // ties: the lexicographically first key (map order)
      most = runs.size();
      default_key = key;
    }
  }
  const std::string& chosen = query.group.empty() ? default_key : query.group;

  Leaderboard board;
  std::map<int64_t, Run> run_cache;
  for (auto& [key, runs] : groups) {
    LeaderboardGroup g;
    g.eval_key = key;
    g.settings = runs.begin()->second.settings;
    g.run_count = static_cast<int>(runs.size());
    g.selected = query.all_groups || key == chosen;
    if (g.selected) {
      for (auto& [run_id, e] : runs) {
        auto cached = run_cache.find(run_id);
        if (cached == run_cache.end()) {
          ABLATE_ASSIGN_OR_RETURN(Run r, store.GetRun(RunId{run_id}));
          cached = run_cache.emplace(run_id, std::move(r)).first;
        }
        LeaderboardRow row;
        row.run = cached->second;
        row.sort_value = e.stats[k];
        row.evaluation = std::move(e);
        g.rows.push_back(std::move(row));
      }
      std::stable_sort(g.rows.begin(), g.rows.end(), [](const auto& a, const auto& b) {
        if (a.sort_value != b.sort_value) return a.sort_value > b.sort_value;
        return a.run.id < b.run.id;
      });
      for (size_t i = 0; i < g.rows.size(); ++i) g.rows[i].rank = static_cast<int>(i) + 1;
      if (query.ascending) {
        std::reverse(g.rows.begin(), g.rows.end());
        std::stable_partition(g.rows.begin(), g.rows.end(), [](const LeaderboardRow& r) {
          return r.sort_value >= 0 && std::isfinite(r.sort_value);
        });
      }
      if (query.top > 0 && g.rows.size() > static_cast<size_t>(query.top)) {
        g.rows.resize(static_cast<size_t>(query.top));
      }
    }
    board.groups.push_back(std::move(g));
  }
  std::stable_sort(board.groups.begin(), board.groups.end(), [](const auto& a, const auto& b) {
    if (a.selected != b.selected) return a.selected;
    if (a.run_count != b.run_count) return a.run_count > b.run_count;
    return a.eval_key < b.eval_key;
  });
  return board;
}

}  // namespace ablate::server
