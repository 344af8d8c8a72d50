#include "server/proto_convert.h"

#include "proto/job_enums.h"

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
  if (c.loss) p->set_loss(*c.loss);
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

CocoStats StatsFromProto(const v1::CocoStats& p) {
  CocoStats s{};
  const auto* d = p.GetDescriptor();
  const auto* r = p.GetReflection();
  for (int i = 0; i < kNumCocoStats; ++i) s[static_cast<size_t>(i)] = r->GetDouble(p, d->field(i));
  return s;
}

void ToProto(const CocoStats& s, v1::CocoStats* p) {
  const auto* d = p->GetDescriptor();
  const auto* r = p->GetReflection();
  for (int i = 0; i < kNumCocoStats; ++i) r->SetDouble(p, d->field(i), s[static_cast<size_t>(i)]);
}

v1::IouType ToProto(IouType t) {
  return t == IouType::kBbox ? v1::IOU_TYPE_BBOX : v1::IOU_TYPE_SEGM;
}

void ToProto(const EvalSettings& s, v1::EvalSettings* p) {
  p->set_iou_type(ToProto(s.iou_type));
  if (s.score_threshold) p->set_score_threshold(*s.score_threshold);
  if (s.top_k) p->set_top_k(static_cast<int32_t>(*s.top_k));
  if (s.nms_iou) p->set_nms_iou(*s.nms_iou);
  if (s.max_dets) p->set_max_dets(static_cast<int32_t>(*s.max_dets));
  p->set_dataset_fingerprint(s.dataset_fingerprint);
}

void ToProto(const Evaluation& e, v1::Evaluation* p) {
  p->set_id(e.id.value);
  p->set_run_id(e.run_id.value);
  p->set_run_name(e.run_name);
  if (e.checkpoint_id) p->set_checkpoint_id(e.checkpoint_id->value);
  p->set_checkpoint_name(e.checkpoint_name);
  ToProto(e.settings, p->mutable_settings());
  ToProto(e.stats, p->mutable_stats());
  for (const CategoryAp& c : e.per_category) {
    auto* pc = p->add_per_category();
    pc->set_category_id(static_cast<int32_t>(c.category_id));
    pc->set_category_name(c.category_name);
    pc->set_ap(c.ap);
  }
  p->set_eval_key(EvalKey(e.settings));
  p->set_created_unix_ms(e.created_unix_ms);
  if (e.outputs) ToProto(*e.outputs, p->mutable_outputs());
  if (e.gallery) ToProto(*e.gallery, p->mutable_gallery());
}

RunStatus RunStatusFromProto(v1::RunStatus s) {
  const int i = static_cast<int>(s) - 1;  // the inverse of ToProto(RunStatus)
  if (i < 0 || i > static_cast<int>(RunStatus::kStopped)) return RunStatus::kQueued;
  return static_cast<RunStatus>(i);
}

EvalSettings RecordFromProto(const v1::EvalSettings& p) {
  EvalSettings s;
  s.iou_type = p.iou_type() == v1::IOU_TYPE_SEGM ? IouType::kSegm : IouType::kBbox;
  if (p.has_score_threshold()) s.score_threshold = p.score_threshold();
  if (p.has_top_k()) s.top_k = p.top_k();
  if (p.has_nms_iou()) s.nms_iou = p.nms_iou();
  if (p.has_max_dets()) s.max_dets = p.max_dets();
  s.dataset_fingerprint = p.dataset_fingerprint();
  return s;
}

Run RecordFromProto(const v1::Run& p) {
  Run r;
  r.id = RunId{p.id()};
  r.name = p.name();
  r.sweep = p.sweep();
  r.status = RunStatusFromProto(p.status());
  r.config_json = p.config_json();
  r.config_fingerprint = p.config_fingerprint();
  if (p.parent_run_id() != 0) r.parent_run = RunId{p.parent_run_id()};
  r.parent_run_name = p.parent_run_name();
  if (p.parent_checkpoint_id() != 0) r.parent_checkpoint = CheckpointId{p.parent_checkpoint_id()};
  r.parent_checkpoint_name = p.parent_checkpoint_name();
  r.created_unix_ms = p.created_unix_ms();
  r.updated_unix_ms = p.updated_unix_ms();
  if (p.has_stopped_at_step()) r.stopped_at_step = p.stopped_at_step();
  r.stop_reason = p.stop_reason();
  return r;
}

Checkpoint RecordFromProto(const v1::Checkpoint& p) {
  Checkpoint c;
  c.id = CheckpointId{p.id()};
  c.run_id = RunId{p.run_id()};
  c.run_name = p.run_name();
  c.name = p.name();
  c.step = p.step();
  c.epoch = p.epoch();
  if (p.has_loss()) c.loss = p.loss();
  c.uri = p.uri();
  c.sha256 = p.sha256();
  c.bytes = p.bytes();
  c.pinned = p.pinned();
  c.created_unix_ms = p.created_unix_ms();
  if (p.deleted_unix_ms() != 0) c.deleted_unix_ms = p.deleted_unix_ms();
  c.deleted_by_job_id = p.deleted_by_job_id();
  c.deleting_job_id = p.deleting_job_id();
  return c;
}

Gallery RecordFromProto(const v1::Gallery& p) {
  Gallery g = FromProto(p);
  for (size_t i = 0; i < g.images.size(); ++i) {  // the retention state FromProto leaves out
    const v1::GalleryImage& image = p.images(static_cast<int>(i));
    if (image.deleted_unix_ms() != 0) g.images[i].deleted_unix_ms = image.deleted_unix_ms();
    g.images[i].deleted_by_job_id = image.deleted_by_job_id();
    g.images[i].deleting_job_id = image.deleting_job_id();
  }
  return g;
}

Evaluation RecordFromProto(const v1::Evaluation& p) {
  Evaluation e;
  e.id = EvaluationId{p.id()};
  e.run_id = RunId{p.run_id()};
  e.run_name = p.run_name();
  if (p.checkpoint_id() != 0) e.checkpoint_id = CheckpointId{p.checkpoint_id()};
  e.checkpoint_name = p.checkpoint_name();
  e.settings = RecordFromProto(p.settings());
  e.stats = StatsFromProto(p.stats());
  for (const v1::CategoryAp& c : p.per_category()) {
    e.per_category.push_back(CategoryAp{c.category_id(), c.category_name(), c.ap()});
  }
  if (p.has_outputs()) e.outputs = FromProto(p.outputs());
  if (p.has_gallery()) e.gallery = RecordFromProto(p.gallery());
  e.created_unix_ms = p.created_unix_ms();
  return e;
}

Job RecordFromProto(const v1::JobSummary& p) {
  Job j;
  j.id = JobId{p.id()};
  j.run_name = p.run();
  j.sweep = p.sweep();
  j.kind = JobKindFromProto(rpc::JobKindOf(p)).value_or(JobKind::kTrain);
  j.state = JobStateFromProto(rpc::JobStateOf(p)).value_or(JobState::kPending);
  j.spec_json = p.spec_json();
  j.attempts = p.attempts();
  j.max_attempts = p.max_attempts();
  j.last_error = p.last_error();
  j.result_json = p.result_json();
  j.worker = p.worker();
  j.created_unix_ms = p.created_unix_ms();
  j.updated_unix_ms = p.updated_unix_ms();
  return j;
}

void ToProto(const SweepProgressCounts& c, v1::SweepProgress* p) {
  p->set_total(c.total);
  p->set_queued(c.queued);
  p->set_running(c.running);
  p->set_succeeded(c.succeeded);
  p->set_failed(c.failed);
  p->set_cancelled(c.cancelled);
  p->set_diverged(c.diverged);
  p->set_stopped(c.stopped);
}

SweepProgressCounts RecordFromProto(const v1::SweepProgress& p) {
  return {.total = p.total(),
          .queued = p.queued(),
          .running = p.running(),
          .succeeded = p.succeeded(),
          .failed = p.failed(),
          .cancelled = p.cancelled(),
          .diverged = p.diverged(),
          .stopped = p.stopped()};
}

}  // namespace ablate::server
