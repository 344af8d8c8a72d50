#include "worker/coordinator_sink.h"

#include <filesystem>
#include <variant>

#include "common/coco_stats.h"

namespace ablate::worker {
namespace {

namespace v1 = ablate::v1;

void SetStats(const CocoStats& s, v1::CocoStats* out) {
  out->set_ap(s[0]);
  out->set_ap50(s[1]);
  out->set_ap75(s[2]);
  out->set_aps(s[3]);
  out->set_apm(s[4]);
  out->set_apl(s[5]);
  out->set_ar1(s[6]);
  out->set_ar10(s[7]);
  out->set_ar100(s[8]);
  out->set_ars(s[9]);
  out->set_arm(s[10]);
  out->set_arl(s[11]);
}

// Issue 7: the counts (when the trial reported them) and the gallery. Gallery files stay where
// the trial wrote them; like checkpoints they are registered by file:// URI on the shared
// filesystem (docs/workers.md).
void SetOutputs(const EvaluationEvent& e, v1::RecordEvaluationRequest* request) {
  if (e.detections && e.images) {
    auto* o = request->mutable_outputs();
    o->set_detections(*e.detections);
    o->set_images(*e.images);
    if (e.detections_per_image_max) o->set_detections_per_image_max(*e.detections_per_image_max);
    if (e.results_bytes) o->set_results_bytes(*e.results_bytes);
  }
  if (e.gallery) {
    // The coordinator accepts only normalised folders ("/a/./b/../c/" is "/a/c").
    std::string dir = std::filesystem::path(e.gallery->dir).lexically_normal().string();
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    auto* g = request->mutable_gallery();
    g->set_dir_uri(UriFromPath(dir));
    g->set_seed(e.gallery->seed);
    for (const GalleryImageEvent& image : e.gallery->images) {
      auto* out = g->add_images();
      out->set_image_id(image.image_id);
      out->set_uri(UriFromPath(dir == "/" ? dir + image.file : dir + "/" + image.file));
      out->set_bytes(image.bytes);
      out->set_detections(image.detections);
    }
  }
}

}  // namespace

Status CoordinatorSink::Flush() {
  if (pending_.empty()) return absl::OkStatus();
  v1::LogMetricsRequest request;
  request.mutable_run()->set_name(options_.run_name);
  for (auto& p : pending_) *request.add_points() = std::move(p);
  v1::LogMetricsResponse response;
  ABLATE_RETURN_IF_ERROR(CallWithRetry(options_.retry, [&](grpc::ClientContext& ctx) {
    return coordinator_.LogMetrics(&ctx, request, &response);
  }));
  points_sent_ += request.points_size();
  pending_.clear();
  return absl::OkStatus();
}

Status CoordinatorSink::OnEvent(const TrialEvent& event) {
  if (const auto* m = std::get_if<MetricsEvent>(&event)) {
    if (pending_.empty()) oldest_pending_ = std::chrono::steady_clock::now();
    for (const auto& [key, value] : m->values) {
      v1::MetricPoint p;
      p.set_step(m->step);
      p.set_key(key);
      p.set_value(value);
      pending_.push_back(std::move(p));
    }
    if (pending_.size() >= options_.max_batch_points ||
        std::chrono::steady_clock::now() - oldest_pending_ >= options_.max_batch_age) {
      return Flush();
    }
    return absl::OkStatus();
  }
  if (const auto* started = std::get_if<StartedEvent>(&event)) {
    // Where this attempt started: 0 from scratch, a checkpoint's step when resumed.
    v1::MetricPoint p;
    p.set_step(started->step);
    p.set_key("trial/start_step");
    p.set_value(static_cast<double>(started->step));
    pending_.push_back(std::move(p));
  }
  ABLATE_RETURN_IF_ERROR(Flush());
  if (const auto* c = std::get_if<CheckpointEvent>(&event)) {
    v1::RegisterCheckpointRequest request;
    request.mutable_run()->set_name(options_.run_name);
    request.set_name(c->name);
    request.set_step(c->step);
    request.set_epoch(static_cast<int32_t>(c->epoch));
    request.set_loss(c->loss);
    request.set_uri(UriFromPath(c->path));
    request.set_sha256(c->sha256);
    request.set_bytes(c->bytes);
    v1::RegisterCheckpointResponse response;
    return CallWithRetry(options_.retry, [&](grpc::ClientContext& ctx) {
      return coordinator_.RegisterCheckpoint(&ctx, request, &response);
    });
  }
  if (const auto* e = std::get_if<EvaluationEvent>(&event)) {
    v1::RecordEvaluationRequest request;
    request.mutable_run()->set_name(options_.run_name);
    request.set_checkpoint(options_.run_name + "/" + e->checkpoint);
    auto* settings = request.mutable_settings();
    settings->set_iou_type(e->iou_type == "segm" ? v1::IOU_TYPE_SEGM : v1::IOU_TYPE_BBOX);
    settings->set_score_threshold(e->score_threshold);
    settings->set_top_k(e->top_k);
    settings->set_nms_iou(e->nms_iou);
    settings->set_max_dets(e->max_dets);
    settings->set_dataset_fingerprint(e->dataset_fingerprint);
    SetStats(e->stats, request.mutable_stats());
    for (const auto& c : e->per_category) {
      auto* out = request.add_per_category();
      out->set_category_id(static_cast<int32_t>(c.category_id));
      out->set_category_name(c.name);
      out->set_ap(c.ap);
    }
    SetOutputs(*e, &request);
    v1::RecordEvaluationResponse response;
    return CallWithRetry(options_.retry, [&](grpc::ClientContext& ctx) {
      return coordinator_.RecordEvaluation(&ctx, request, &response);
    });
  }
  return absl::OkStatus();  // started / diverged / finished: the daemon reports the outcome
}

}  // namespace ablate::worker
