#include "dashboard/store_snapshot.h"

#include <chrono>

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

StatusOr<std::shared_ptr<const StoreSnapshot>> LoadSnapshot(server::RunStore& store,
                                                            const Clock& clock) {
  const auto start = std::chrono::steady_clock::now();
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
  ABLATE_ASSIGN_OR_RETURN(snap->evaluations, store.ListEvaluations(server::EvaluationFilter{}));
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
  snap->load_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  return std::shared_ptr<const StoreSnapshot>(std::move(snap));
}

StatusOr<std::shared_ptr<const StoreSnapshot>> SnapshotCache::Get() {
  std::shared_ptr<const StoreSnapshot> current;
  {
    std::lock_guard<std::mutex> lock(mu_);
    current = current_;
  }
  if (current && clock_.NowUnixMs() - current->loaded_unix_ms < ttl_ms_) return current;
  // Stale or missing. One caller reloads; others use the stale copy meanwhile (when one exists).
  std::unique_lock<std::mutex> load_lock(load_mu_, std::defer_lock);
  if (current) {
    if (!load_lock.try_lock()) return current;
  } else {
    load_lock.lock();
    std::lock_guard<std::mutex> lock(mu_);
    if (current_) return current_;  // loaded by the caller we waited for
  }
  StatusOr<std::shared_ptr<const StoreSnapshot>> fresh = LoadSnapshot(store_, clock_);
  if (!fresh.ok()) {
    if (current) return current;
    return fresh.status();
  }
  std::lock_guard<std::mutex> lock(mu_);
  current_ = *fresh;
  return current_;
}

}  // namespace ablate::dashboard
