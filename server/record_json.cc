#include "server/record_json.h"

#include <cmath>

namespace ablate::server {
namespace {

using nlohmann::json;

// pycocotools writes -1 for "no ground truth to score": not a value.
bool HasValue(double stat) { return stat >= 0 && std::isfinite(stat); }

template <typename T>
json OrNull(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}
json TextOrNull(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }
json IdOrNull(int64_t id) { return id != 0 ? json(id) : json(nullptr); }

// A stored JSON text as JSON; null when empty or unreadable (never nlohmann's "discarded").
json ParsedOrNull(const std::string& text) {
  if (text.empty()) return nullptr;
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? json(nullptr) : j;
}

}  // namespace

json StatsJson(const CocoStats& stats) {
  json out = json::object();
  for (size_t i = 0; i < kCocoStatNames.size(); ++i) {
    out[std::string(kCocoStatNames[i])] = HasValue(stats[i]) ? json(stats[i]) : json(nullptr);
  }
  return out;
}

json StatsDeltaJson(const CocoStats& a, const CocoStats& b, const CocoStats& delta) {
  json out = json::object();
  for (size_t i = 0; i < kCocoStatNames.size(); ++i) {
    out[std::string(kCocoStatNames[i])] =
        HasValue(a[i]) && HasValue(b[i]) && std::isfinite(delta[i]) ? json(delta[i])
                                                                    : json(nullptr);
  }
  return out;
}

json EvalSettingsJson(const EvalSettings& s) {
  return json{{"iou_type", std::string(IouTypeName(s.iou_type))},
              {"score_threshold", OrNull(s.score_threshold)},
              {"top_k", OrNull(s.top_k)},
              {"nms_iou", OrNull(s.nms_iou)},
              {"max_dets", OrNull(s.max_dets)},
              {"dataset", s.dataset_fingerprint},
              {"eval_key", EvalKey(s)}};
}

json RunJson(const Run& r) {
  json config = ParsedOrNull(r.config_json);
  if (!config.is_object()) config = json::object();
  const bool stopped = r.status == RunStatus::kStopped;
  return json{{"id", r.id.value},
              {"name", r.name},
              {"sweep", TextOrNull(r.sweep)},
              {"status", std::string(RunStatusName(r.status))},
              {"config", std::move(config)},
              {"config_fingerprint", r.config_fingerprint},
              {"parent_run", TextOrNull(r.parent_run_name)},
              {"parent_checkpoint", TextOrNull(r.parent_checkpoint_name)},
              {"created_unix_ms", r.created_unix_ms},
              {"updated_unix_ms", r.updated_unix_ms},
              // Early stopping (docs/sweeps.md): null unless the run is stopped.
              {"stopped_at_step", stopped ? OrNull(r.stopped_at_step) : json(nullptr)},
              {"stop_reason", stopped ? json(r.stop_reason) : json(nullptr)}};
}

std::string FileState(const Checkpoint& c) {
  if (c.deleted()) return "deleted";
  return c.deleting_job_id != 0 ? "deleting" : "kept";
}

std::string FileState(const GalleryImage& image) {
  if (image.deleted()) return "deleted";
  return image.deleting_job_id != 0 ? "deleting" : "kept";
}

std::string GalleryState(const Gallery& g) {
  int deleted = 0;
  for (const GalleryImage& image : g.images) {
    if (image.deleting_job_id != 0) return "deleting";
    if (image.deleted()) ++deleted;
  }
  if (deleted == 0) return "kept";
  return g.AllDeleted() ? "deleted" : "partly deleted";
}

json CheckpointJson(const Checkpoint& c) {
  return json{{"id", c.id.value},
              {"run", c.run_name},
              {"name", c.name},
              {"step", c.step},
              {"epoch", c.epoch},
              {"loss", OrNull(c.loss)},
              {"uri", c.uri},
              {"sha256", c.sha256},
              {"bytes", c.bytes},
              {"pinned", c.pinned},
              {"created_unix_ms", c.created_unix_ms},
              // Retention (docs/retention.md): the file's state; the row always stays.
              {"state", FileState(c)},
              {"deleted_unix_ms", OrNull(c.deleted_unix_ms)},
              {"deleted_by_job", IdOrNull(c.deleted_by_job_id)},
              {"deleting_job", IdOrNull(c.deleting_job_id)}};
}

json OutputsJson(const std::optional<EvaluationOutputs>& o) {
  if (!o) return nullptr;
  return json{{"detections", o->detections},
              {"images", o->images},
              {"detections_per_image_mean", OrNull(o->DetectionsPerImageMean())},
              {"detections_per_image_max", OrNull(o->detections_per_image_max)},
              {"results_bytes", OrNull(o->results_bytes)}};
}

json GalleryImageJson(const GalleryImage& image) {
  return json{{"image_id", image.image_id}, {"uri", image.uri},
              {"bytes", image.bytes},       {"detections", image.detections},
              {"state", FileState(image)},  {"deleted_by_job", IdOrNull(image.deleted_by_job_id)}};
}

json GalleryJson(const std::optional<Gallery>& g) {
  if (!g) return nullptr;
  json images = json::array();
  int64_t bytes = 0;
  for (const GalleryImage& image : g->images) {
    images.push_back(GalleryImageJson(image));
    bytes += image.bytes;
  }
  return json{{"dir_uri", g->dir_uri},
              {"dir", PathOfUri(g->dir_uri)},
              {"seed", g->seed},
              {"count", g->images.size()},
              {"bytes", bytes},
              {"state", GalleryState(*g)},
              {"deleted_by_job", IdOrNull(g->DeletedByJob())},
              {"images", std::move(images)}};
}

json EvaluationJson(const Evaluation& e, std::optional<int64_t> step, bool detail) {
  json out{{"id", e.id.value},
           {"run", e.run_name},
           {"checkpoint", TextOrNull(e.checkpoint_name)},
           {"step", OrNull(step)},
           {"iou_type", std::string(IouTypeName(e.settings.iou_type))},
           {"eval_key", EvalKey(e.settings)},
           {"settings", EvalSettingsJson(e.settings)},
           {"stats", StatsJson(e.stats)},
           {"outputs", OutputsJson(e.outputs)},
           {"created_unix_ms", e.created_unix_ms}};
  if (detail) {
    json cats = json::array();
    for (const CategoryAp& c : e.per_category) {
      cats.push_back(json{{"category_id", c.category_id},
                          {"name", c.category_name},
                          {"AP", HasValue(c.ap) ? json(c.ap) : json(nullptr)}});
    }
    out["per_category"] = std::move(cats);
    out["gallery"] = GalleryJson(e.gallery);
  }
  return out;
}

json LeaderboardGroupJson(const LeaderboardGroup& g) {
  return json{{"eval_key", g.eval_key},
              {"settings", EvalSettingsJson(g.settings)},
              {"run_count", g.run_count},
              {"selected", g.selected}};
}

json LeaderboardRowJson(const LeaderboardRow& row, std::optional<int64_t> step) {
  return json{{"rank", row.rank},
              {"run", RunJson(row.run)},
              {"evaluation", EvaluationJson(row.evaluation, step, /*detail=*/false)},
              {"value", HasValue(row.sort_value) ? json(row.sort_value) : json(nullptr)}};
}

json JobJson(const Job& j) {
  return json{{"id", j.id.value},
              {"kind", std::string(JobKindName(j.kind))},
              {"state", std::string(JobStateName(j.state))},
              {"run", TextOrNull(j.run_name)},
              {"sweep", TextOrNull(j.sweep)},
              {"attempts", j.attempts},
              {"max_attempts", j.max_attempts},
              {"worker", TextOrNull(j.worker)},
              {"last_error", TextOrNull(j.last_error)},
              {"spec", ParsedOrNull(j.spec_json)},
              {"result", ParsedOrNull(j.result_json)},
              {"created_unix_ms", j.created_unix_ms},
              {"updated_unix_ms", j.updated_unix_ms}};
}

json SweepJson(std::optional<int64_t> id, const std::string& name, const SweepProgressCounts& p) {
  return json{{"id", OrNull(id)},
              {"name", TextOrNull(name)},
              {"progress",
               {{"total", p.total},
                {"queued", p.queued},
                {"running", p.running},
                {"succeeded", p.succeeded},
                {"failed", p.failed},
                {"cancelled", p.cancelled},
                {"diverged", p.diverged},
                {"stopped", p.stopped}}},
              {"finished", p.succeeded + p.failed + p.cancelled + p.diverged + p.stopped},
              {"active", p.queued + p.running > 0}};
}

std::string PathOfUri(const std::string& uri) {
  constexpr char kScheme[] = "file://";
  return uri.rfind(kScheme, 0) == 0 ? uri.substr(sizeof(kScheme) - 1) : uri;
}

}  // namespace ablate::server
