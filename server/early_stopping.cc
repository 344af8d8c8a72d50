#include "server/early_stopping.h"

#include <algorithm>
#include <limits>
#include <optional>

#include "absl/strings/str_format.h"

namespace ablate::server {
namespace {

using sweepspec::EarlyStopMethod;
using sweepspec::EarlyStopSpec;

// Values closer than this are a tie: a median of 0.10 and 0.20 is 0.15000000000000002 in
// binary, and must not count as better than a trial's 0.15.
constexpr double kTieTolerance = 1e-9;

// a is better than b under the rule's mode, by more than kTieTolerance.
bool Better(const EarlyStopSpec& rule, double a, double b) {
  return rule.maximize ? a > b + kTieTolerance : a < b - kTieTolerance;
}

// The trial's best value over its results at steps <= step.
double BestUpTo(const EarlyStopSpec& rule, const TrialResults& t, int64_t step) {
  std::optional<double> best;
  for (const TrialResult& r : t.results) {
    if (r.step <= step && (!best || Better(rule, r.value, *best))) best = r.value;
  }
  return *best;  // callers ask only for steps the trial has a result at
}

const TrialResult* ResultAt(const TrialResults& t, int64_t step, int64_t max_order) {
  for (const TrialResult& r : t.results) {
    if (r.step == step && r.order <= max_order) return &r;
  }
  return nullptr;
}

std::optional<StopDecision> AshaAt(const EarlyStopSpec& rule, std::span<const TrialResults> all,
                                   const TrialResults& t, const TrialResult& r) {
  int n = 0;
  int better = 0;
  for (const TrialResults& other : all) {
    const TrialResult* o = ResultAt(other, r.step, r.order);
    if (o == nullptr) continue;
    ++n;
    if (Better(rule, o->value, r.value)) ++better;
  }
  if (n < rule.reduction_factor) return std::nullopt;
  const int keep = std::max(1, n / rule.reduction_factor);
  const int rank = better + 1;
  if (rank <= keep) return std::nullopt;
  return StopDecision{
      t.run, t.name, r.step, r.value,
      absl::StrFormat("asha rung %d: %s %.4f ranks %d of %d results seen there; only the top %d "
                      "continue (reduction_factor %d)",
                      r.step, rule.MetricName(), r.value, rank, n, keep, rule.reduction_factor)};
}

std::optional<StopDecision> MedianAt(const EarlyStopSpec& rule, std::span<const TrialResults> all,
                                     const TrialResults& t, const TrialResult& r) {
  std::vector<double> others;
  for (const TrialResults& other : all) {
    if (&other == &t || ResultAt(other, r.step, r.order) == nullptr) continue;
    others.push_back(BestUpTo(rule, other, r.step));
  }
  if (others.empty() || static_cast<int>(others.size()) < rule.min_trials) return std::nullopt;
  std::sort(others.begin(), others.end());
  const size_t m = others.size() / 2;
  const double median = others.size() % 2 == 1 ? others[m] : (others[m - 1] + others[m]) / 2;
  const double best = BestUpTo(rule, t, r.step);
  if (!Better(rule, median, best)) return std::nullopt;
  return StopDecision{
      t.run, t.name, r.step, best,
      absl::StrFormat("median at step %d: best %s so far %.4f is %s the median %.4f of %d other "
                      "trials there",
                      r.step, rule.MetricName(), best, rule.maximize ? "below" : "above", median,
                      static_cast<int>(others.size()))};
}

}  // namespace

bool IsAshaRung(const EarlyStopSpec& rule, int64_t step) {
  if (rule.grace_steps <= 0 || rule.reduction_factor < 2) return false;
  int64_t rung = rule.grace_steps;
  while (rung < step) {
    if (rung > std::numeric_limits<int64_t>::max() / rule.reduction_factor) return false;
    rung *= rule.reduction_factor;
  }
  return rung == step;
}

std::vector<StopDecision> DecideEarlyStops(const EarlyStopSpec& rule,
                                           std::span<const TrialResults> trials) {
  std::vector<StopDecision> stops;
  for (const TrialResults& t : trials) {
    if (!t.stoppable || t.budget_steps <= 0) continue;
    std::vector<TrialResult> in_order = t.results;
    std::sort(in_order.begin(), in_order.end(),
              [](const TrialResult& a, const TrialResult& b) { return a.order < b.order; });
    for (const TrialResult& r : in_order) {
      if (r.step < rule.grace_steps || r.step >= t.budget_steps) continue;
      std::optional<StopDecision> stop;
      if (rule.method == EarlyStopMethod::kAsha) {
        if (IsAshaRung(rule, r.step)) stop = AshaAt(rule, trials, t, r);
      } else {
        stop = MedianAt(rule, trials, t, r);
      }
      if (stop) {
        stops.push_back(std::move(*stop));
        break;
      }
    }
  }
  return stops;
}

}  // namespace ablate::server
