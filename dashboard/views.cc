#include "dashboard/views.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "dashboard/gallery_files.h"
#include "server/leaderboard.h"
#include "server/record_json.h"
#include "server/run_comparison.h"

namespace ablate::dashboard {
namespace {

using nlohmann::json;
using server::Checkpoint;
using server::Evaluation;
using server::IouType;
using server::Run;
using server::RunStatus;

// pycocotools writes -1 for "no ground truth to score": not a value to rank or subtract.
bool HasValue(double stat) { return stat >= 0 && std::isfinite(stat); }

// The entities are server/record_json.h's, the vocabulary `ablate ... --json` prints too; the
// dashboard adds only what the page needs besides (image urls, best AP, re-scoring marks).

// A gallery image as the page loads it (served by /api/gallery/..., gallery_files.h): the shared
// fields plus "url", null for a deleted image (the API answers 410 for it).
json PageGalleryImageJson(const Evaluation& e, const server::GalleryImage& image) {
  json out = server::GalleryImageJson(image);
  out["url"] = image.deleted() ? json(nullptr) : json(GalleryImageUrl(e.id.value, image.image_id));
  return out;
}

// `detail`: with per-category AP and the gallery's images (the run page); without, for lists.
json PageEvaluationJson(const Evaluation& e, std::optional<int64_t> step, bool detail) {
  json out = server::EvaluationJson(e, step, detail);
  if (detail && e.gallery) {
    json& images = out["gallery"]["images"];
    for (size_t i = 0; i < e.gallery->images.size(); ++i) {
      images[i]["url"] = PageGalleryImageJson(e, e.gallery->images[i])["url"];
    }
  }
  return out;
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
  struct Agg {
    server::SweepProgressCounts progress;
    int64_t updated_unix_ms = 0;
  };
  std::map<std::string, Agg> sweeps;
  for (const Run& r : snap.runs) {
    Agg& a = sweeps[r.sweep];
    a.progress.CountRun(r.status);
    a.updated_unix_ms = std::max(a.updated_unix_ms, r.updated_unix_ms);
  }
  SnapshotRunReader store(snap);
  json list = json::array();
  for (const auto& [name, a] : sweeps) {
    // Best bbox AP = the top row of the coordinator's leaderboard for this sweep (its largest
    // comparable group), so a re-scoring at other settings never outranks the trials. Runs
    // outside any sweep ("") are not filtered by the leaderboard; they get no best.
    json best = nullptr;
    json best_run = nullptr;
    if (!name.empty()) {
      server::LeaderboardQuery q;
      q.sweep = name;
      q.top = 1;
      StatusOr<server::Leaderboard> board = server::BuildLeaderboard(store, q);
      if (board.ok() && !board->groups.empty() && !board->groups[0].rows.empty()) {
        const server::LeaderboardRow& top = board->groups[0].rows[0];
        best = json{
            {"ap", top.sort_value}, {"iou_type", "bbox"}, {"eval_key", board->groups[0].eval_key}};
        best_run = top.run.name;
      }
    }
    // The sweep as `ablate sweeps --json` prints it (no id: the snapshot groups runs by name),
    // plus the page's best AP and last change.
    json sweep = server::SweepJson(std::nullopt, name, a.progress);
    sweep["best"] = std::move(best);
    sweep["best_run"] = std::move(best_run);
    sweep["updated_unix_ms"] = a.updated_unix_ms;
    list.push_back(std::move(sweep));
  }
  return json{{"sweeps", std::move(list)}, {"snapshot_unix_ms", snap.loaded_unix_ms}};
}

StatusOr<json> LeaderboardView(const StoreSnapshot& snap, const server::LeaderboardQuery& query) {
  server::LeaderboardQuery q = query;
  q.all_groups = false;  // the page shows one group's rows
  SnapshotRunReader store(snap);
  StatusOr<server::Leaderboard> board = server::BuildLeaderboard(store, q);
  if (!board.ok()) {
    if (absl::IsNotFound(board.status())) {
      return absl::NotFoundError(
          absl::StrCat("parameter 'group': ", std::string(board.status().message())));
    }
    return board.status();
  }
  json group_list = json::array();
  const server::LeaderboardGroup* selected = nullptr;
  for (const server::LeaderboardGroup& g : board->groups) {
    group_list.push_back(server::LeaderboardGroupJson(g));
    if (g.selected && selected == nullptr) selected = &g;
  }
  json rows = json::array();
  int64_t total = 0;
  if (selected != nullptr) {
    total = selected->run_count;
    // Best first, or with q.ascending worst first (stats pycocotools could not score stay last).
    for (const server::LeaderboardRow& r : selected->rows) {
      server::LeaderboardRow row = r;
      if (const Run* run = snap.FindRun(r.run.name)) row.run = *run;
      rows.push_back(
          server::LeaderboardRowJson(row, snap.EvaluationStep(r.evaluation)));  // as the CLI's
    }
  }
  return json{{"sort_by", std::string(kCocoStatNames[static_cast<size_t>(q.stat_index)])},
              {"iou_type", std::string(server::IouTypeName(q.iou_type))},
              {"order", q.ascending ? "asc" : "desc"},
              {"groups", std::move(group_list)},
              {"selected_group", selected != nullptr ? json(selected->eval_key) : json(nullptr)},
              {"total_rows", total},
              {"rows", std::move(rows)},
              {"snapshot_unix_ms", snap.loaded_unix_ms}};
}

StatusOr<json> RunView(server::RunReader& store, const StoreSnapshot& snap, std::string_view name,
                       server::JobStore* jobs) {
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
    json cj = server::CheckpointJson(c);
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
    json ej = PageEvaluationJson(e, step, true);
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
      children.push_back(json{
          {"name", r.name},
          {"parent_checkpoint",
           r.parent_checkpoint_name.empty() ? json(nullptr) : json(r.parent_checkpoint_name)}});
    }
  }
  json worker = nullptr;
  json job_list = json::array();
  if (jobs != nullptr) {
    ABLATE_ASSIGN_OR_RETURN(std::vector<server::Job> run_jobs, jobs->ListJobs(run.id, ""));
    for (const server::Job& j : run_jobs) {
      if (!j.worker.empty()) worker = j.worker;
      job_list.push_back(server::JobJson(j));  // as `ablate jobs --json` prints it
    }
  }
  return json{{"run", server::RunJson(run)},
              {"config", std::move(config)},
              {"config_overrides", std::move(overrides)},
              // The worker holding the run's latest leased job (null: none / no scheduler).
              {"worker", std::move(worker)},
              {"jobs", std::move(job_list)},
              {"checkpoints", std::move(cps)},
              {"evaluations", std::move(evals)},
              {"metric_keys", std::move(keys)},
              {"latest_metrics", std::move(latest_json)},
              {"children", std::move(children)}};
}

StatusOr<json> MetricsView(server::RunReader& store, std::string_view name,
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

namespace {

// The compare page's gallery: for each run the gallery of the evaluation compared (bbox, else segm;
// both iou types of one pass share it), and the image ids side by side. Null when no compared
// evaluation has a gallery.
json CompareGalleryJson(const std::vector<const Run*>& runs,
                        const std::vector<std::array<std::optional<Evaluation>, 2>>& compared,
                        const StoreSnapshot& snap) {
  std::set<int64_t> all_ids;
  std::vector<std::map<int64_t, const server::GalleryImage*>> by_id(runs.size());
  std::vector<const Evaluation*> shown(runs.size(), nullptr);
  for (size_t i = 0; i < runs.size(); ++i) {
    for (const std::optional<Evaluation>& e : compared[i]) {
      if (e && e->gallery) {
        shown[i] = &*e;
        break;
      }
    }
    if (shown[i] == nullptr) continue;
    for (const server::GalleryImage& image : shown[i]->gallery->images) {
      by_id[i][image.image_id] = &image;
      all_ids.insert(image.image_id);
    }
  }
  if (all_ids.empty()) return nullptr;
  json run_list = json::array();
  for (size_t i = 0; i < runs.size(); ++i) {
    const Evaluation* e = shown[i];
    if (e == nullptr) {
      run_list.push_back(json{{"run", runs[i]->name}, {"evaluation", nullptr}});
      continue;
    }
    json images = json::object();
    for (const auto& [id, image] : by_id[i])
      images[std::to_string(id)] = PageGalleryImageJson(*e, *image);
    run_list.push_back(
        json{{"run", runs[i]->name},
             {"evaluation", e->id.value},
             {"checkpoint", e->checkpoint_name.empty() ? json(nullptr) : json(e->checkpoint_name)},
             {"step", snap.EvaluationStep(*e) ? json(*snap.EvaluationStep(*e)) : json(nullptr)},
             {"settings", server::EvalSettingsJson(e->settings)},
             {"outputs", server::OutputsJson(e->outputs)},
             {"seed", e->gallery->seed},
             {"state", server::GalleryState(*e->gallery)},
             {"deleted_by_job",
              e->gallery->DeletedByJob() != 0 ? json(e->gallery->DeletedByJob()) : json(nullptr)},
             {"images", std::move(images)}});
  }
  json ids = json::array();
  json common = json::array();
  for (int64_t id : all_ids) {
    ids.push_back(id);
    const bool everywhere =
        std::all_of(by_id.begin(), by_id.end(), [&](const auto& m) { return m.count(id) > 0; });
    if (everywhere) common.push_back(id);
  }
  return json{{"image_ids", std::move(ids)},
              {"common_image_ids", std::move(common)},
              {"runs", std::move(run_list)}};
}

}  // namespace

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

  // Stats: each run against the first, pairwise, by the coordinator's CompareEvaluations (the
  // same choice of evaluations and comparability verdict as `ablate compare`).
  std::vector<std::vector<Evaluation>> evals(runs.size());
  for (size_t i = 0; i < runs.size(); ++i) {
    auto it = snap.evaluations_by_run.find(runs[i]->id.value);
    if (it == snap.evaluations_by_run.end()) continue;
    for (size_t idx : it->second) evals[i].push_back(snap.evaluations[idx]);
  }
  json stats_out = json::object();
  // The evaluation compared for each run, per iou type (index 0 bbox, 1 segm).
  std::vector<std::array<std::optional<Evaluation>, 2>> compared(runs.size());
  for (IouType iou : {IouType::kBbox, IouType::kSegm}) {
    const std::string type(server::IouTypeName(iou));
    std::vector<server::StatsComparison> pairs;
    for (size_t i = 1; i < runs.size(); ++i) {
      pairs.push_back(server::CompareEvaluations(iou, evals[0], evals[i], /*top_categories=*/0));
    }
    const size_t slot = iou == IouType::kBbox ? 0 : 1;
    if (!pairs.empty()) compared[0][slot] = pairs[0].a;
    for (size_t i = 0; i < pairs.size(); ++i) compared[i + 1][slot] = pairs[i].b;
    const bool any = std::any_of(pairs.begin(), pairs.end(),
                                 [](const server::StatsComparison& p) { return p.a || p.b; });
    if (!any) {
      stats_out[type] = nullptr;
      continue;
    }
    auto eval_json = [&](const std::optional<Evaluation>& e) {
      return e ? PageEvaluationJson(*e, snap.EvaluationStep(*e), false) : json(nullptr);
    };
    json chosen = json::array();
    chosen.push_back(eval_json(pairs[0].a));
    bool comparable = true;
    std::vector<std::string> reasons;
    json deltas = json::array({nullptr});
    for (size_t i = 0; i < pairs.size(); ++i) {
      const server::StatsComparison& p = pairs[i];
      chosen.push_back(eval_json(p.b));
      comparable = comparable && p.comparable;
      if (!p.reason.empty()) reasons.push_back(absl::StrCat(runs[i + 1]->name, ": ", p.reason));
      if (!p.a || !p.b) {
        deltas.push_back(nullptr);
        continue;
      }
      deltas.push_back(server::StatsDeltaJson(p.a->stats, p.b->stats, p.delta));
    }
    // Per category: AP of each run's chosen evaluation, deltas from each pair.
    std::map<int64_t, std::string> names_by_id;
    std::vector<std::map<int64_t, double>> cat_ap(runs.size());
    std::vector<std::map<int64_t, double>> cat_delta(runs.size());
    auto add_cats = [&](size_t run, const std::optional<Evaluation>& e) {
      if (!e) return;
      for (const server::CategoryAp& c : e->per_category) {
        names_by_id.emplace(c.category_id, c.category_name);
        if (HasValue(c.ap)) cat_ap[run][c.category_id] = c.ap;
      }
    };
    add_cats(0, pairs[0].a);
    for (size_t i = 0; i < pairs.size(); ++i) {
      add_cats(i + 1, pairs[i].b);
      for (const server::CategoryDelta& cd : pairs[i].category_deltas) {
        if (HasValue(cd.a_ap) && HasValue(cd.b_ap)) cat_delta[i + 1][cd.category_id] = cd.delta;
      }
    }
    json cats = json::array();
    for (const auto& [id, cname] : names_by_id) {
      json values = json::array();
      json cdeltas = json::array();
      for (size_t i = 0; i < runs.size(); ++i) {
        auto v = cat_ap[i].find(id);
        values.push_back(v == cat_ap[i].end() ? json(nullptr) : json(v->second));
        auto d = cat_delta[i].find(id);
        cdeltas.push_back(d == cat_delta[i].end() ? json(nullptr) : json(d->second));
      }
      cats.push_back(
          json{{"category_id", id}, {"name", cname}, {"values", values}, {"deltas", cdeltas}});
    }
    // Largest |delta| of the second run first (the coordinator's order for a pair).
    std::stable_sort(cats.begin(), cats.end(), [](const json& a, const json& b) {
      const json& da = a["deltas"][1];
      const json& db = b["deltas"][1];
      const double xa = da.is_number() ? std::abs(da.get<double>()) : -1;
      const double xb = db.is_number() ? std::abs(db.get<double>()) : -1;
      return xa > xb;
    });
    stats_out[type] = json{{"comparable", comparable},
                           {"reason", absl::StrJoin(reasons, "; ")},
                           {"evaluations", std::move(chosen)},
                           {"deltas", std::move(deltas)},
                           {"categories", std::move(cats)}};
  }
  json run_list = json::array();
  for (const Run* r : runs) run_list.push_back(server::RunJson(*r));
  return json{{"runs", std::move(run_list)},
              {"config_diff", std::move(config_diff)},
              {"stats", std::move(stats_out)},
              {"gallery", CompareGalleryJson(runs, compared, snap)}};
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
                {"sweep", r.sweep.empty() ? json(nullptr) : json(r.sweep)},
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
    json cj = server::CheckpointJson(c);
    auto it = best.find(c.id.value);
    cj["best"] = it == best.end() ? json(nullptr) : it->second.ToJson();
    list.push_back(std::move(cj));
  }
  return json{{"checkpoints", std::move(list)}};
}

}  // namespace ablate::dashboard
