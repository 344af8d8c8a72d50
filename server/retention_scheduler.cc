#include "server/retention_scheduler.h"

#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "protocol/retention_spec.h"
#include "server/refs.h"

namespace ablate::server {

using nlohmann::json;

StatusOr<RetentionSubmission> RetentionScheduler::Submit(std::optional<int> keep_last,
                                                         const std::string& run,
                                                         const std::string& sweep, bool dry_run) {
  RetentionOptions options;
  options.keep_last = keep_last.value_or(options_.keep_last);
  if (options.keep_last < 0) {
    return absl::InvalidArgumentError("keep_last must be >= 0 (checkpoints kept per run), got " +
                                      std::to_string(options.keep_last));
  }
  std::optional<Run> scope_run;
  if (!run.empty()) {
    ABLATE_ASSIGN_OR_RETURN(scope_run, ResolveRunName(runs_, run));
    options.run = scope_run->id;
  }
  if (!sweep.empty()) {
    ABLATE_ASSIGN_OR_RETURN(bool exists, jobs_.SweepExists(sweep));
    if (!exists) return absl::NotFoundError("sweep '" + sweep + "' not found");
    options.sweep = sweep;
  }
  RetentionSubmission out;
  ABLATE_RETURN_IF_ERROR(runs_.Transact([&]() -> Status {
    ABLATE_ASSIGN_OR_RETURN(RetentionInputs inputs, LoadRetentionInputs(runs_, jobs_));
    ABLATE_ASSIGN_OR_RETURN(out.plan, PlanRetention(inputs, options));
    if (!dry_run) {
      ABLATE_ASSIGN_OR_RETURN(out.job, Queue(options.keep_last, scope_run, sweep));
    }
    return absl::OkStatus();
  }));
  return out;
}

StatusOr<Job> RetentionScheduler::Queue(int keep_last, const std::optional<Run>& run,
                                        const std::string& sweep) {
  protocol::RetentionSpec spec;
  spec.keep_last = keep_last;
  if (run) {
    spec.scope.run = run->name;
    spec.scope.run_id = run->id.value;
  }
  spec.scope.sweep = sweep;
  NewJob job;
  job.kind = JobKind::kRetention;
  job.spec_json = protocol::RetentionSpecToJson(spec).dump();
  job.max_attempts = options_.max_attempts;
  job.priority = 1;  // quick, and it frees disk: ahead of queued trials
  return jobs_.CreateJob(job);
}

StatusOr<std::string> RetentionScheduler::PrepareLease(const Job& job) {
  auto parsed = protocol::ParseRetentionSpec(json::parse(job.spec_json, nullptr, false));
  if (!parsed.ok()) return job.spec_json;
  protocol::RetentionSpec spec = std::move(*parsed);
  ABLATE_ASSIGN_OR_RETURN(std::vector<Checkpoint> held, jobs_.CheckpointsHeldBy(job.id));
  ABLATE_ASSIGN_OR_RETURN(std::vector<GalleryFile> held_gallery, jobs_.GalleryFilesHeldBy(job.id));
  if (held.empty() && held_gallery.empty()) {
    // First attempt (or an earlier one held nothing): plan now and hold the candidates in this
    // transaction. A retried attempt gets exactly what the first one held: some of those files
    // may be gone already, and none of them could be pinned or referenced meanwhile.
    RetentionOptions options;
    options.keep_last = spec.keep_last.value_or(options_.keep_last);
    if (spec.scope.run_id > 0) options.run = RunId{spec.scope.run_id};
    options.sweep = spec.scope.sweep;
    ABLATE_ASSIGN_OR_RETURN(RetentionInputs inputs, LoadRetentionInputs(runs_, jobs_));
    ABLATE_ASSIGN_OR_RETURN(RetentionPlan plan, PlanRetention(inputs, options));
    std::vector<CheckpointId> ids;
    for (const CheckpointVerdict& v : plan.verdicts) {
      if (v.remove) ids.push_back(v.checkpoint.id);
    }
    ABLATE_ASSIGN_OR_RETURN(held, jobs_.HoldCheckpointsForDeletion(job.id, ids));
    // Galleries go with the checkpoints this job now holds, and leftovers of deleted ones.
    std::set<int64_t> held_ids;
    for (const Checkpoint& c : held) held_ids.insert(c.id.value);
    std::vector<std::string> uris;
    for (const CheckpointVerdict& v : plan.verdicts) {
      if (!v.remove || !held_ids.count(v.checkpoint.id.value)) continue;
      for (const GalleryFile& f : v.gallery) uris.push_back(f.uri);
    }
    for (const GalleryFile& f : plan.leftover_gallery) uris.push_back(f.uri);
    ABLATE_ASSIGN_OR_RETURN(held_gallery, jobs_.HoldGalleryFilesForDeletion(job.id, uris));
  }
  protocol::RetentionFiles files;
  for (const Checkpoint& c : held) {
    files.checkpoints.push_back(
        protocol::RetentionCheckpointFile{c.id.value, c.run_name, c.name, c.uri, c.bytes});
  }
  // One entry per file: the bbox and segm rows of a pass name the same file.
  std::set<std::string> listed;
  for (const GalleryFile& f : held_gallery) {
    if (!listed.insert(f.uri).second) continue;
    files.gallery.push_back(protocol::RetentionGalleryFile{f.checkpoint ? f.checkpoint->value : 0,
                                                           f.run_name, f.checkpoint_name,
                                                           f.image_id, f.uri, f.bytes});
  }
  spec.files = std::move(files);
  return protocol::RetentionSpecToJson(spec).dump();
}

StatusOr<RetentionReport> RetentionScheduler::ApplyReport(
    const Job& job, std::span<const CheckpointDeletion> deletions,
    std::span<const GalleryFileDeletion> gallery_deletions) {
  RetentionReport report;
  ABLATE_ASSIGN_OR_RETURN(report.checkpoints, jobs_.RecordCheckpointDeletions(job.id, deletions));
  ABLATE_ASSIGN_OR_RETURN(report.gallery, jobs_.RecordGalleryDeletions(job.id, gallery_deletions));
  return report;
}

StatusOr<std::string> RetentionScheduler::AddToResult(const Job& job,
                                                      const RetentionReport& report) {
  // Added up over attempts: a retried job reports what the earlier ones did not.
  auto stored = protocol::ParseRetentionResult(json::parse(job.result_json, nullptr, false));
  protocol::RetentionResult r = stored.ok() ? std::move(*stored) : protocol::RetentionResult{};
  const DeletionTally& t = report.checkpoints;
  const GalleryDeletionTally& g = report.gallery;
  r.deleted += t.deleted;
  r.missing += t.missing;
  r.failed += t.failed;
  r.ignored += t.ignored;
  r.bytes_freed += t.bytes_freed + g.bytes_freed;
  r.gallery_deleted += g.deleted;
  r.gallery_missing += g.missing;
  r.gallery_failed += g.failed;
  r.gallery_ignored += g.ignored;
  r.gallery_bytes_freed += g.bytes_freed;
  for (const auto& [c, why] : t.failures) {
    r.failures.push_back(protocol::RetentionFailure{c.run_name + "/" + c.name, "", why});
  }
  for (const auto& [uri, why] : g.failures) {
    r.failures.push_back(protocol::RetentionFailure{"", uri, why});
  }
  std::string text = protocol::RetentionResultToJson(r).dump();
  ABLATE_RETURN_IF_ERROR(jobs_.SetJobResult(job.id, text));
  return text;
}

Status RetentionScheduler::MaybeQueueForFinishedSweep(const std::string& sweep) {
  if (!options_.auto_keep_last) return absl::OkStatus();
  ABLATE_ASSIGN_OR_RETURN(std::vector<Job> jobs, jobs_.ListJobs(std::nullopt, sweep));
  for (const Job& j : jobs) {
    if (IsUnfinished(j)) return absl::OkStatus();
  }
  return Queue(*options_.auto_keep_last, std::nullopt, sweep).status();
}

}  // namespace ablate::server
