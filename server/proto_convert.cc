#include "server/proto_convert.h"

namespace ablate::server {

v1::RunStatus ToProto(RunStatus s) { return static_cast<v1::RunStatus>(static_cast<int>(s) + 1); }

void ToProto(const Run& r, v1::Run* p) {
  p->set_id(r.id.value);
  p->set_name(r.name);
  p->set_sweep(r.sweep);
  p->set_status(ToProto(r.status));
  p->set_config_json(r.config_json);
  p->set_config_fingerprint(r.config_fingerprint);
  if (r.parent_run) p->set_parent_run_id(r.parent_run->value);
  p->set_parent_run_name(r.parent_run_name);
  if (r.parent_checkpoint) p->set_parent_checkpoint_id(r.parent_checkpoint->value);
  p->set_parent_checkpoint_name(r.parent_checkpoint_name);
  p->set_created_unix_ms(r.created_unix_ms);
  p->set_updated_unix_ms(r.updated_unix_ms);
  if (r.stopped_at_step) p->set_stopped_at_step(*r.stopped_at_step);
  p->set_stop_reason(r.stop_reason);
}

void ToProto(const Checkpoint& c, v1::Checkpoint* p) {
  p->set_id(c.id.value);
  p->set_run_id(c.run_id.value);
  p->set_run_name(c.run_name);
  p->set_name(c.name);
  p->set_step(c.step);
  p->set_epoch(static_cast<int32_t>(c.epoch));
  p->set_loss(c.loss.value_or(0));
  p->set_uri(c.uri);
  p->set_sha256(c.sha256);
  p->set_bytes(c.bytes);
  p->set_pinned(c.pinned);
  p->set_created_unix_ms(c.created_unix_ms);
  p->set_deleted_unix_ms(c.deleted_unix_ms.value_or(0));
  p->set_deleted_by_job_id(c.deleted_by_job_id);
  p->set_deleting_job_id(c.deleting_job_id);
}

void ToProto(const EvaluationOutputs& o, v1::EvaluationOutputs* p) {
  p->set_detections(o.detections);
  p->set_images(o.images);
  if (o.detections_per_image_max) p->set_detections_per_image_max(*o.detections_per_image_max);
  if (o.results_bytes) p->set_results_bytes(*o.results_bytes);
  if (auto mean = o.DetectionsPerImageMean()) p->set_detections_per_image_mean(*mean);
}

void ToProto(const Gallery& g, v1::Gallery* p) {
  p->set_dir_uri(g.dir_uri);
  p->set_seed(g.seed);
  for (const GalleryImage& image : g.images) {
    auto* out = p->add_images();
    out->set_image_id(image.image_id);
    out->set_uri(image.uri);
    out->set_bytes(image.bytes);
    out->set_detections(image.detections);
    out->set_deleted_unix_ms(image.deleted_unix_ms.value_or(0));
    out->set_deleted_by_job_id(image.deleted_by_job_id);
    out->set_deleting_job_id(image.deleting_job_id);
  }
}

EvaluationOutputs FromProto(const v1::EvaluationOutputs& p) {
  EvaluationOutputs o{p.detections(), p.images(), std::nullopt, std::nullopt};
  if (p.has_detections_per_image_max()) o.detections_per_image_max = p.detections_per_image_max();
  if (p.has_results_bytes()) o.results_bytes = p.results_bytes();
  return o;
}

// The retention fields of a request are ignored: only the store sets them.
Gallery FromProto(const v1::Gallery& p) {
  Gallery g;
  g.dir_uri = p.dir_uri();
  g.seed = p.seed();
  for (const auto& image : p.images()) {
    g.images.push_back(
        GalleryImage{image.image_id(), image.uri(), image.bytes(), image.detections()});
  }
  return g;
}

v1::JobKind ToProto(JobKind k) {
  switch (k) {
    case JobKind::kTrain:
      return v1::JOB_KIND_TRAIN;
    case JobKind::kEval:
      return v1::JOB_KIND_EVAL;
    case JobKind::kRetention:
      return v1::JOB_KIND_RETENTION;
  }
  return v1::JOB_KIND_UNSPECIFIED;
}

v1::JobState ToProto(JobState s) {
  switch (s) {
    case JobState::kPending:
      return v1::JOB_STATE_PENDING;
    case JobState::kLeased:
      return v1::JOB_STATE_LEASED;
    case JobState::kSucceeded:
      return v1::JOB_STATE_SUCCEEDED;
    case JobState::kFailed:
      return v1::JOB_STATE_FAILED;
    case JobState::kCancelled:
      return v1::JOB_STATE_CANCELLED;
  }
  return v1::JOB_STATE_UNSPECIFIED;
}

std::optional<JobKind> JobKindFromProto(v1::JobKind k) {
  switch (k) {
    case v1::JOB_KIND_TRAIN:
      return JobKind::kTrain;
    case v1::JOB_KIND_EVAL:
      return JobKind::kEval;
    case v1::JOB_KIND_RETENTION:
      return JobKind::kRetention;
    default:
      return std::nullopt;
  }
}

std::optional<JobState> JobStateFromProto(v1::JobState s) {
  switch (s) {
    case v1::JOB_STATE_PENDING:
      return JobState::kPending;
    case v1::JOB_STATE_LEASED:
      return JobState::kLeased;
    case v1::JOB_STATE_SUCCEEDED:
      return JobState::kSucceeded;
    case v1::JOB_STATE_FAILED:
      return JobState::kFailed;
    case v1::JOB_STATE_CANCELLED:
      return JobState::kCancelled;
    default:
      return std::nullopt;
  }
}

}  // namespace ablate::server
