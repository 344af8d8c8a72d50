#include "cli/proto_json.h"

#include "server/proto_convert.h"
#include "server/record_json.h"

namespace ablate::cli {

using server::RecordFromProto;

nlohmann::json StatsJson(const v1::CocoStats& p) {
  return server::StatsJson(server::StatsFromProto(p));
}

nlohmann::json SettingsJson(const v1::EvalSettings& s) {
  return server::EvalSettingsJson(RecordFromProto(s));
}

nlohmann::json RunJson(const v1::Run& r) { return server::RunJson(RecordFromProto(r)); }

nlohmann::json CheckpointJson(const v1::Checkpoint& c) {
  return server::CheckpointJson(RecordFromProto(c));
}

nlohmann::json EvaluationJson(const v1::Evaluation& e, std::optional<int64_t> step) {
  return server::EvaluationJson(RecordFromProto(e), step, /*detail=*/true);
}

nlohmann::json OutputsJson(const v1::EvaluationOutputs& o) {
  return server::OutputsJson(server::FromProto(o));
}

nlohmann::json GalleryJson(const v1::Gallery& g) { return server::GalleryJson(RecordFromProto(g)); }

nlohmann::json JobJson(const v1::JobSummary& j) { return server::JobJson(RecordFromProto(j)); }

nlohmann::json LeaderboardGroupJson(const v1::LeaderboardGroup& g) {
  server::LeaderboardGroup group;
  group.eval_key = g.eval_key();
  group.settings = RecordFromProto(g.settings());
  group.run_count = g.run_count();
  group.selected = g.selected();
  return server::LeaderboardGroupJson(group);
}

nlohmann::json LeaderboardRowJson(const v1::LeaderboardRow& r) {
  server::LeaderboardRow row;
  row.rank = r.rank();
  row.run = RecordFromProto(r.run());
  row.evaluation = RecordFromProto(r.evaluation());
  row.sort_value = r.sort_value();
  return server::LeaderboardRowJson(row, /*step=*/std::nullopt);
}

nlohmann::json SweepJson(const v1::Sweep& s) {
  return server::SweepJson(s.id(), s.name(), server::RecordFromProto(s.progress()));
}

}  // namespace ablate::cli
