#include "sweepspec/trial_expansion.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <set>

#include "common/canonical_json.h"

namespace ablate::sweepspec {
namespace {

// splitmix64: tiny, well-distributed, and identical on every platform (unlike std:: distributions).
class SeededRandom {
 public:
  explicit SeededRandom(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double Uniform01() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  size_t Index(size_t n) { return static_cast<size_t>(Uniform01() * static_cast<double>(n)); }

 private:
  uint64_t state_;
};

bool ConditionHolds(const ParameterSpec& p, const nlohmann::json& set) {
  for (const auto& [key, accepted] : p.when) {
    if (!set.contains(key)) return false;
    bool any = false;
    for (const auto& v : accepted) any |= (set[key] == v);
    if (!any) return false;
  }
  return true;
}

std::optional<nlohmann::json> Resolve(const std::string& side, const nlohmann::json& set) {
  char* end = nullptr;
  double number = std::strtod(side.c_str(), &end);
  if (!side.empty() && end == side.c_str() + side.size()) return nlohmann::json(number);
  if (set.contains(side)) return set[side];
  return std::nullopt;
}

Trial MakeTrial(const SweepSpec& spec, int index, nlohmann::json params, nlohmann::json set) {
  Trial t;
  t.index = index;
  t.params = std::move(params);
  t.eval = spec.eval;
  // Swept eval settings leave the training config and go to the trial's eval settings.
  for (auto it = set.begin(); it != set.end();) {
    if (it.key().rfind("eval.", 0) != 0) {
      ++it;
      continue;
    }
    const std::string name = it.key().substr(5);
    if (name == "score_threshold") t.eval.score_threshold = it.value().get<double>();
    if (name == "top_k") t.eval.top_k = it.value().get<int>();
    if (name == "nms_iou") t.eval.nms_iou = it.value().get<double>();
    if (name == "max_dets") t.eval.max_dets = it.value().get<int>();
    it = set.erase(it);
  }
  t.set = std::move(set);
  t.effective_config = {{"preset", spec.preset},
                        {"set", t.set},
                        {"data", SweepDataJson(spec)},
                        {"start_from", spec.start_from},
                        {"steps", spec.budget.steps},
                        {"eval",
                         {{"score_threshold", t.eval.score_threshold},
                          {"top_k", t.eval.top_k},
                          {"nms_iou", t.eval.nms_iou},
                          {"max_dets", t.eval.max_dets}}}};
  // A user's program is part of the experiment (absent for ablate-train: fingerprints as before).
  if (spec.trainer) t.effective_config["trainer"] = protocol::TrainerSpecToJson(*spec.trainer);
  t.fingerprint = ConfigFingerprint(t.effective_config);
  return t;
}

StatusOr<bool> AllConstraintsHold(const SweepSpec& spec, const nlohmann::json& set) {
  for (const auto& c : spec.constraints) {
    ABLATE_ASSIGN_OR_RETURN(bool ok, ConstraintHolds(c, set));
    if (!ok) return false;
  }
  return true;
}

// Depth-first grid expansion over parameters[i..]. Stops once `out` holds more than
// kMaxTrialsPerSweep cells, so a huge grid costs at most that many cells of work.
void ExpandGrid(const SweepSpec& spec, size_t i, nlohmann::json params, nlohmann::json set,
                std::vector<std::pair<nlohmann::json, nlohmann::json>>* out) {
  if (out->size() > static_cast<size_t>(kMaxTrialsPerSweep)) return;
  if (i == spec.parameters.size()) {
    out->emplace_back(std::move(params), std::move(set));
    return;
  }
  const ParameterSpec& p = spec.parameters[i];
  if (!ConditionHolds(p, set)) {
    ExpandGrid(spec, i + 1, std::move(params), std::move(set), out);
    return;
  }
  for (const auto& row : p.values) {
    nlohmann::json next_params = params;
    nlohmann::json next_set = set;
    for (size_t k = 0; k < p.keys.size(); ++k) {
      next_params[p.keys[k]] = row[k];
      next_set[p.keys[k]] = row[k];
    }
    ExpandGrid(spec, i + 1, std::move(next_params), std::move(next_set), out);
  }
}

// The product of the value-list lengths (an upper bound on the grid's cells; `when` conditions
// can only lower it), saturating at UINT64_MAX instead of overflowing.
uint64_t GridCellBound(const SweepSpec& spec) {
  uint64_t product = 1;
  for (const auto& p : spec.parameters) {
    const uint64_t n = p.values.size();
    if (n != 0 && product > UINT64_MAX / n) return UINT64_MAX;
    product *= n == 0 ? 1 : n;
  }
  return product;
}

}  // namespace

StatusOr<bool> ConstraintHolds(const Constraint& c, const nlohmann::json& set) {
  auto lhs = Resolve(c.lhs, set);
  auto rhs = Resolve(c.rhs, set);
  if (!lhs || !rhs) return true;  // a conditional key this trial does not set
  if (c.op == "==") return *lhs == *rhs;
  if (c.op == "!=") return *lhs != *rhs;
  if (!lhs->is_number() || !rhs->is_number()) {
    return absl::InvalidArgumentError("constraint '" + c.text + "' compares non-numbers " +
                                      lhs->dump() + " and " + rhs->dump());
  }
  double a = lhs->get<double>();
  double b = rhs->get<double>();
  if (c.op == "<") return a < b;
  if (c.op == "<=") return a <= b;
  if (c.op == ">") return a > b;
  return a >= b;
}

StatusOr<TrialExpansion> ExpandTrials(const SweepSpec& spec, const TrialConfigValidator& validate) {
  TrialExpansion result;
  std::vector<std::pair<nlohmann::json, nlohmann::json>> candidates;

  if (spec.search == SearchMode::kGrid) {
    ExpandGrid(spec, 0, nlohmann::json::object(), spec.base_set, &candidates);
    if (candidates.size() > static_cast<size_t>(kMaxTrialsPerSweep)) {
      const uint64_t bound = GridCellBound(spec);
      return absl::InvalidArgumentError(
          "sweep '" + spec.name + "': the grid has more than " +
          std::to_string(kMaxTrialsPerSweep) + " cells (the trials-per-sweep limit; " +
          (bound == UINT64_MAX ? std::string("the value lists multiply past 2^64")
                               : "the value lists multiply to " + std::to_string(bound)) +
          "); split it into smaller sweeps");
    }
    std::vector<std::pair<nlohmann::json, nlohmann::json>> kept;
    for (auto& c : candidates) {
      ABLATE_ASSIGN_OR_RETURN(bool ok, AllConstraintsHold(spec, c.second));
      if (ok) {
        kept.push_back(std::move(c));
      } else {
        ++result.dropped_by_constraints;
      }
    }
    candidates = std::move(kept);
  } else {
    if (spec.trials > kMaxTrialsPerSweep) {
      return absl::InvalidArgumentError(
          "sweep '" + spec.name + "': " + std::to_string(spec.trials) + " trials is more than " +
          std::to_string(kMaxTrialsPerSweep) + " (the trials-per-sweep limit)");
    }
    SeededRandom rng(spec.seed);
    const int max_attempts = 100 * spec.trials;
    for (int attempt = 0;
         attempt < max_attempts && static_cast<int>(candidates.size()) < spec.trials; ++attempt) {
      nlohmann::json params = nlohmann::json::object();
      nlohmann::json set = spec.base_set;
      for (const auto& p : spec.parameters) {
        if (!ConditionHolds(p, set)) continue;
        if (p.kind == ParameterKind::kValues) {
          const auto& row = p.values[rng.Index(p.values.size())];
          for (size_t k = 0; k < p.keys.size(); ++k) params[p.keys[k]] = set[p.keys[k]] = row[k];
        } else {
          double u = rng.Uniform01();
          double v = p.kind == ParameterKind::kUniform
                         ? p.low + u * (p.high - p.low)
                         : std::exp(std::log(p.low) + u * (std::log(p.high) - std::log(p.low)));
          params[p.keys[0]] = set[p.keys[0]] = v;
        }
      }
      ABLATE_ASSIGN_OR_RETURN(bool ok, AllConstraintsHold(spec, set));
      if (ok) candidates.emplace_back(std::move(params), std::move(set));
    }
    if (static_cast<int>(candidates.size()) < spec.trials) {
      return absl::InvalidArgumentError(
          "sweep '" + spec.name + "': only " + std::to_string(candidates.size()) + " of " +
          std::to_string(spec.trials) + " random trials satisfy the constraints after " +
          std::to_string(max_attempts) + " draws");
    }
  }

  if (candidates.empty()) {
    return absl::InvalidArgumentError("sweep '" + spec.name + "': every one of the " +
                                      std::to_string(result.dropped_by_constraints) +
                                      " trials violates a constraint; nothing to run");
  }
  std::set<std::string> seen;
  for (auto& [params, set] : candidates) {
    Trial t =
        MakeTrial(spec, static_cast<int>(result.trials.size()), std::move(params), std::move(set));
    if (validate) {
      Status s = validate(t.set);
      if (!s.ok()) {
        return absl::InvalidArgumentError("sweep '" + spec.name + "', trial " + t.params.dump() +
                                          ": " + std::string(s.message()));
      }
    }
    if (spec.search == SearchMode::kGrid && !seen.insert(t.fingerprint).second) {
      return absl::InvalidArgumentError("sweep '" + spec.name + "': trial " + t.params.dump() +
                                        " duplicates an earlier trial (repeated values?)");
    }
    result.trials.push_back(std::move(t));
  }
  return result;
}

}  // namespace ablate::sweepspec
