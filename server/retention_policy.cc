#include "server/retention_policy.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"

namespace ablate::server {
namespace {

bool HasStoredFile(const Checkpoint& c) { return c.uri.rfind("file://", 0) == 0; }

// The checkpoint URIs a job's spec starts from or evaluates.
std::vector<std::string> JobInputUris(const Job& job) {
  std::vector<std::string> uris;
  const nlohmann::json spec = nlohmann::json::parse(job.spec_json, nullptr, false);
  if (!spec.is_object()) return uris;
  for (const char* key : {"init_checkpoint", "resume_checkpoint"}) {
    auto it = spec.find(key);
    if (it != spec.end() && it->is_object() && it->contains("uri") && (*it)["uri"].is_string()) {
      uris.push_back((*it)["uri"].get<std::string>());
    }
  }
  return uris;
}

bool InScope(RunId run, const RetentionOptions& options,
             const std::map<int64_t, const Run*>& run_by_id) {
  if (options.run && run != *options.run) return false;
  if (!options.sweep.empty()) {
    auto it = run_by_id.find(run.value);
    if (it == run_by_id.end() || it->second->sweep != options.sweep) return false;
  }
  return true;
}

// Galleries go with their checkpoints (see the header): fills each candidate's `gallery`, the
// plan's leftovers and the gallery totals.
void PlanGalleries(const RetentionInputs& inputs, const RetentionOptions& options,
                   const std::map<int64_t, const Run*>& run_by_id, RetentionPlan& plan) {
  std::map<int64_t, CheckpointVerdict*> candidates;
  for (CheckpointVerdict& v : plan.verdicts) {
    if (v.remove) candidates[v.checkpoint.id.value] = &v;
  }
  std::set<int64_t> deleted;
  for (const Checkpoint& c : inputs.checkpoints) {
    if (c.deleted()) deleted.insert(c.id.value);
  }
  // A file goes only when no row naming it has a reason to stay.
  std::set<std::string> protected_uris;
  for (const GalleryFile& f : inputs.gallery_files) {
    if (f.deleted()) continue;
    const bool goes =
        f.deleting_job_id == 0 && f.checkpoint &&
        (candidates.count(f.checkpoint->value) > 0 ||
         (deleted.count(f.checkpoint->value) > 0 && InScope(f.run, options, run_by_id)));
    if (!goes) protected_uris.insert(f.uri);
  }
  std::set<std::string> planned;
  for (const GalleryFile& f : inputs.gallery_files) {
    if (f.deleted() || protected_uris.count(f.uri) || !planned.insert(f.uri).second) continue;
    auto it = candidates.find(f.checkpoint->value);
    if (it != candidates.end()) {
      it->second->gallery.push_back(f);
    } else {
      plan.leftover_gallery.push_back(f);
    }
    ++plan.gallery_files;
    plan.gallery_bytes += f.bytes;
  }
  plan.bytes_to_free += plan.gallery_bytes;
}

}  // namespace

int64_t CheckpointVerdict::GalleryBytes() const {
  int64_t bytes = 0;
  for (const GalleryFile& f : gallery) bytes += f.bytes;
  return bytes;
}

StatusOr<RetentionPlan> PlanRetention(const RetentionInputs& inputs,
                                      const RetentionOptions& options) {
  if (options.keep_last < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("keep_last must be >= 0 (checkpoints kept per run), got ", options.keep_last));
  }
  std::map<int64_t, const Run*> run_by_id;
  for (const Run& r : inputs.runs) run_by_id[r.id.value] = &r;

  std::map<int64_t, std::vector<std::string>> reasons;  // checkpoint id -> why it is kept
  auto keep = [&](CheckpointId id, std::string why) {
    reasons[id.value].push_back(std::move(why));
  };

  // Starting points of runs (forks, sweeps with start_from, diary lineage).
  for (const Run& r : inputs.runs) {
    if (r.parent_checkpoint) keep(*r.parent_checkpoint, "parent of run " + r.name);
  }
  // Inputs of unfinished jobs, and the runs that will train again (their resume point).
  std::map<std::string, std::vector<const Checkpoint*>> by_uri;
  for (const Checkpoint& c : inputs.checkpoints) {
    if (HasStoredFile(c)) by_uri[c.uri].push_back(&c);
  }
  std::set<int64_t> active_runs;
  for (const Run& r : inputs.runs) {
    if (r.status == RunStatus::kRunning) active_runs.insert(r.id.value);
  }
  for (const Job& job : inputs.unfinished_jobs) {
    if (job.kind == JobKind::kTrain && job.run.value != 0) active_runs.insert(job.run.value);
    for (const std::string& uri : JobInputUris(job)) {
      auto it = by_uri.find(uri);
      if (it == by_uri.end()) continue;
      for (const Checkpoint* c : it->second) {
        keep(c->id,
             absl::StrCat("input of ", std::string(JobKindName(job.kind)), " job ", job.id.value));
      }
    }
  }
  // Newest K per run, and the newest of an active run, among files that will still exist.
  std::map<int64_t, std::vector<const Checkpoint*>> files_of_run;
  for (const Checkpoint& c : inputs.checkpoints) {
    if (HasStoredFile(c) && !c.deleted() && c.deleting_job_id == 0) {
      files_of_run[c.run_id.value].push_back(&c);
    }
  }
  for (auto& [run, files] : files_of_run) {
    std::sort(files.begin(), files.end(), [](const Checkpoint* a, const Checkpoint* b) {
      return a->step != b->step ? a->step > b->step : a->id > b->id;
    });
    for (size_t i = 0; i < files.size() && i < static_cast<size_t>(options.keep_last); ++i) {
      keep(files[i]->id, absl::StrCat("one of the newest ", options.keep_last, " of its run"));
    }
    if (!files.empty() && active_runs.count(run)) {
      keep(files[0]->id, "newest of a running or queued run (its resume point)");
    }
  }

  RetentionPlan plan;
  plan.keep_last = options.keep_last;
  for (const Checkpoint& c : inputs.checkpoints) {
    if (c.deleted() || !InScope(c.run_id, options, run_by_id)) continue;
    CheckpointVerdict v;
    v.checkpoint = c;
    if (c.pinned) v.keep_reasons.push_back("pinned");
    if (!HasStoredFile(c)) v.keep_reasons.push_back("no stored file");
    if (c.deleting_job_id != 0) {
      v.keep_reasons.push_back(absl::StrCat("being deleted by job ", c.deleting_job_id));
    }
    if (auto it = reasons.find(c.id.value); it != reasons.end()) {
      v.keep_reasons.insert(v.keep_reasons.end(), it->second.begin(), it->second.end());
    }
    v.remove = v.keep_reasons.empty();
    if (v.remove) {
      ++plan.to_delete;
      plan.bytes_to_free += c.bytes;
    }
    plan.verdicts.push_back(std::move(v));
  }
  PlanGalleries(inputs, options, run_by_id, plan);
  std::sort(plan.verdicts.begin(), plan.verdicts.end(),
            [](const CheckpointVerdict& a, const CheckpointVerdict& b) {
              const Checkpoint& x = a.checkpoint;
              const Checkpoint& y = b.checkpoint;
              if (x.run_id != y.run_id) return x.run_id < y.run_id;
              if (x.step != y.step) return x.step < y.step;
              return x.id < y.id;
            });
  return plan;
}

StatusOr<RetentionInputs> LoadRetentionInputs(RunStore& runs, JobStore& jobs) {
  RetentionInputs in;
  ABLATE_RETURN_IF_ERROR(runs.Transact([&]() -> Status {
    RunFilter filter;
    filter.limit = 1000;
    while (true) {
      ABLATE_ASSIGN_OR_RETURN(std::vector<Run> page, runs.ListRuns(filter));
      if (page.empty()) break;
      filter.after_id = page.back().id.value;
      in.runs.insert(in.runs.end(), page.begin(), page.end());
    }
    ABLATE_ASSIGN_OR_RETURN(in.checkpoints, runs.ListCheckpoints(std::nullopt));
    GalleryFileFilter live;
    live.include_deleted = false;
    ABLATE_ASSIGN_OR_RETURN(in.gallery_files, runs.ListGalleryFiles(live));
    ABLATE_ASSIGN_OR_RETURN(std::vector<Job> all, jobs.ListJobs(std::nullopt, ""));
    for (Job& j : all) {
      if (j.state == JobState::kPending || j.state == JobState::kLeased) {
        in.unfinished_jobs.push_back(std::move(j));
      }
    }
    return absl::OkStatus();
  }));
  return in;
}

}  // namespace ablate::server
