#include "server/scheduler_service.h"

#include "proto/grpc_status.h"
#include "proto/job_enums.h"
#include "server/access_interceptor.h"
#include "server/proto_convert.h"

namespace ablate::server {

using rpc::ToGrpcStatus;
namespace {

void ToProto(const SweepStatus& s, v1::Sweep* p) {
  p->set_id(s.sweep.id);
  p->set_name(s.sweep.name);
  p->set_spec_json(s.sweep.spec_json);
  p->set_max_parallel(s.sweep.max_parallel);
  p->set_created_unix_ms(s.sweep.created_unix_ms);
  ToProto(s.progress, p->mutable_progress());
}

std::optional<JobOutcome> FromProto(v1::JobOutcome o) {
  switch (o) {
    case v1::JOB_OUTCOME_SUCCEEDED:
      return JobOutcome::kSucceeded;
    case v1::JOB_OUTCOME_FAILED:
      return JobOutcome::kFailed;
    case v1::JOB_OUTCOME_DIVERGED:
      return JobOutcome::kDiverged;
    case v1::JOB_OUTCOME_CANCELLED:
      return JobOutcome::kCancelled;
    case v1::JOB_OUTCOME_RELEASED:
      return JobOutcome::kReleased;
    default:
      return std::nullopt;
  }
}

StatusOr<CheckpointDeletion::Result> FromProto(v1::DeletionResult r) {
  switch (r) {
    case v1::DELETION_RESULT_DELETED:
      return CheckpointDeletion::Result::kDeleted;
    case v1::DELETION_RESULT_MISSING:
      return CheckpointDeletion::Result::kMissing;
    case v1::DELETION_RESULT_FAILED:
      return CheckpointDeletion::Result::kFailed;
    default:
      return absl::InvalidArgumentError("deletion result is required");
  }
}

void ToProto(const Job& j, v1::JobSummary* p) {
  p->set_id(j.id.value);
  rpc::SetJobKind(ToProto(j.kind), p);  // the enum and the deprecated string
  rpc::SetJobState(ToProto(j.state), p);
  p->set_run(j.run_name);
  p->set_sweep(j.sweep);
  p->set_attempts(j.attempts);
  p->set_max_attempts(j.max_attempts);
  p->set_worker(j.worker);
  p->set_last_error(j.last_error);
  p->set_spec_json(j.spec_json);
  p->set_result_json(j.result_json);
  p->set_created_unix_ms(j.created_unix_ms);
  p->set_updated_unix_ms(j.updated_unix_ms);
}

grpc::Status Invalid(const std::string& message) {
  return ToGrpcStatus(absl::InvalidArgumentError(message));
}

}  // namespace

grpc::Status SchedulerService::SubmitSweep(grpc::ServerContext* context,
                                           const v1::SubmitSweepRequest* req,
                                           v1::SubmitSweepResponse* resp) {
  ABLATE_RETURN_IF_ACCESS_DENIED(context);
  if (req->spec_yaml().empty()) return Invalid("spec_yaml is empty");
  std::vector<std::string> overrides(req->overrides().begin(), req->overrides().end());
  auto result =
      scheduler_.SubmitSweep(req->spec_yaml(), req->source().empty() ? "<spec>" : req->source(),
                             overrides, req->base_dir(), req->dry_run());
  if (!result.ok()) return ToGrpcStatus(result.status());
  auto* sweep = resp->mutable_sweep();
  sweep->set_name(result->sweep);
  sweep->set_spec_json(result->spec_json);
  sweep->set_max_parallel(result->max_parallel);
  sweep->mutable_progress()->set_total(static_cast<int32_t>(result->trials.size()));
  for (const auto& t : result->trials) {
    auto* out = resp->add_trials();
    out->set_index(t.index);
    out->set_run_name(t.run_name);
    out->set_params_json(t.params.dump());
    out->set_fingerprint(t.fingerprint);
    out->set_reused(t.reused);
  }
  resp->set_dropped_by_constraints(result->dropped_by_constraints);
  return grpc::Status::OK;
}

grpc::Status SchedulerService::ListSweeps(grpc::ServerContext* context,
                                          const v1::ListSweepsRequest*,
                                          v1::ListSweepsResponse* resp) {
  ABLATE_RETURN_IF_ACCESS_DENIED(context);
  auto sweeps = scheduler_.ListSweeps();
  if (!sweeps.ok()) return ToGrpcStatus(sweeps.status());
  for (const auto& s : *sweeps) ToProto(s, resp->add_sweeps());
  return grpc::Status::OK;
}

grpc::Status SchedulerService::GetSweep(grpc::ServerContext* context,
                                        const v1::GetSweepRequest* req,
                                        v1::GetSweepResponse* resp) {
  ABLATE_RETURN_IF_ACCESS_DENIED(context);
  if (req->sweep().empty()) return Invalid("sweep is required");
  auto s = scheduler_.GetSweep(req->sweep());
  if (!s.ok()) return ToGrpcStatus(s.status());
  ToProto(*s, resp->mutable_sweep());
  for (const auto& t : s->trials) {
    auto* out = resp->add_trials();
    ToProto(t.run, out->mutable_run());
    out->set_step(t.step);
    out->set_total_steps(t.total_steps);
    out->set_loss(t.loss.value_or(0));
    out->set_has_ap(t.last_ap.has_value());
    out->set_last_ap(t.last_ap.value_or(0));
    out->set_worker(t.worker);
    out->set_attempts(t.attempts);
    out->set_last_error(t.last_error);
  }
  return grpc::Status::OK;
}

grpc::Status SchedulerService::Cancel(grpc::ServerContext* context, const v1::CancelRequest* req,
                                      v1::CancelResponse* resp) {
  ABLATE_RETURN_IF_ACCESS_DENIED(context);
  auto n = scheduler_.Cancel(req->sweep(), req->run(), req->job());
  if (!n.ok()) return ToGrpcStatus(n.status());
  resp->set_cancelled(*n);
  return grpc::Status::OK;
}

grpc::Status SchedulerService::ForkRun(grpc::ServerContext* context, const v1::ForkRunRequest* req,
                                       v1::ForkRunResponse* resp) {
  ABLATE_RETURN_IF_ACCESS_DENIED(context);
  if (req->checkpoint().empty()) return Invalid("checkpoint is required");
  std::vector<std::string> overrides(req->overrides().begin(), req->overrides().end());
  const std::string& ref = req->checkpoint();
  const bool from_file = ref.rfind("file:", 0) == 0;
  if (!from_file && !req->config_from().empty()) {
    return Invalid(
        "config_from applies to a file: fork only; a checkpoint's fork takes its run's "
        "config");
  }
  StatusOr<std::pair<Run, Job>> r =
      from_file
          ? scheduler_.ForkRunFromFile(ref.substr(5), req->config_from(), overrides, req->steps(),
                                       req->reset_optimizer(), req->name())
          : scheduler_.ForkRun(ref, overrides, req->steps(), req->reset_optimizer(), req->name());
  if (!r.ok()) return ToGrpcStatus(r.status());
  ToProto(r->first, resp->mutable_run());
  resp->set_job_id(r->second.id.value);
  return grpc::Status::OK;
}

grpc::Status SchedulerService::EvaluateCheckpoint(grpc::ServerContext* context,
                                                  const v1::EvaluateCheckpointRequest* req,
                                                  v1::EvaluateCheckpointResponse* resp) {
  ABLATE_RETURN_IF_ACCESS_DENIED(context);
  if (req->checkpoint().empty()) return Invalid("checkpoint is required");
  EvalOverrides o;
  if (req->has_score_threshold()) o.score_threshold = req->score_threshold();
  if (req->has_top_k()) o.top_k = req->top_k();
  if (req->has_nms_iou()) o.nms_iou = req->nms_iou();
  if (req->has_max_dets()) o.max_dets = req->max_dets();
  auto r = scheduler_.EvaluateCheckpoint(req->checkpoint(), o);
  if (!r.ok()) return ToGrpcStatus(r.status());
  ToProto(r->first, resp->mutable_run());
  resp->set_job_id(r->second.id.value);
  return grpc::Status::OK;
}

grpc::Status SchedulerService::Lineage(grpc::ServerContext* context, const v1::LineageRequest* req,
                                       v1::LineageResponse* resp) {
  ABLATE_RETURN_IF_ACCESS_DENIED(context);
  std::optional<std::string> run;
  if (req->has_run()) {
    run = req->run().has_id() ? std::to_string(req->run().id()) : req->run().name();
  }
  auto nodes = scheduler_.Lineage(run);
  if (!nodes.ok()) return ToGrpcStatus(nodes.status());
  for (const auto& n : *nodes) {
    auto* out = resp->add_nodes();
    ToProto(n.run, out->mutable_run());
    out->set_has_ap(n.best_ap.has_value());
    out->set_best_ap(n.best_ap.value_or(0));
    for (const auto& c : n.checkpoints) ToProto(c, out->add_checkpoints());
  }
  return grpc::Status::OK;
}

grpc::Status SchedulerService::SubmitRetention(grpc::ServerContext* context,
                                               const v1::SubmitRetentionRequest* req,
                                               v1::SubmitRetentionResponse* resp) {
  ABLATE_RETURN_IF_ACCESS_DENIED(context);
  std::optional<int> keep_last;
  if (req->has_keep_last()) keep_last = req->keep_last();
  auto r = scheduler_.SubmitRetention(keep_last, req->run(), req->sweep(), req->dry_run());
  if (!r.ok()) return ToGrpcStatus(r.status());
  if (r->job) resp->set_job_id(r->job->id.value);
  resp->set_keep_last(r->plan.keep_last);
  for (const CheckpointVerdict& v : r->plan.verdicts) {
    auto* out = resp->add_verdicts();
    ToProto(v.checkpoint, out->mutable_checkpoint());
    out->set_remove(v.remove);
    for (const auto& why : v.keep_reasons) out->add_keep_reasons(why);
    out->set_gallery_files(static_cast<int32_t>(v.gallery.size()));
    out->set_gallery_bytes(v.GalleryBytes());
  }
  resp->set_to_delete(r->plan.to_delete);
  resp->set_bytes_to_free(r->plan.bytes_to_free);
  resp->set_gallery_files(r->plan.gallery_files);
  resp->set_gallery_bytes(r->plan.gallery_bytes);
  int64_t leftover_bytes = 0;
  for (const GalleryFile& f : r->plan.leftover_gallery) leftover_bytes += f.bytes;
  resp->set_leftover_gallery_files(static_cast<int32_t>(r->plan.leftover_gallery.size()));
  resp->set_leftover_gallery_bytes(leftover_bytes);
  return grpc::Status::OK;
}

grpc::Status SchedulerService::ListJobs(grpc::ServerContext* context,
                                        const v1::ListJobsRequest* req,
                                        v1::ListJobsResponse* resp) {
  ABLATE_RETURN_IF_ACCESS_DENIED(context);
  JobFilter filter;
  if (req->job_id() != 0) filter.id = JobId{req->job_id()};
  // The enum first; a client from before it sends the string (proto/job_enums.h).
  if (req->job_kind() != v1::JOB_KIND_UNSPECIFIED) {
    filter.kind = JobKindFromProto(req->job_kind());
    if (!filter.kind) {
      return Invalid("unknown job kind '" + std::to_string(req->job_kind()) +
                     "'; expected train, eval or retention");
    }
  } else if (!req->kind().empty()) {
    filter.kind = ParseJobKind(req->kind());
    if (!filter.kind) {
      return Invalid("unknown job kind '" + req->kind() + "'; expected train, eval or retention");
    }
  }
  if (req->limit() < 0) return Invalid("limit must be >= 0");
  filter.limit = req->limit() == 0 ? 50 : req->limit();
  auto jobs = scheduler_.ListJobs(filter);
  if (!jobs.ok()) return ToGrpcStatus(jobs.status());
  for (const Job& j : *jobs) ToProto(j, resp->add_jobs());
  return grpc::Status::OK;
}

grpc::Status SchedulerService::RegisterWorker(grpc::ServerContext* context,
                                              const v1::RegisterWorkerRequest* req,
                                              v1::RegisterWorkerResponse* resp) {
  ABLATE_RETURN_IF_ACCESS_DENIED(context);
  if (req->name().empty()) return Invalid("worker name is required");
  auto w = scheduler_.RegisterWorker(req->name(), req->host(), req->slots() > 0 ? req->slots() : 1,
                                     req->device());
  if (!w.ok()) return ToGrpcStatus(w.status());
  resp->set_worker_id(w->id.value);
  resp->set_lease_ttl_ms(scheduler_.options().lease_ttl_ms);
  resp->set_heartbeat_interval_ms(scheduler_.options().heartbeat_interval_ms);
  return grpc::Status::OK;
}

grpc::Status SchedulerService::LeaseJob(grpc::ServerContext* context,
                                        const v1::LeaseJobRequest* req,
                                        v1::LeaseJobResponse* resp) {
  ABLATE_RETURN_IF_ACCESS_DENIED(context);
  auto leased = scheduler_.LeaseJob(WorkerId{req->worker_id()});
  if (!leased.ok()) return ToGrpcStatus(leased.status());
  if (!leased->has_value()) return grpc::Status::OK;
  const LeasedJob& l = **leased;
  auto* job = resp->mutable_job();
  job->set_job_id(l.job.id.value);
  job->set_lease_id(l.lease.id.value);
  rpc::SetJobKind(ToProto(l.job.kind), job);
  job->set_run_name(l.job.run_name);
  job->set_spec_json(l.spec_json);
  job->set_expires_unix_ms(l.lease.expires_unix_ms);
  job->set_attempt(l.job.attempts);
  return grpc::Status::OK;
}

grpc::Status SchedulerService::Heartbeat(grpc::ServerContext* context,
                                         const v1::HeartbeatRequest* req,
                                         v1::HeartbeatResponse* resp) {
  ABLATE_RETURN_IF_ACCESS_DENIED(context);
  std::vector<LeaseId> leases;
  for (int64_t id : req->lease_ids()) leases.push_back(LeaseId{id});
  auto stop = scheduler_.Heartbeat(WorkerId{req->worker_id()}, leases);
  if (!stop.ok()) return ToGrpcStatus(stop.status());
  for (LeaseId id : *stop) resp->add_stop_lease_ids(id.value);
  return grpc::Status::OK;
}

grpc::Status SchedulerService::CompleteJob(grpc::ServerContext* context,
                                           const v1::CompleteJobRequest* req,
                                           v1::CompleteJobResponse* resp) {
  ABLATE_RETURN_IF_ACCESS_DENIED(context);
  auto outcome = FromProto(req->outcome());
  if (!outcome) return Invalid("outcome is required");
  std::vector<CheckpointDeletion> deletions;
  for (const auto& d : req->deletions()) {
    auto result = FromProto(d.result());
    if (!result.ok()) {
      return Invalid("deletion of checkpoint " + std::to_string(d.checkpoint_id()) +
                     ": result is required");
    }
    deletions.push_back(
        CheckpointDeletion{CheckpointId{d.checkpoint_id()}, *result, d.reason(), d.bytes_freed()});
  }
  std::vector<GalleryFileDeletion> gallery_deletions;
  for (const auto& d : req->gallery_deletions()) {
    auto result = FromProto(d.result());
    if (!result.ok())
      return Invalid("deletion of gallery file " + d.uri() + ": result is required");
    gallery_deletions.push_back(GalleryFileDeletion{d.uri(), *result, d.reason(), d.bytes_freed()});
  }
  auto r = scheduler_.CompleteJob(LeaseId{req->lease_id()}, *outcome, req->reason(), deletions,
                                  gallery_deletions);
  if (!r.ok()) return ToGrpcStatus(r.status());
  resp->set_will_retry(r->will_retry);
  return grpc::Status::OK;
}

}  // namespace ablate::server
