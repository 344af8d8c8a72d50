#include "server/coordinator_service.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/json_limits.h"
#include "proto/grpc_status.h"
#include "server/access_interceptor.h"
#include "server/diary_import.h"
#include "server/leaderboard.h"
#include "server/proto_convert.h"
#include "server/refs.h"
#include "server/run_comparison.h"
#include "server/run_lifecycle.h"

namespace ablate::server {

using rpc::ToGrpcStatus;
namespace {

// ---- enums ----

StatusOr<RunStatus> FromProto(v1::RunStatus s, RunStatus if_unspecified) {
  switch (s) {
    case v1::RUN_STATUS_UNSPECIFIED:
      return if_unspecified;
    case v1::RUN_STATUS_QUEUED:
      return RunStatus::kQueued;
    case v1::RUN_STATUS_RUNNING:
      return RunStatus::kRunning;
    case v1::RUN_STATUS_SUCCEEDED:
      return RunStatus::kSucceeded;
    case v1::RUN_STATUS_FAILED:
      return RunStatus::kFailed;
    case v1::RUN_STATUS_CANCELLED:
      return RunStatus::kCancelled;
    case v1::RUN_STATUS_DIVERGED:
      return RunStatus::kDiverged;
    case v1::RUN_STATUS_STOPPED:
      return RunStatus::kStopped;
    default:
      return absl::InvalidArgumentError(absl::StrCat("unknown run status ", s));
  }
}

StatusOr<IouType> FromProto(v1::IouType t) {
  switch (t) {
    case v1::IOU_TYPE_UNSPECIFIED:
    case v1::IOU_TYPE_BBOX:
      return IouType::kBbox;
    case v1::IOU_TYPE_SEGM:
      return IouType::kSegm;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unknown iou type ", t, "; expected bbox or segm"));
  }
}

StatusOr<std::vector<RunStatus>> StatusesFromProto(
    const google::protobuf::RepeatedField<int>& list) {
  std::vector<RunStatus> out;
  for (int s : list) {
    if (s == v1::RUN_STATUS_UNSPECIFIED) {
      return absl::InvalidArgumentError("status filter contains RUN_STATUS_UNSPECIFIED");
    }
    ABLATE_ASSIGN_OR_RETURN(RunStatus st,
                            FromProto(static_cast<v1::RunStatus>(s), RunStatus::kQueued));
    out.push_back(st);
  }
  return out;
}

// ---- messages ----

StatusOr<CocoStats> FromProto(const v1::CocoStats& p) {
  CocoStats s{};
  const auto* d = p.GetDescriptor();
  const auto* r = p.GetReflection();
  for (int i = 0; i < kNumCocoStats; ++i) {
    s[static_cast<size_t>(i)] = r->GetDouble(p, d->field(i));
    if (!std::isfinite(s[static_cast<size_t>(i)])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "stat ", std::string(kCocoStatNames[static_cast<size_t>(i)]), " is not a finite number"));
    }
  }
  return s;
}

StatusOr<EvalSettings> FromProto(const v1::EvalSettings& p) {
  EvalSettings s;
  ABLATE_ASSIGN_OR_RETURN(s.iou_type, FromProto(p.iou_type()));
  if (p.has_score_threshold()) s.score_threshold = p.score_threshold();
  if (p.has_top_k()) s.top_k = p.top_k();
  if (p.has_nms_iou()) s.nms_iou = p.nms_iou();
  if (p.has_max_dets()) s.max_dets = p.max_dets();
  s.dataset_fingerprint = p.dataset_fingerprint();
  if (s.dataset_fingerprint.empty()) {
    return absl::InvalidArgumentError("eval settings need a dataset_fingerprint");
  }
  return s;
}

StatusOr<Run> ResolveRunRef(RunStore& store, const v1::RunRef& ref, std::string_view field) {
  switch (ref.ref_case()) {
    case v1::RunRef::kId:
      return store.GetRun(RunId{ref.id()});
    case v1::RunRef::kName:
      return ResolveRunName(store, ref.name());
    default:
      return absl::InvalidArgumentError(absl::StrCat(std::string(field), " is required"));
  }
}

StatusOr<int> StatIndex(const std::string& name) {
  if (name.empty()) return 0;
  if (auto i = CocoStatIndex(name)) return *i;
  std::vector<std::string> names(kCocoStatNames.begin(), kCocoStatNames.end());
  return absl::InvalidArgumentError(
      absl::StrCat("unknown stat '", name, "'; expected one of ", absl::StrJoin(names, ", ")));
}

// Runs `body` and converts its Status in the one place that does so.
template <typename F>
grpc::Status Handle(F&& body) {
  return ToGrpcStatus(body());
}

}  // namespace

grpc::Status CoordinatorService::CreateRun(grpc::ServerContext* context,
                                           const v1::CreateRunRequest* req,
                                           v1::CreateRunResponse* resp) {
  ABLATE_RETURN_IF_ACCESS_DENIED(context);
  return Handle([&]() -> Status {
    NewRun nr;
    nr.name = req->name();
    nr.sweep = req->sweep();
    if (!req->config_json().empty()) {
      ABLATE_ASSIGN_OR_RETURN(nr.config, ParseUntrustedJson(req->config_json(), "config_json"));
    }
    ABLATE_ASSIGN_OR_RETURN(nr.status, FromProto(req->status(), RunStatus::kQueued));
    if (!req->parent_checkpoint().empty()) {
      ABLATE_ASSIGN_OR_RETURN(Checkpoint parent,
                              ResolveCheckpointRef(store_, req->parent_checkpoint()));
      nr.parent_checkpoint = parent.id;
    }
    ABLATE_ASSIGN_OR_RETURN(auto created, store_.CreateRun(nr));
    ToProto(created.value, resp->mutable_run());
    resp->set_created(created.created);
    return absl::OkStatus();
  });
}

grpc::Status CoordinatorService::GetRun(grpc::ServerContext* context, const v1::GetRunRequest* req,
                                        v1::GetRunResponse* resp) {
  ABLATE_RETURN_IF_ACCESS_DENIED(context);
  return Handle([&]() -> Status {
    ABLATE_ASSIGN_OR_RETURN(Run run, ResolveRunRef(store_, req->run(), "run"));
    ToProto(run, resp->mutable_run());
    ABLATE_ASSIGN_OR_RETURN(auto checkpoints, store_.ListCheckpoints(run.id));
    for (const auto& c : checkpoints) ToProto(c, resp->add_checkpoints());
    EvaluationFilter f;
    f.run = run.id;
    ABLATE_ASSIGN_OR_RETURN(auto evals, store_.ListEvaluations(f));
    for (const auto& e : evals) ToProto(e, resp->add_evaluations());
    ABLATE_ASSIGN_OR_RETURN(auto metrics, store_.LatestMetrics(run.id));
    for (const auto& m : metrics) {
      auto* p = resp->add_latest_metrics();
      p->set_step(m.step);
      p->set_key(m.key);
      p->set_value(m.value);
    }
    return absl::OkStatus();
  });
}

grpc::Status CoordinatorService::ListRuns(grpc::ServerContext* context,
                                          const v1::ListRunsRequest* req,
                                          v1::ListRunsResponse* resp) {
  ABLATE_RETURN_IF_ACCESS_DENIED(context);
  return Handle([&]() -> Status {
    RunFilter f;
    f.sweep = req->sweep();
    f.name_prefix = req->name_prefix();
    ABLATE_ASSIGN_OR_RETURN(f.statuses, StatusesFromProto(req->statuses()));
    if (req->page_size() < 0 || req->page_size() > options_.max_page_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("page_size ", req->page_size(), " is outside 0..", options_.max_page_size));
    }
    const int page = req->page_size() == 0 ? 100 : req->page_size();
    if (!req->page_token().empty()) {
      char* end = nullptr;
      f.after_id = std::strtoll(req->page_token().c_str(), &end, 10);
      if (*end != '\0' || f.after_id < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("page_token '", req->page_token(), "' is not one this server issued"));
      }
    }
    f.limit = page + 1;  // one extra row tells whether there is a next page
    ABLATE_ASSIGN_OR_RETURN(auto runs, store_.ListRuns(f));
    const bool more = runs.size() > static_cast<size_t>(page);
    if (more) runs.resize(static_cast<size_t>(page));
    for (const auto& r : runs) ToProto(r, resp->add_runs());
    if (more) resp->set_next_page_token(std::to_string(runs.back().id.value));
    return absl::OkStatus();
  });
}

grpc::Status CoordinatorService::SetRunStatus(grpc::ServerContext* context,
                                              const v1::SetRunStatusRequest* req,
                                              v1::SetRunStatusResponse* resp) {
  ABLATE_RETURN_IF_ACCESS_DENIED(context);
  return Handle([&]() -> Status {
    if (req->status() == v1::RUN_STATUS_UNSPECIFIED) {
      return absl::InvalidArgumentError("status is required");
    }
    ABLATE_ASSIGN_OR_RETURN(RunStatus st, FromProto(req->status(), RunStatus::kQueued));
    ABLATE_ASSIGN_OR_RETURN(Run run, ResolveRunRef(store_, req->run(), "run"));
    ABLATE_RETURN_IF_ERROR(CheckRunStatusTransition(run.status, st));
    ABLATE_ASSIGN_OR_RETURN(Run updated, store_.SetRunStatus(run.id, st));
    ToProto(updated, resp->mutable_run());
    return absl::OkStatus();
  });
}

grpc::Status CoordinatorService::LogMetrics(grpc::ServerContext* context,
                                            const v1::LogMetricsRequest* req,
                                            v1::LogMetricsResponse* resp) {
  ABLATE_RETURN_IF_ACCESS_DENIED(context);
  return Handle([&]() -> Status {
    if (req->points_size() > options_.max_metric_batch) {
      return absl::InvalidArgumentError(
          absl::StrCat("LogMetrics batch of ", req->points_size(), " points exceeds the limit of ",
                       options_.max_metric_batch, "; split it into smaller batches"));
    }
    std::vector<MetricPoint> points;
    points.reserve(static_cast<size_t>(req->points_size()));
    for (const auto& p : req->points()) {
      if (p.key().empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("metric at step ", p.step(), " has an empty key"));
      }
      if (!std::isfinite(p.value())) {
        return absl::InvalidArgumentError(
            absl::StrCat("metric '", p.key(), "' at step ", p.step(),
                         " is not finite; mark the run diverged with SetRunStatus instead"));
      }
      points.push_back(MetricPoint{p.step(), p.key(), p.value()});
    }
    ABLATE_ASSIGN_OR_RETURN(Run run, ResolveRunRef(store_, req->run(), "run"));
    ABLATE_RETURN_IF_ERROR(store_.LogMetrics(run.id, points));
    resp->set_accepted(static_cast<int32_t>(points.size()));
    return absl::OkStatus();
  });
}

grpc::Status CoordinatorService::RegisterCheckpoint(grpc::ServerContext* context,
                                                    const v1::RegisterCheckpointRequest* req,
                                                    v1::RegisterCheckpointResponse* resp) {
  ABLATE_RETURN_IF_ACCESS_DENIED(context);
  return Handle([&]() -> Status {
    if (req->name().empty()) return absl::InvalidArgumentError("checkpoint name is required");
    if (req->name().find('/') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("checkpoint name '", req->name(), "' must not contain '/'"));
    }
    ABLATE_ASSIGN_OR_RETURN(Run run, ResolveRunRef(store_, req->run(), "run"));
    NewCheckpoint c;
    c.run = run.id;
    c.name = req->name();
    c.step = req->step();
    if (c.step == 0 && c.name.rfind("step", 0) == 0) {
      c.step = std::strtoll(c.name.c_str() + 4, nullptr, 10);
    }
    c.epoch = req->epoch();
    if (req->loss() != 0) c.loss = req->loss();
    c.uri = req->uri();
    c.sha256 = req->sha256();
    c.bytes = req->bytes();
    c.pinned = req->pinned();
    ABLATE_ASSIGN_OR_RETURN(auto created, store_.RegisterCheckpoint(c));
    ToProto(created.value, resp->mutable_checkpoint());
    resp->set_created(created.created);
    return absl::OkStatus();
  });
}

grpc::Status CoordinatorService::ResolveCheckpoint(grpc::ServerContext* context,
                                                   const v1::ResolveCheckpointRequest* req,
                                                   v1::ResolveCheckpointResponse* resp) {
  ABLATE_RETURN_IF_ACCESS_DENIED(context);
  return Handle([&]() -> Status {
    ABLATE_ASSIGN_OR_RETURN(Checkpoint c, ResolveCheckpointRef(store_, req->ref()));
    ABLATE_RETURN_IF_ERROR(RequireCheckpointFileKept(c));
    ToProto(c, resp->mutable_checkpoint());
    return absl::OkStatus();
  });
}

grpc::Status CoordinatorService::SetCheckpointPinned(grpc::ServerContext* context,
                                                     const v1::SetCheckpointPinnedRequest* req,
                                                     v1::SetCheckpointPinnedResponse* resp) {
  ABLATE_RETURN_IF_ACCESS_DENIED(context);
  return Handle([&]() -> Status {
    if (req->checkpoint().empty()) return absl::InvalidArgumentError("checkpoint is required");
    ABLATE_ASSIGN_OR_RETURN(Checkpoint before, ResolveCheckpointRef(store_, req->checkpoint()));
    ABLATE_ASSIGN_OR_RETURN(Checkpoint after, store_.SetCheckpointPinned(before.id, req->pinned()));
    ToProto(after, resp->mutable_checkpoint());
    resp->set_changed(before.pinned != after.pinned);
    return absl::OkStatus();
  });
}

grpc::Status CoordinatorService::ListCheckpoints(grpc::ServerContext* context,
                                                 const v1::ListCheckpointsRequest* req,
                                                 v1::ListCheckpointsResponse* resp) {
  ABLATE_RETURN_IF_ACCESS_DENIED(context);
  return Handle([&]() -> Status {
    std::optional<RunId> run;
    if (req->has_run() && req->run().ref_case() != v1::RunRef::REF_NOT_SET) {
      ABLATE_ASSIGN_OR_RETURN(Run r, ResolveRunRef(store_, req->run(), "run"));
      run = r.id;
    }
    ABLATE_ASSIGN_OR_RETURN(auto list, store_.ListCheckpoints(run));
    for (const auto& c : list) ToProto(c, resp->add_checkpoints());
    return absl::OkStatus();
  });
}

grpc::Status CoordinatorService::RecordEvaluation(grpc::ServerContext* context,
                                                  const v1::RecordEvaluationRequest* req,
                                                  v1::RecordEvaluationResponse* resp) {
  ABLATE_RETURN_IF_ACCESS_DENIED(context);
  return Handle([&]() -> Status {
    NewEvaluation e;
    ABLATE_ASSIGN_OR_RETURN(e.settings, FromProto(req->settings()));
    ABLATE_ASSIGN_OR_RETURN(e.stats, FromProto(req->stats()));
    std::optional<Checkpoint> ckpt;
    if (!req->checkpoint().empty()) {
      ABLATE_ASSIGN_OR_RETURN(ckpt, ResolveCheckpointRef(store_, req->checkpoint()));
      e.checkpoint = ckpt->id;
      e.run = ckpt->run_id;
    }
    if (req->has_run() && req->run().ref_case() != v1::RunRef::REF_NOT_SET) {
      ABLATE_ASSIGN_OR_RETURN(Run run, ResolveRunRef(store_, req->run(), "run"));
      if (ckpt && ckpt->run_id != run.id) {
        return absl::InvalidArgumentError(absl::StrCat("checkpoint '", ckpt->name,
                                                       "' belongs to run '", ckpt->run_name,
                                                       "', not to run '", run.name, "'"));
      }
      e.run = run.id;
    } else if (!ckpt) {
      return absl::InvalidArgumentError("run or checkpoint is required");
    }
    for (const auto& c : req->per_category()) {
      e.per_category.push_back(CategoryAp{c.category_id(), c.category_name(), c.ap()});
    }
    if (req->has_outputs()) e.outputs = FromProto(req->outputs());
    if (req->has_gallery()) e.gallery = FromProto(req->gallery());
    Created<Evaluation> created;
    ABLATE_RETURN_IF_ERROR(store_.Transact([&]() -> Status {
      ABLATE_ASSIGN_OR_RETURN(created, store_.RecordEvaluation(e));
      return after_evaluation_ ? after_evaluation_(e.run) : absl::OkStatus();
    }));
    ToProto(created.value, resp->mutable_evaluation());
    resp->set_created(created.created);
    return absl::OkStatus();
  });
}

grpc::Status CoordinatorService::Leaderboard(grpc::ServerContext* context,
                                             const v1::LeaderboardRequest* req,
                                             v1::LeaderboardResponse* resp) {
  ABLATE_RETURN_IF_ACCESS_DENIED(context);
  return Handle([&]() -> Status {
    LeaderboardQuery q;
    ABLATE_ASSIGN_OR_RETURN(q.stat_index, StatIndex(req->sort_by()));
    ABLATE_ASSIGN_OR_RETURN(q.iou_type, FromProto(req->iou_type()));
    if (req->top() < 0) return absl::InvalidArgumentError("top must not be negative");
    q.top = req->top();
    q.sweep = req->sweep();
    ABLATE_ASSIGN_OR_RETURN(q.statuses, StatusesFromProto(req->statuses()));
    if (req->has_score_threshold()) q.score_threshold = req->score_threshold();
    if (req->has_top_k()) q.top_k = req->top_k();
    if (req->has_nms_iou()) q.nms_iou = req->nms_iou();
    if (req->has_max_dets()) q.max_dets = req->max_dets();
    q.dataset_fingerprint = req->dataset_fingerprint();
    q.group = req->group();
    q.all_groups = req->all_groups();
    ABLATE_ASSIGN_OR_RETURN(auto board, BuildLeaderboard(store_, q));
    resp->set_sort_by(std::string(kCocoStatNames[static_cast<size_t>(q.stat_index)]));
    resp->set_iou_type(ToProto(q.iou_type));
    for (const auto& g : board.groups) {
      auto* pg = resp->add_groups();
      pg->set_eval_key(g.eval_key);
      ToProto(g.settings, pg->mutable_settings());
      pg->set_run_count(g.run_count);
      pg->set_selected(g.selected);
      for (const auto& row : g.rows) {
        auto* pr = pg->add_rows();
        pr->set_rank(row.rank);
        ToProto(row.run, pr->mutable_run());
        ToProto(row.evaluation, pr->mutable_evaluation());
        pr->set_sort_value(row.sort_value);
      }
    }
    return absl::OkStatus();
  });
}

grpc::Status CoordinatorService::CompareRuns(grpc::ServerContext* context,
                                             const v1::CompareRunsRequest* req,
                                             v1::CompareRunsResponse* resp) {
  ABLATE_RETURN_IF_ACCESS_DENIED(context);
  return Handle([&]() -> Status {
    if (req->top_categories() < 0) {
      return absl::InvalidArgumentError("top_categories must not be negative");
    }
    ABLATE_ASSIGN_OR_RETURN(Run a, ResolveRunRef(store_, req->a(), "run a"));
    ABLATE_ASSIGN_OR_RETURN(Run b, ResolveRunRef(store_, req->b(), "run b"));
    const int top = req->top_categories() == 0 ? 10 : req->top_categories();
    ABLATE_ASSIGN_OR_RETURN(RunComparison cmp, server::CompareRuns(store_, a.id, b.id, top));
    ToProto(cmp.a, resp->mutable_a());
    ToProto(cmp.b, resp->mutable_b());
    for (const auto& d : cmp.config_diff) {
      auto* p = resp->add_config_diff();
      p->set_key(d.key);
      p->set_a_json(d.a_json.value_or(""));
      p->set_b_json(d.b_json.value_or(""));
      p->set_same(d.same);
    }
    for (const auto& s : cmp.stats) {
      auto* p = resp->add_stats();
      p->set_iou_type(ToProto(s.iou_type));
      if (s.a) ToProto(*s.a, p->mutable_a());
      if (s.b) ToProto(*s.b, p->mutable_b());
      p->set_comparable(s.comparable);
      p->set_reason(s.reason);
      if (s.a && s.b) ToProto(s.delta, p->mutable_delta());
      for (const auto& c : s.category_deltas) {
        auto* pc = p->add_category_deltas();
        pc->set_category_id(static_cast<int32_t>(c.category_id));
        pc->set_category_name(c.category_name);
        pc->set_a_ap(c.a_ap);
        pc->set_b_ap(c.b_ap);
        pc->set_delta(c.delta);
      }
    }
    return absl::OkStatus();
  });
}

grpc::Status CoordinatorService::ImportDiary(grpc::ServerContext* context,
                                             const v1::ImportDiaryRequest* req,
                                             v1::ImportDiaryResponse* resp) {
  ABLATE_RETURN_IF_ACCESS_DENIED(context);
  return Handle([&]() -> Status {
    if (req->entries_size() > options_.max_import_entries) {
      return absl::InvalidArgumentError(absl::StrCat("ImportDiary with ", req->entries_size(),
                                                     " entries exceeds the limit of ",
                                                     options_.max_import_entries));
    }
    DiaryImport import;
    import.source = req->source();
    import.sweep = req->sweep();
    // An entry that cannot be read is skipped like one the store refuses; the others go on.
    std::vector<DiaryImportSkipped> unreadable;
    for (const auto& pe : req->entries()) {
      DiaryImportEntry e;
      e.line = pe.line();
      e.run_name = pe.run_name();
      e.new_run = pe.new_run();
      if (!pe.config_json().empty()) {
        // The skipped entry carries the line; the reason names only the field.
        auto config = ParseUntrustedJson(pe.config_json(), "config_json");
        if (!config.ok()) {
          unreadable.push_back({pe.line(), std::string(config.status().message())});
          continue;
        }
        e.config = *std::move(config);
      }
      e.checkpoint = pe.checkpoint_name();
      e.checkpoint_uri = pe.checkpoint_uri();
      e.parent_checkpoint = pe.parent_checkpoint();
      auto settings = FromProto(pe.settings());
      auto stats = FromProto(pe.stats());
      if (!settings.ok() || !stats.ok()) {
        const Status& bad = settings.ok() ? stats.status() : settings.status();
        unreadable.push_back({pe.line(), std::string(bad.message())});
        continue;
      }
      e.settings = *settings;
      e.stats = *stats;
      import.entries.push_back(std::move(e));
    }
    ABLATE_ASSIGN_OR_RETURN(DiaryImportResult result, server::ImportDiary(store_, import));
    result.skipped.insert(result.skipped.end(), unreadable.begin(), unreadable.end());
    std::stable_sort(result.skipped.begin(), result.skipped.end(),
                     [](const auto& a, const auto& b) { return a.line < b.line; });
    for (const auto& s : result.skipped) {
      auto* p = resp->add_skipped();
      p->set_line(s.line);
      p->set_reason(s.reason);
    }
    for (const auto& e : result.entries) {
      auto* p = resp->add_entries();
      p->set_line(e.line);
      p->set_run_name(e.run.name);
      p->set_run_id(e.run.id.value);
      if (e.checkpoint) p->set_checkpoint_id(e.checkpoint->id.value);
      p->set_evaluation_id(e.evaluation.id.value);
      p->set_evaluation_created(e.evaluation_created);
    }
    resp->set_runs_created(result.runs_created);
    resp->set_checkpoints_created(result.checkpoints_created);
    resp->set_evaluations_created(result.evaluations_created);
    return absl::OkStatus();
  });
}

}  // namespace ablate::server
