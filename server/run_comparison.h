// CompareRuns: config diff key by key, the 12 stats per iou type side by side with deltas, the
// largest per-category AP deltas, and which evaluations were compared and whether they are
// comparable (equal eval keys; docs/coordinator.md).
//
// Thread safety: stateless functions.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "server/run_store.h"

namespace ablate::server {

struct ConfigDiffEntry {
  std::string key;                    // dotted path for nested objects
  std::optional<std::string> a_json;  // nullopt: missing in a
  std::optional<std::string> b_json;
  bool same = false;
};

struct CategoryDelta {
  int64_t category_id = 0;
  std::string category_name;
  double a_ap = 0;
  double b_ap = 0;
  double delta = 0;  // b - a
};

struct StatsComparison {
  IouType iou_type = IouType::kBbox;
  std::optional<Evaluation> a;
  std::optional<Evaluation> b;
  bool comparable = false;
  std::string reason;                          // why not comparable
  CocoStats delta{};                           // b - a (when both exist)
  std::vector<CategoryDelta> category_deltas;  // largest |delta| first
};

struct RunComparison {
  Run a;
  Run b;
  std::vector<ConfigDiffEntry> config_diff;  // every key of either config, sorted
  std::vector<StatsComparison> stats;        // bbox then segm, for types either run has
};

// Keys of both objects flattened to dotted paths, sorted.
std::vector<ConfigDiffEntry> DiffConfigs(const nlohmann::json& a, const nlohmann::json& b);

// Chooses the evaluations to compare for one iou type: among eval keys both runs have, the one
// with the most evaluations of the two runs (ties: the smaller key), each run's best AP there;
// with no common key, each run's best-AP evaluation, flagged not comparable with the reason.
StatsComparison CompareEvaluations(IouType iou_type, const std::vector<Evaluation>& a,
                                   const std::vector<Evaluation>& b, int top_categories);

// InvalidArgument when a and b are the same run; NotFound from the store.
StatusOr<RunComparison> CompareRuns(RunReader& store, RunId a, RunId b, int top_categories);

}  // namespace ablate::server
