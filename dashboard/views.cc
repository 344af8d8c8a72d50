#include "dashboard/views.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ablate::dashboard {
namespace {

using nlohmann::json;
using server::Checkpoint;
using server::Evaluation;
using server::IouType;
using server::Run;
using server::RunStatus;

constexpr RunStatus kAllStatuses[] = {RunStatus::kQueued,    RunStatus::kRunning,
                                      RunStatus::kSucceeded, RunStatus::kFailed,
                                      RunStatus::kCancelled, RunStatus::kDiverged};

// pycocotools writes -1 for "no ground truth to score": not a value to rank or subtract.
bool HasValue(double stat) { return stat >= 0 && std::isfinite(stat); }

json OptJson(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }
json OptJson(const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); }

json StatsJson(const CocoStats& stats) {
  json out = json::object();
  for (int i = 0; i < kNumCocoStats; ++i) {
    out[std::string(kCocoStatNames[i])] = HasValue(stats[i]) ? json(stats[i]) : json(nullptr);
  }
  return out;
}

json SettingsJson(const server::EvalSettings& s) {
  return json{{"iou_type", std::string(server::IouTypeName(s.iou_type))},
              {"score_threshold", OptJson(s.score_threshold)},
              {"top_k", OptJson(s.top_k)},
              {"nms_iou", OptJson(s.nms_iou)},
              {"max_dets", OptJson(s.max_dets)},
              {"dataset", s.dataset_fingerprint},
              {"eval_key", server::EvalKey(s)}};
}

json RunSummaryJson(const Run& r) {
  return json{{"id", r.id.value},
              {"name", r.name},
              {"sweep", r.sweep},
              {"status", std::string(server::RunStatusName(r.status))},
              {"parent_run", r.parent_run_name},
              {"parent_checkpoint", r.parent_checkpoint_name},
              {"created_unix_ms", r.created_unix_ms},
              {"updated_unix_ms", r.updated_unix_ms}};
}

json EvaluationJson(const Evaluation& e, std::optional<int64_t> step, bool per_category) {
  json out{{"id", e.id.value},
           {"run", e.run_name},
           {"checkpoint", e.checkpoint_name},
           {"step", OptJson(step)},
           {"settings", SettingsJson(e.settings)},
           {"stats", StatsJson(e.stats)},
           {"created_unix_ms", e.created_unix_ms}};
  if (per_category) {
    json cats = json::array();
    for (const server::CategoryAp& c : e.per_category) {
      cats.push_back(json{{"id", c.category_id},
                          {"name", c.category_name},
                          {"ap", HasValue(c.ap) ? json(c.ap) : json(nullptr)}});
    }
    out["per_category"] = std::move(cats);
  }
  return out;
}

json CheckpointJson(const Checkpoint& c) {
  return json{{"id", c.id.value},
              {"run", c.run_name},
              {"name", c.name},
              {"step", c.step},
              {"epoch", c.epoch},
              {"loss", OptJson(c.loss)},
              {"uri", c.uri},
              {"sha256", c.sha256},
              {"bytes", c.bytes},
              {"pinned", c.pinned},
              {"created_unix_ms", c.created_unix_ms}};
}

// Best AP over evaluations, bbox preferred; {ap, iou_type} or null.
struct BestAp {
  double ap = -1;
  IouType iou_type = IouType::kBbox;
  bool found() const { return ap >= 0; }
  void Offer(const Evaluation& e) {
    const double v = e.stats[0];
    if (!HasValue(v)) return;
    const bool take = !found() || (e.settings.iou_type == iou_type && v > ap) ||
                      (e.settings.iou_type == IouType::kBbox && iou_type == IouType::kSegm);
    if (take) {
      ap = v;
      iou_type = e.settings.iou_type;
    }
  }
  json ToJson() const {
    if (!found()) return nullptr;
    return json{{"ap", ap}, {"iou_type", std::string(server::IouTypeName(iou_type))}};
  }
};

BestAp RunBestAp(const StoreSnapshot& snap, int64_t run_id) {
  BestAp best;
  auto it = snap.evaluations_by_run.find(run_id);
  if (it == snap.evaluations_by_run.end()) return best;
  for (size_t i : it->second) best.Offer(snap.evaluations[i]);
  return best;
}

bool StatusAllowed(const std::vector<RunStatus>& statuses, RunStatus s) {
  return statuses.empty() || std::find(statuses.begin(), statuses.end(), s) != statuses.end();
}

template <typename T>
bool OptMatches(const std::optional<T>& filter, const std::optional<T>& value) {
  return !filter || (value && *value == *filter);
}

}  // namespace

std::vector<std::pair<std::string, json>> FlattenConfig(const json& config) {
  std::vector<std::pair<std::string, json>> out;
  std::function<void(const std::string&, const json&)> walk = [&](const std::string& prefix,
                                                                  const json& v) {
    if (v.is_object() && !v.empty()) {
      for (auto it = v.begin(); it != v.end(); ++it) {
        walk(prefix.empty() ? it.key() : prefix + "." + it.key(), it.value());
      }
    } else {
      out.emplace_back(prefix, v);
    }
  };
  if (config.is_object()) walk("", config);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

json SweepsView(const StoreSnapshot& snap) {
  struct KeyBest {
    std::unordered_set<int64_t> runs;
    double ap = -1;
    std::string run;
  };
  struct Agg {
    std::map<RunStatus, int64_t> counts;
    int64_t total = 0;
    int64_t updated_unix_ms = 0;
    // bbox AP per eval key: the sweep's "best" comes from its largest comparable group, so a
    // re-scoring at other settings never outranks the trials.
    std::unordered_map<std::string, KeyBest> by_key;
  };
  std::map<std::string, Agg> sweeps;
  for (const Run& r : snap.runs) {
    Agg& a = sweeps[r.sweep];
    a.counts[r.status]++;
    a.total++;
    a.updated_unix_ms = std::max(a.updated_unix_ms, r.updated_unix_ms);
    auto it = snap.evaluations_by_run.find(r.id.value);
    if (it == snap.evaluations_by_run.end()) continue;
    for (size_t i : it->second) {
      const Evaluation& e = snap.evaluations[i];
      if (e.settings.iou_type != IouType::kBbox || !HasValue(e.stats[0])) continue;
      KeyBest& k = a.by_key[snap.eval_keys[i]];
      k.runs.insert(r.id.value);
      if (e.stats[0] > k.ap) {
        k.ap = e.stats[0];
        k.run = r.name;
      }
    }
  }
  json list = json::array();
  for (const auto& [name, a] : sweeps) {
    json counts = json::object();
    for (RunStatus s : kAllStatuses) {
      auto it = a.counts.find(s);
      counts[std::string(server::RunStatusName(s))] = it == a.counts.end() ? 0 : it->second;
    }
    const int64_t finished = counts["succeeded"].get<int64_t>() + counts["failed"].get<int64_t>() +
                             counts["cancelled"].get<int64_t>() + counts["diverged"].get<int64_t>();
    const KeyBest* best = nullptr;
    const std::string* best_key = nullptr;
    for (const auto& [key, k] : a.by_key) {
      if (best == nullptr || k.runs.size() > best->runs.size() ||
          (k.runs.size() == best->runs.size() && key < *best_key)) {
        best = &k;
        best_key = &key;
      }
    }
    list.push_back(
        json{{"name", name},
             {"runs", a.total},
             {"counts", counts},
             {"finished", finished},
             {"active", counts["queued"].get<int64_t>() + counts["running"].get<int64_t>() > 0},
             {"best", best ? json{{"ap", best->ap}, {"iou_type", "bbox"}, {"eval_key", *best_key}}
                           : json(nullptr)},
             {"best_run", best ? best->run : std::string()},
             {"updated_unix_ms", a.updated_unix_ms}});
  }
  return json{{"sweeps", std::move(list)}, {"snapshot_unix_ms", snap.loaded_unix_ms}};
}

StatusOr<json> LeaderboardView(const StoreSnapshot& snap, const LeaderboardQuery& q) {
  struct Group {
    const Evaluation* example = nullptr;
    std::unordered_map<int64_t, size_t> best_by_run;  // run id -> evaluation index
    int64_t last_eval_id = 0;
  };
  std::unordered_map<std::string, Group> groups;
  const int stat = q.stat;
  for (size_t i = 0; i < snap.evaluations.size(); ++i) {
    const Evaluation& e = snap.evaluations[i];
    const server::EvalSettings& s = e.settings;
    if (s.iou_type != q.iou_type) continue;
    if (!OptMatches(q.score_threshold, s.score_threshold) || !OptMatches(q.top_k, s.top_k) ||
        !OptMatches(q.nms_iou, s.nms_iou) || !OptMatches(q.max_dets, s.max_dets) ||
        (!q.dataset.empty() && q.dataset != s.dataset_fingerprint)) {
      continue;
    }
    auto rit = snap.run_by_id.find(e.run_id.value);
    if (rit == snap.run_by_id.end()) continue;
    const Run& run = snap.runs[rit->second];
    if (!q.sweep.empty() && run.sweep != q.sweep) continue;
    if (!StatusAllowed(q.statuses, run.status)) continue;
    Group& g = groups[snap.eval_keys[i]];
    if (g.example == nullptr) g.example = &e;
    g.last_eval_id = std::max(g.last_eval_id, e.id.value);
    auto [it, inserted] = g.best_by_run.emplace(e.run_id.value, i);
    if (!inserted) {
      const double cur = snap.evaluations[it->second].stats[stat];
      const double v = e.stats[stat];
      if (HasValue(v) && (!HasValue(cur) || v > cur)) it->second = i;
    }
  }
  // Groups: most runs first, then the most recently evaluated.
  std::vector<std::pair<std::string, const Group*>> ordered;
  for (const auto& [key, g] : groups) ordered.emplace_back(key, &g);
  std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
    if (a.second->best_by_run.size() != b.second->best_by_run.size()) {
      return a.second->best_by_run.size() > b.second->best_by_run.size();
    }
    return a.second->last_eval_id > b.second->last_eval_id;
  });
  std::string selected = q.group;
  if (selected.empty() && !ordered.empty()) selected = ordered.front().first;
  if (!q.group.empty() && groups.find(q.group) == groups.end()) {
    return absl::NotFoundError(absl::StrCat("parameter 'group': no evaluations with eval key '",
                                            q.group, "' match the other filters"));
  }
  json group_list = json::array();
  for (const auto& [key, g] : ordered) {
    group_list.push_back(json{{"eval_key", key},
                              {"settings", SettingsJson(g->example->settings)},
                              {"run_count", g->best_by_run.size()},
                              {"selected", key == selected}});
  }
  json rows = json::array();
  int64_t total = 0;
  if (!selected.empty()) {
    const Group& g = groups.at(selected);
    std::vector<size_t> picks;
    picks.reserve(g.best_by_run.size());
    for (const auto& [run, idx] : g.best_by_run) picks.push_back(idx);
    std::sort(picks.begin(), picks.end(), [&](size_t a, size_t b) {
      const double va = snap.evaluations[a].stats[stat];
      const double vb = snap.evaluations[b].stats[stat];
      if (HasValue(va) != HasValue(vb)) return HasValue(va);  // missing values last
      if (va != vb) return q.ascending ? va < vb : va > vb;
      return snap.evaluations[a].run_id < snap.evaluations[b].run_id;
    });
    total = static_cast<int64_t>(picks.size());
    const size_t n = q.top > 0 ? std::min<size_t>(picks.size(), q.top) : picks.size();
    for (size_t r = 0; r < n; ++r) {
      const Evaluation& e = snap.evaluations[picks[r]];
      const Run& run = snap.runs[snap.run_by_id.at(e.run_id.value)];
      const double v = e.stats[stat];
      rows.push_back(json{{"rank", r + 1},
                          {"run", RunSummaryJson(run)},
                          {"evaluation", EvaluationJson(e, snap.EvaluationStep(e), false)},
                          {"value", HasValue(v) ? json(v) : json(nullptr)}});
    }
  }
  return json{{"by", std::string(kCocoStatNames[stat])},
              {"iou", std::string(server::IouTypeName(q.iou_type))},
              {"order", q.ascending ? "asc" : "desc"},
              {"groups", std::move(group_list)},
              {"selected_group", selected},
              {"total_rows", total},
              {"rows", std::move(rows)},
              {"snapshot_unix_ms", snap.loaded_unix_ms}};
}

StatusOr<json> RunView(server::RunStore& store, const StoreSnapshot& snap, std::string_view name) {
  StatusOr<Run> run_or = store.FindRunByName(name);
  if (!run_or.ok()) {
    if (absl::IsNotFound(run_or.status())) {
      return absl::NotFoundError(absl::StrCat("no run named '", std::string(name), "'"));
    }
    return run_or.status();
  }
  const Run& run = *run_or;
  json config = json::parse(run.config_json, nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded()) config = json::object();

  json overrides = json::array();
  if (run.parent_run) {
    StatusOr<Run> parent = store.GetRun(*run.parent_run);
    if (parent.ok()) {
      json parent_config = json::parse(parent->config_json, nullptr, false);
      std::map<std::string, json> before;
      if (!parent_config.is_discarded()) {
        for (auto& [k, v] : FlattenConfig(parent_config)) before.emplace(k, v);
      }
      for (auto& [k, v] : FlattenConfig(config)) {
        auto it = before.find(k);
        if (it == before.end()) {
          overrides.push_back(json{{"key", k}, {"parent", nullptr}, {"value", v}});
        } else {
          if (it->second != v) {
            overrides.push_back(json{{"key", k}, {"parent", it->second}, {"value", v}});
          }
          before.erase(it);
        }
      }
      for (auto& [k, v] : before) {
        overrides.push_back(json{{"key", k}, {"parent", v}, {"value", nullptr}});
      }
    }
  }

  ABLATE_ASSIGN_OR_RETURN(std::vector<Checkpoint> checkpoints, store.ListCheckpoints(run.id));
  server::EvaluationFilter ef;
  ef.run = run.id;
  ABLATE_ASSIGN_OR_RETURN(std::vector<Evaluation> evaluations, store.ListEvaluations(ef));
  ABLATE_ASSIGN_OR_RETURN(std::vector<server::MetricPoint> latest, store.LatestMetrics(run.id));

  std::unordered_map<int64_t, int64_t> step_of;
  json cps = json::array();
  for (const Checkpoint& c : checkpoints) {
    step_of[c.id.value] = c.step;
    json cj = CheckpointJson(c);
    BestAp best;
    for (const Evaluation& e : evaluations) {
      if (e.checkpoint_id && *e.checkpoint_id == c.id) best.Offer(e);
    }
    cj["best"] = best.ToJson();
    cps.push_back(std::move(cj));
  }
  // An evaluation is a re-scoring when its checkpoint already has an earlier evaluation of the
  // same iou type (same weights, other eval settings).
  std::set<std::pair<int64_t, int>> seen;
  json evals = json::array();
  for (const Evaluation& e : evaluations) {
    std::optional<int64_t> step;
    if (e.checkpoint_id) {
      auto it = step_of.find(e.checkpoint_id->value);
      if (it != step_of.end()) step = it->second;
    }
    json ej = EvaluationJson(e, step, true);
    bool rescoring = false;
    if (e.checkpoint_id) {
      rescoring =
          !seen.emplace(e.checkpoint_id->value, static_cast<int>(e.settings.iou_type)).second;
    }
    ej["rescoring"] = rescoring;
    evals.push_back(std::move(ej));
  }
  json latest_json = json::object();
  json keys = json::array();
  for (const server::MetricPoint& p : latest) {
    latest_json[p.key] = json{{"step", p.step}, {"value", p.value}};
    keys.push_back(p.key);
  }
  json children = json::array();
  for (const Run& r : snap.runs) {
    if (r.parent_run && *r.parent_run == run.id) {
      children.push_back(json{{"name", r.name}, {"parent_checkpoint", r.parent_checkpoint_name}});
    }
  }
  json run_json = RunSummaryJson(run);
  run_json["config_fingerprint"] = run.config_fingerprint;
  return json{{"run", std::move(run_json)},
              {"config", std::move(config)},
              {"config_overrides", std::move(overrides)},
              // The store does not record which worker ran a trial yet (worker issue).
              {"worker", nullptr},
              {"checkpoints", std::move(cps)},
              {"evaluations", std::move(evals)},
              {"metric_keys", std::move(keys)},
              {"latest_metrics", std::move(latest_json)},
              {"children", std::move(children)}};
}

StatusOr<json> MetricsView(server::RunStore& store, std::string_view name,
                           const std::vector<std::string>& keys) {
  StatusOr<Run> run = store.FindRunByName(name);
  if (!run.ok()) {
    if (absl::IsNotFound(run.status())) {
      return absl::NotFoundError(absl::StrCat("no run named '", std::string(name), "'"));
    }
    return run.status();
  }
  std::vector<std::string> wanted = keys;
  if (wanted.empty()) {
    ABLATE_ASSIGN_OR_RETURN(std::vector<server::MetricPoint> latest, store.LatestMetrics(run->id));
    for (const server::MetricPoint& p : latest) wanted.push_back(p.key);
  }
  json series = json::object();
  for (const std::string& key : wanted) {
    ABLATE_ASSIGN_OR_RETURN(std::vector<server::MetricPoint> points,
                            store.ListMetrics(run->id, key));
    std::sort(points.begin(), points.end(),
              [](const auto& a, const auto& b) { return a.step < b.step; });
    json pts = json::array();
    for (const server::MetricPoint& p : points) {
      pts.push_back(json::array({p.step, std::isfinite(p.value) ? json(p.value) : json(nullptr)}));
    }
    series[key] = std::move(pts);
  }
  return json{{"run", run->name}, {"series", std::move(series)}};
}

StatusOr<json> CompareView(const StoreSnapshot& snap, const std::vector<std::string>& names) {
  std::vector<const Run*> runs;
  for (const std::string& n : names) {
    const Run* r = snap.FindRun(n);
    if (r == nullptr) {
      return absl::NotFoundError(absl::StrCat("parameter 'runs': no run named '", n, "'"));
    }
    runs.push_back(r);
  }
  // Config diff over the union of dotted keys.
  std::vector<std::map<std::string, json>> flat(runs.size());
  std::set<std::string> all_keys;
  for (size_t i = 0; i < runs.size(); ++i) {
    json cfg = json::parse(runs[i]->config_json, nullptr, false);
    if (cfg.is_discarded()) continue;
    for (auto& [k, v] : FlattenConfig(cfg)) {
      all_keys.insert(k);
      flat[i].emplace(k, v);
    }
  }
  json config_diff = json::array();
  for (const std::string& k : all_keys) {
    json values = json::array();
    bool same = true;
    for (size_t i = 0; i < runs.size(); ++i) {
      auto it = flat[i].find(k);
      json v = it == flat[i].end() ? json(nullptr) : it->second;
      if (i > 0 && v != values[0]) same = false;
      values.push_back(std::move(v));
    }
    config_diff.push_back(json{{"key", k}, {"values", std::move(values)}, {"same", same}});
  }

  json stats_out = json::object();
  for (IouType iou : {IouType::kBbox, IouType::kSegm}) {
    // Per run: its evaluations of this iou type.
    std::vector<std::vector<size_t>> per_run(runs.size());
    for (size_t i = 0; i < runs.size(); ++i) {
      auto it = snap.evaluations_by_run.find(runs[i]->id.value);
      if (it == snap.evaluations_by_run.end()) continue;
      for (size_t idx : it->second) {
        if (snap.evaluations[idx].settings.iou_type == iou) per_run[i].push_back(idx);
      }
    }
    auto best_of = [&](size_t run, const std::string* key) -> std::optional<size_t> {
      std::optional<size_t> best;
      for (size_t idx : per_run[run]) {
        if (key != nullptr && snap.eval_keys[idx] != *key) continue;
        const double v = snap.evaluations[idx].stats[0];
        if (!best || (HasValue(v) && v > snap.evaluations[*best].stats[0])) best = idx;
      }
      return best;
    };
    // Eval keys every run has; pick the one where the first run scores best.
    std::set<std::string> common;
    for (size_t idx : per_run[0]) common.insert(snap.eval_keys[idx]);
    for (size_t i = 1; i < runs.size(); ++i) {
      std::set<std::string> mine;
      for (size_t idx : per_run[i]) mine.insert(snap.eval_keys[idx]);
      std::set<std::string> both;
      std::set_intersection(common.begin(), common.end(), mine.begin(), mine.end(),
                            std::inserter(both, both.begin()));
      common = std::move(both);
    }
    std::optional<std::string> key;
    double key_ap = -2;
    for (const std::string& k : common) {
      std::optional<size_t> b = best_of(0, &k);
      const double v = b ? snap.evaluations[*b].stats[0] : -1;
      if (!key || v > key_ap) {
        key = k;
        key_ap = v;
      }
    }
    std::vector<std::optional<size_t>> chosen(runs.size());
    for (size_t i = 0; i < runs.size(); ++i) chosen[i] = best_of(i, key ? &*key : nullptr);
    const bool any =
        std::any_of(chosen.begin(), chosen.end(), [](auto& c) { return c.has_value(); });
    if (!any) {
      stats_out[std::string(server::IouTypeName(iou))] = nullptr;
      continue;
    }
    json evals = json::array();
    for (size_t i = 0; i < runs.size(); ++i) {
      evals.push_back(chosen[i]
                          ? EvaluationJson(snap.evaluations[*chosen[i]],
                                           snap.EvaluationStep(snap.evaluations[*chosen[i]]), false)
                          : json(nullptr));
    }
    std::vector<std::string> reasons;
    if (!key) {
      for (size_t i = 0; i < runs.size(); ++i) {
        if (!chosen[i])
          reasons.push_back(absl::StrCat(runs[i]->name, " has no ",
                                         std::string(server::IouTypeName(iou)), " evaluation"));
      }
      for (size_t i = 1; i < runs.size(); ++i) {
        if (!chosen[0] || !chosen[i]) continue;
        for (const std::string& d : server::EvalSettingsDifferences(
                 snap.evaluations[*chosen[0]].settings, snap.evaluations[*chosen[i]].settings)) {
          reasons.push_back(absl::StrCat(runs[i]->name, ": ", d));
        }
      }
    }
    // Deltas against the first run: stats[i] - stats[0].
    json deltas = json::array();
    for (size_t i = 0; i < runs.size(); ++i) {
      if (i == 0 || !chosen[0] || !chosen[i]) {
        deltas.push_back(nullptr);
        continue;
      }
      json d = json::object();
      for (int s = 0; s < kNumCocoStats; ++s) {
        const double a = snap.evaluations[*chosen[0]].stats[s];
        const double b = snap.evaluations[*chosen[i]].stats[s];
        d[std::string(kCocoStatNames[s])] =
            HasValue(a) && HasValue(b) ? json(b - a) : json(nullptr);
      }
      deltas.push_back(std::move(d));
    }
    // Per-category AP: union of categories, values per run, deltas against the first run.
    std::map<int64_t, std::string> cat_names;
    std::vector<std::map<int64_t, double>> cat_ap(runs.size());
    for (size_t i = 0; i < runs.size(); ++i) {
      if (!chosen[i]) continue;
      for (const server::CategoryAp& c : snap.evaluations[*chosen[i]].per_category) {
        cat_names.emplace(c.category_id, c.category_name);
        if (HasValue(c.ap)) cat_ap[i][c.category_id] = c.ap;
      }
    }
    json cats = json::array();
    for (const auto& [id, cname] : cat_names) {
      json values = json::array();
      json cdeltas = json::array();
      auto first = cat_ap[0].find(id);
      for (size_t i = 0; i < runs.size(); ++i) {
        auto it = cat_ap[i].find(id);
        values.push_back(it == cat_ap[i].end() ? json(nullptr) : json(it->second));
        cdeltas.push_back(i > 0 && it != cat_ap[i].end() && first != cat_ap[0].end()
                              ? json(it->second - first->second)
                              : json(nullptr));
      }
      cats.push_back(json{{"id", id}, {"name", cname}, {"values", values}, {"deltas", cdeltas}});
    }
    // Largest |delta| of the second run first.
    std::stable_sort(cats.begin(), cats.end(), [](const json& a, const json& b) {
      const json& da = a["deltas"].size() > 1 ? a["deltas"][1] : json(nullptr);
      const json& db = b["deltas"].size() > 1 ? b["deltas"][1] : json(nullptr);
      const double xa = da.is_number() ? std::abs(da.get<double>()) : -1;
      const double xb = db.is_number() ? std::abs(db.get<double>()) : -1;
      return xa > xb;
    });
    stats_out[std::string(server::IouTypeName(iou))] =
        json{{"comparable", key.has_value()},
             {"eval_key", key ? json(*key) : json(nullptr)},
             {"reason", absl::StrJoin(reasons, "; ")},
             {"evaluations", std::move(evals)},
             {"deltas", std::move(deltas)},
             {"categories", std::move(cats)}};
  }
  json run_list = json::array();
  for (const Run* r : runs) run_list.push_back(RunSummaryJson(*r));
  return json{{"runs", std::move(run_list)},
              {"config_diff", std::move(config_diff)},
              {"stats", std::move(stats_out)}};
}

StatusOr<json> LineageView(const StoreSnapshot& snap, std::string_view root) {
  // Children indexes.
  std::unordered_map<int64_t, std::vector<size_t>> checkpoints_of_run;  // run id -> checkpoints
  for (size_t i = 0; i < snap.checkpoints.size(); ++i) {
    checkpoints_of_run[snap.checkpoints[i].run_id.value].push_back(i);
  }
  std::unordered_map<int64_t, std::vector<size_t>> runs_from_checkpoint;  // checkpoint -> runs
  std::unordered_map<int64_t, std::vector<size_t>> runs_from_run;  // parent run, no checkpoint
  for (size_t i = 0; i < snap.runs.size(); ++i) {
    const Run& r = snap.runs[i];
    if (r.parent_checkpoint) {
      runs_from_checkpoint[r.parent_checkpoint->value].push_back(i);
    } else if (r.parent_run) {
      runs_from_run[r.parent_run->value].push_back(i);
    }
  }
  std::unordered_map<int64_t, BestAp> best_of_checkpoint;
  for (const Evaluation& e : snap.evaluations) {
    if (e.checkpoint_id) best_of_checkpoint[e.checkpoint_id->value].Offer(e);
  }
  constexpr int64_t kMaxNodes = 5000;
  int64_t nodes = 0;
  bool truncated = false;

  std::function<json(size_t)> run_node;
  std::function<json(size_t)> checkpoint_node = [&](size_t ci) -> json {
    const Checkpoint& c = snap.checkpoints[ci];
    ++nodes;
    auto it = best_of_checkpoint.find(c.id.value);
    json children = json::array();
    auto rit = runs_from_checkpoint.find(c.id.value);
    if (rit != runs_from_checkpoint.end()) {
      for (size_t ri : rit->second) {
        if (nodes >= kMaxNodes) {
          truncated = true;
          break;
        }
        children.push_back(run_node(ri));
      }
    }
    return json{{"type", "checkpoint"},
                {"name", c.name},
                {"run", c.run_name},
                {"step", c.step},
                {"pinned", c.pinned},
                {"best", it == best_of_checkpoint.end() ? json(nullptr) : it->second.ToJson()},
                {"children", std::move(children)}};
  };
  run_node = [&](size_t ri) -> json {
    const Run& r = snap.runs[ri];
    ++nodes;
    json children = json::array();
    auto cit = checkpoints_of_run.find(r.id.value);
    if (cit != checkpoints_of_run.end()) {
      for (size_t ci : cit->second) {
        // A checkpoint nobody forked from and nobody evaluated is noise in the tree.
        const bool forked = runs_from_checkpoint.count(snap.checkpoints[ci].id.value) > 0;
        const bool evaluated = best_of_checkpoint.count(snap.checkpoints[ci].id.value) > 0;
        if (!forked && !evaluated && !snap.checkpoints[ci].pinned) continue;
        if (nodes >= kMaxNodes) {
          truncated = true;
          break;
        }
        children.push_back(checkpoint_node(ci));
      }
    }
    auto rit = runs_from_run.find(r.id.value);
    if (rit != runs_from_run.end()) {
      for (size_t ci : rit->second) {
        if (nodes >= kMaxNodes) {
          truncated = true;
          break;
        }
        children.push_back(run_node(ci));
      }
    }
    return json{{"type", "run"},
                {"name", r.name},
                {"sweep", r.sweep},
                {"status", std::string(server::RunStatusName(r.status))},
                {"best", RunBestAp(snap, r.id.value).ToJson()},
                {"children", std::move(children)}};
  };

  json roots = json::array();
  if (root.empty()) {
    for (size_t i = 0; i < snap.runs.size(); ++i) {
      if (snap.runs[i].parent_run || snap.runs[i].parent_checkpoint) continue;
      if (nodes >= kMaxNodes) {
        truncated = true;
        break;
      }
      roots.push_back(run_node(i));
    }
  } else if (const Run* r = snap.FindRun(root)) {
    roots.push_back(run_node(snap.run_by_name.at(r->name)));
  } else {
    for (size_t i = 0; i < snap.checkpoints.size(); ++i) {
      if (snap.checkpoints[i].name.compare(0, root.size(), root) == 0) {
        roots.push_back(checkpoint_node(i));
      }
    }
    if (roots.empty()) {
      return absl::NotFoundError(
          absl::StrCat("parameter 'root': no run or checkpoint named '", std::string(root), "'"));
    }
  }
  return json{{"root", std::string(root)},
              {"roots", std::move(roots)},
              {"nodes", nodes},
              {"truncated", truncated}};
}

StatusOr<json> CheckpointsView(const StoreSnapshot& snap, std::string_view run_name) {
  std::optional<server::RunId> run;
  if (!run_name.empty()) {
    const Run* r = snap.FindRun(run_name);
    if (r == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("parameter 'run': no run named '", std::string(run_name), "'"));
    }
    run = r->id;
  }
  std::unordered_map<int64_t, BestAp> best;
  for (const Evaluation& e : snap.evaluations) {
    if (e.checkpoint_id) best[e.checkpoint_id->value].Offer(e);
  }
  json list = json::array();
  for (const Checkpoint& c : snap.checkpoints) {
    if (run && c.run_id != *run) continue;
    json cj = CheckpointJson(c);
    auto it = best.find(c.id.value);
    cj["best"] = it == best.end() ? json(nullptr) : it->second.ToJson();
    list.push_back(std::move(cj));
  }
  return json{{"checkpoints", std::move(list)}};
}

}  // namespace ablate::dashboard
