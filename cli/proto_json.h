// `ablate ... --json`: the coordinator's answers in the records' JSON vocabulary. Each message is
// converted back to the record it came from (server/proto_convert.h RecordFromProto) and printed
// by server/record_json.h, the functions the dashboard's /api/ uses, so a run, checkpoint,
// evaluation, job, leaderboard row or sweep has the same fields and nulls in both
// (docs/dashboard.md "JSON vocabulary").
//
// Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>

#include "ablate/v1/coordinator.pb.h"
#include "ablate/v1/scheduler.pb.h"

namespace ablate::cli {

nlohmann::json StatsJson(const v1::CocoStats& p);  // {"AP": ..., ..., "ARl": ...}; -1 → null
nlohmann::json SettingsJson(const v1::EvalSettings& s);
nlohmann::json RunJson(const v1::Run& r);
nlohmann::json CheckpointJson(const v1::Checkpoint& c);
// With "per_category" and "gallery". `step`: the evaluated checkpoint's step when the caller
// knows it (`ablate show` does, from the run's checkpoints); null otherwise.
nlohmann::json EvaluationJson(const v1::Evaluation& e, std::optional<int64_t> step = std::nullopt);
nlohmann::json OutputsJson(const v1::EvaluationOutputs& o);
nlohmann::json GalleryJson(const v1::Gallery& g);
nlohmann::json JobJson(const v1::JobSummary& j);
nlohmann::json LeaderboardGroupJson(const v1::LeaderboardGroup& g);
nlohmann::json LeaderboardRowJson(const v1::LeaderboardRow& row);
nlohmann::json SweepJson(const v1::Sweep& s);

}  // namespace ablate::cli
