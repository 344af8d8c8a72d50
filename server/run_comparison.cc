#include "server/run_comparison.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ablate::server {
namespace {

void Flatten(const nlohmann::json& j, const std::string& prefix,
             std::map<std::string, std::string>& out) {
  if (j.is_object() && !j.empty()) {
    for (const auto& [k, v] : j.items()) Flatten(v, prefix.empty() ? k : prefix + "." + k, out);
    return;
  }
  if (!prefix.empty()) out[prefix] = j.dump();
}

const Evaluation* BestByAp(const std::vector<const Evaluation*>& evals) {
  const Evaluation* best = nullptr;
  for (const Evaluation* e : evals) {
    if (best == nullptr || e->stats[0] > best->stats[0]) best = e;
  }
  return best;
}

}  // namespace

std::vector<ConfigDiffEntry> DiffConfigs(const nlohmann::json& a, const nlohmann::json& b) {
  std::map<std::string, std::string> fa, fb;
  Flatten(a, "", fa);
  Flatten(b, "", fb);
  std::set<std::string> keys;
  for (const auto& [k, v] : fa) keys.insert(k);
  for (const auto& [k, v] : fb) keys.insert(k);
  std::vector<ConfigDiffEntry> out;
  for (const std::string& k : keys) {
    ConfigDiffEntry e;
    e.key = k;
    if (auto it = fa.find(k); it != fa.end()) e.a_json = it->second;
    if (auto it = fb.find(k); it != fb.end()) e.b_json = it->second;
    e.same = e.a_json == e.b_json;
    out.push_back(std::move(e));
  }
  return out;
}

StatsComparison CompareEvaluations(IouType iou_type, const std::vector<Evaluation>& a,
                                   const std::vector<Evaluation>& b, int top_categories) {
  StatsComparison out;
  out.iou_type = iou_type;
  std::map<std::string, std::vector<const Evaluation*>> ka, kb;
  std::vector<const Evaluation*> all_a, all_b;
  for (const Evaluation& e : a) {
    if (e.settings.iou_type != iou_type) continue;
    ka[EvalKey(e.settings)].push_back(&e);
    all_a.push_back(&e);
  }
  for (const Evaluation& e : b) {
    if (e.settings.iou_type != iou_type) continue;
    kb[EvalKey(e.settings)].push_back(&e);
    all_b.push_back(&e);
  }
  std::string common;
  size_t most = 0;
  for (const auto& [key, list] : ka) {
    auto it = kb.find(key);
    if (it == kb.end()) continue;
    if (list.size() + it->second.size() > most) {
      most = list.size() + it->second.size();
      common = key;
    }
  }
  const Evaluation* ea = common.empty() ? BestByAp(all_a) : BestByAp(ka[common]);
  const Evaluation* eb = common.empty() ? BestByAp(all_b) : BestByAp(kb[common]);
  if (ea) out.a = *ea;
  if (eb) out.b = *eb;
  const std::string type(IouTypeName(iou_type));
  if (!ea || !eb) {
    out.reason = absl::StrCat("run ", ea ? "b" : "a", " has no ", type, " evaluation");
    return out;
  }
  for (int i = 0; i < kNumCocoStats; ++i) out.delta[i] = eb->stats[i] - ea->stats[i];
  out.comparable = !common.empty();
  if (!out.comparable) {
    out.reason = absl::StrCat(
        "no common eval settings; compared each run's best ", type,
        " AP: ", absl::StrJoin(EvalSettingsDifferences(ea->settings, eb->settings), ", "));
  }
  std::map<int64_t, const CategoryAp*> cats_a;
  for (const CategoryAp& c : ea->per_category) cats_a[c.category_id] = &c;
  for (const CategoryAp& c : eb->per_category) {
    auto it = cats_a.find(c.category_id);
    if (it == cats_a.end()) continue;
    out.category_deltas.push_back(CategoryDelta{
        c.category_id, c.category_name.empty() ? it->second->category_name : c.category_name,
        it->second->ap, c.ap, c.ap - it->second->ap});
  }
  std::stable_sort(
      out.category_deltas.begin(), out.category_deltas.end(),
      [](const auto& x, const auto& y) { return std::fabs(x.delta) > std::fabs(y.delta); });
  if (top_categories > 0 && out.category_deltas.size() > static_cast<size_t>(top_categories)) {
    out.category_deltas.resize(static_cast<size_t>(top_categories));
  }
  return out;
}

StatusOr<RunComparison> CompareRuns(RunReader& store, RunId a, RunId b, int top_categories) {
  if (a == b) return absl::InvalidArgumentError("compare needs two different runs");
  RunComparison out;
  ABLATE_ASSIGN_OR_RETURN(out.a, store.GetRun(a));
  ABLATE_ASSIGN_OR_RETURN(out.b, store.GetRun(b));
  out.config_diff = DiffConfigs(nlohmann::json::parse(out.a.config_json),
                                nlohmann::json::parse(out.b.config_json));
  EvaluationFilter fa, fb;
  fa.run = a;
  fb.run = b;
  ABLATE_ASSIGN_OR_RETURN(auto ea, store.ListEvaluations(fa));
  ABLATE_ASSIGN_OR_RETURN(auto eb, store.ListEvaluations(fb));
  for (IouType t : {IouType::kBbox, IouType::kSegm}) {
    bool any = false;
    for (const auto& e : ea) any = any || e.settings.iou_type == t;
    for (const auto& e : eb) any = any || e.settings.iou_type == t;
    if (any) out.stats.push_back(CompareEvaluations(t, ea, eb, top_categories));
  }
  return out;
}

}  // namespace ablate::server
