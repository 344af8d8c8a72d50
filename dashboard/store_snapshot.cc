#include "dashboard/store_snapshot.h"

#include <algorithm>
#include <chrono>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace ablate::dashboard {

const server::Run* StoreSnapshot::FindRun(std::string_view name) const {
  auto it = run_by_name.find(std::string(name));
  return it == run_by_name.end() ? nullptr : &runs[it->second];
}

const server::Checkpoint* StoreSnapshot::FindCheckpoint(
    std::optional<server::CheckpointId> id) const {
  if (!id) return nullptr;
  auto it = checkpoint_by_id.find(id->value);
  return it == checkpoint_by_id.end() ? nullptr : &checkpoints[it->second];
}

std::optional<int64_t> StoreSnapshot::EvaluationStep(const server::Evaluation& e) const {
  const server::Checkpoint* c = FindCheckpoint(e.checkpoint_id);
  if (c == nullptr) return std::nullopt;
  return c->step;
}

StatusOr<std::shared_ptr<const StoreSnapshot>> LoadSnapshot(server::RunReader& store,
                                                            const Clock& clock) {
  // Timed with the injected clock, so tests with a FakeClock see load_ms == 0.
  const int64_t start_ms = clock.NowUnixMs();
  auto snap = std::make_shared<StoreSnapshot>();
  server::RunFilter filter;
  filter.limit = 5000;
  while (true) {
    ABLATE_ASSIGN_OR_RETURN(std::vector<server::Run> page, store.ListRuns(filter));
    if (page.empty()) break;
    filter.after_id = page.back().id.value;
    const bool last = static_cast<int>(page.size()) < filter.limit;
    for (server::Run& r : page) snap->runs.push_back(std::move(r));
    if (last) break;
  }
  ABLATE_ASSIGN_OR_RETURN(snap->checkpoints, store.ListCheckpoints(std::nullopt));
  // One run at a time: each call holds the store's lock only briefly, so the coordinator's
  // writers interleave with a large load instead of waiting for all of it.
  for (const server::Run& r : snap->runs) {
    server::EvaluationFilter filter;
    filter.run = r.id;
    ABLATE_ASSIGN_OR_RETURN(std::vector<server::Evaluation> evals, store.ListEvaluations(filter));
    for (server::Evaluation& e : evals) snap->evaluations.push_back(std::move(e));
  }
  std::sort(snap->evaluations.begin(), snap->evaluations.end(),
            [](const server::Evaluation& a, const server::Evaluation& b) { return a.id < b.id; });
  for (size_t i = 0; i < snap->runs.size(); ++i) {
    snap->run_by_name.emplace(snap->runs[i].name, i);
    snap->run_by_id.emplace(snap->runs[i].id.value, i);
  }
  for (size_t i = 0; i < snap->checkpoints.size(); ++i) {
    snap->checkpoint_by_id.emplace(snap->checkpoints[i].id.value, i);
  }
  snap->eval_keys.reserve(snap->evaluations.size());
  for (size_t i = 0; i < snap->evaluations.size(); ++i) {
    snap->eval_keys.push_back(server::EvalKey(snap->evaluations[i].settings));
    snap->evaluations_by_run[snap->evaluations[i].run_id.value].push_back(i);
  }
  snap->loaded_unix_ms = clock.NowUnixMs();
  snap->load_ms = snap->loaded_unix_ms - start_ms;
  return std::shared_ptr<const StoreSnapshot>(std::move(snap));
}

namespace {
bool StatusIn(const std::vector<server::RunStatus>& statuses, server::RunStatus s) {
  return statuses.empty() || std::find(statuses.begin(), statuses.end(), s) != statuses.end();
}
}  // namespace

StatusOr<std::vector<server::MetricPoint>> SnapshotRunReader::LatestMetrics(server::RunId) {
  return absl::UnimplementedError("metrics are not part of the dashboard snapshot");
}
StatusOr<std::vector<server::MetricPoint>> SnapshotRunReader::ListMetrics(server::RunId,
                                                                          std::string_view) {
  return absl::UnimplementedError("metrics are not part of the dashboard snapshot");
}

StatusOr<server::Run> SnapshotRunReader::GetRun(server::RunId id) {
  auto it = snap_.run_by_id.find(id.value);
  if (it == snap_.run_by_id.end()) {
    return absl::NotFoundError(absl::StrCat("run id ", id.value, " not found"));
  }
  return snap_.runs[it->second];
}

StatusOr<server::Run> SnapshotRunReader::FindRunByName(std::string_view name) {
  const server::Run* r = snap_.FindRun(name);
  if (r == nullptr)
    return absl::NotFoundError(absl::StrCat("run '", std::string(name), "' not found"));
  return *r;
}

StatusOr<std::vector<server::Run>> SnapshotRunReader::ListRuns(const server::RunFilter& filter) {
  std::vector<server::Run> out;
  for (const server::Run& r : snap_.runs) {
    if (static_cast<int>(out.size()) >= filter.limit) break;
    if (r.id.value <= filter.after_id) continue;
    if (!filter.sweep.empty() && r.sweep != filter.sweep) continue;
    if (r.name.compare(0, filter.name_prefix.size(), filter.name_prefix) != 0) continue;
    if (!StatusIn(filter.statuses, r.status)) continue;
    out.push_back(r);
  }
  return out;
}

StatusOr<server::Checkpoint> SnapshotRunReader::GetCheckpoint(server::CheckpointId id) {
  const server::Checkpoint* c = snap_.FindCheckpoint(id);
  if (c == nullptr)
    return absl::NotFoundError(absl::StrCat("checkpoint id ", id.value, " not found"));
  return *c;
}

StatusOr<std::vector<server::Checkpoint>> SnapshotRunReader::ListCheckpoints(
    std::optional<server::RunId> run) {
  std::vector<server::Checkpoint> out;
  for (const server::Checkpoint& c : snap_.checkpoints) {
    if (!run || c.run_id == *run) out.push_back(c);
  }
  return out;
}

StatusOr<std::vector<server::Checkpoint>> SnapshotRunReader::FindCheckpointsByNamePrefix(
    std::string_view prefix, std::optional<server::RunId> run) {
  std::vector<server::Checkpoint> out;
  for (const server::Checkpoint& c : snap_.checkpoints) {
    if (run && c.run_id != *run) continue;
    if (c.name.compare(0, prefix.size(), prefix) == 0) out.push_back(c);
  }
  return out;
}

StatusOr<std::vector<server::Evaluation>> SnapshotRunReader::ListEvaluations(
    const server::EvaluationFilter& filter) {
  std::vector<server::Evaluation> out;
  auto consider = [&](const server::Evaluation& e) {
    if (filter.iou_type && e.settings.iou_type != *filter.iou_type) return;
    if (!filter.sweep.empty() || !filter.statuses.empty()) {
      auto it = snap_.run_by_id.find(e.run_id.value);
      if (it == snap_.run_by_id.end()) return;
      const server::Run& r = snap_.runs[it->second];
      if (!filter.sweep.empty() && r.sweep != filter.sweep) return;
      if (!StatusIn(filter.statuses, r.status)) return;
    }
    out.push_back(e);
  };
  if (filter.run) {
    auto it = snap_.evaluations_by_run.find(filter.run->value);
    if (it != snap_.evaluations_by_run.end()) {
      for (size_t i : it->second) consider(snap_.evaluations[i]);
    }
  } else {
    for (const server::Evaluation& e : snap_.evaluations) consider(e);
  }
  return out;
}

StatusOr<std::vector<server::GalleryFile>> SnapshotRunReader::ListGalleryFiles(
    const server::GalleryFileFilter& filter) {
  std::vector<server::GalleryFile> out;
  for (const server::Evaluation& e : snap_.evaluations) {
    if (!e.gallery) continue;
    if (filter.run && e.run_id != *filter.run) continue;
    if (filter.checkpoint && e.checkpoint_id != filter.checkpoint) continue;
    if (filter.evaluation && e.id != *filter.evaluation) continue;
    for (const server::GalleryImage& image : e.gallery->images) {
      if (!filter.include_deleted && image.deleted()) continue;
      if (filter.deleting_job_id != 0 && image.deleting_job_id != filter.deleting_job_id) continue;
      server::GalleryFile f{
          e.id,       e.run_id,       e.run_name, e.checkpoint_id, e.checkpoint_name,
          /*pass=*/0, image.image_id, image.uri,  image.bytes};
      f.deleted_unix_ms = image.deleted_unix_ms;
      f.deleted_by_job_id = image.deleted_by_job_id;
      f.deleting_job_id = image.deleting_job_id;
      out.push_back(std::move(f));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    const auto ca = a.checkpoint ? a.checkpoint->value : 0;
    const auto cb = b.checkpoint ? b.checkpoint->value : 0;
    return std::tie(a.run.value, ca, a.evaluation.value, a.image_id) <
           std::tie(b.run.value, cb, b.evaluation.value, b.image_id);
  });
  return out;
}

StatusOr<std::shared_ptr<const StoreSnapshot>> SnapshotCache::Get() {
  std::shared_ptr<const StoreSnapshot> current;
  {
    MutexLock lock(&mu_);
    current = current_;
  }
  // Loading holds the store's lock for load_ms; reloading at most every 10 x load_ms keeps the
  // dashboard's share of the store under ~10% however large the store grows.
  if (current &&
      clock_.NowUnixMs() - current->loaded_unix_ms < std::max(ttl_ms_, 10 * current->load_ms)) {
    return current;
  }
  // Stale or missing. One caller reloads; others use the stale copy meanwhile (when one exists).
  std::unique_lock<std::mutex> load_lock(load_mu_, std::defer_lock);
  if (current) {
    if (!load_lock.try_lock()) return current;
  } else {
    load_lock.lock();
    MutexLock lock(&mu_);
    if (current_) return current_;  // loaded by the caller we waited for
  }
  StatusOr<std::shared_ptr<const StoreSnapshot>> fresh = LoadSnapshot(store_, clock_);
  if (!fresh.ok()) {
    if (current) return current;
    return fresh.status();
  }
  MutexLock lock(&mu_);
  current_ = *fresh;
  return current_;
}

}  // namespace ablate::dashboard
