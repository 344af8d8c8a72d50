// Early stopping of sweep trials (docs/sweeps.md "Early stopping"): which trials of a sweep to
// stop, given every trial's evaluation results at its evaluated steps. A pure function of its
// inputs; JobScheduler::ApplyEarlyStopping gathers the inputs from the store when an evaluation
// of a trial is recorded and stops what this returns.
//
// The decisions replay the sweep's history in arrival order (`order`, the evaluation id), so the
// same stored results always give the same decisions, whenever they are recomputed:
//
// - ASHA (asynchronous successive halving): rungs are at grace_steps * reduction_factor^k.
//   When a trial's result at a rung arrives, it is ranked among the results at that rung seen so
//   far (order <= its own, itself included; n of them). With n < reduction_factor it continues;
//   otherwise it continues when its rank (1 + the number of results strictly better) is at most
//   max(1, floor(n / reduction_factor)); else it is stopped at that rung.
// - Median: at every evaluated step s >= grace_steps, the trial's best value up to s is compared
//   with the median of the other trials' best values up to s, over the other trials that have a
//   result at s seen so far (order <= its own); with fewer than min_trials of them it continues.
//   It is stopped when its best is strictly worse than that median.
//
// "Better" and "worse" are by more than 1e-9: closer values are ties (a median computed in
// binary must not beat an equal value by a rounding error).
//
// A trial is decided only at results before its last step (budget_steps): a result at the end
// of its budget stops nothing, but counts for the others. Only `stoppable` trials (unfinished)
// are returned; every trial's results count.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "server/run_store.h"
#include "sweepspec/early_stop_spec.h"

namespace ablate::server {

// One evaluation of a trial: the rule's metric at an evaluated step.
struct TrialResult {
  int64_t step = 0;
  double value = 0;
  int64_t order = 0;  // arrival order (the evaluation id): smaller was seen first
};

struct TrialResults {
  RunId run;
  std::string name;
  bool stoppable = false;            // unfinished (queued or running); others only count as results
  int64_t budget_steps = 0;          // the trial's last step; 0: unknown (never decided)
  std::vector<TrialResult> results;  // any order; at most one per step
};

struct StopDecision {
  RunId run;
  std::string name;
  int64_t step = 0;    // the rung (ASHA) or evaluated step (median) it stops at
  double value = 0;    // its metric there (median: its best up to there)
  std::string reason;  // e.g. "asha rung 300: segm.AP 0.1200 ranks 3 of 3 ..."
};

// The stoppable trials the rule stops, each at the first result that stops it, in the order of
// `trials`.
std::vector<StopDecision> DecideEarlyStops(const sweepspec::EarlyStopSpec& rule,
                                           std::span<const TrialResults> trials);

// True when `step` is an ASHA rung of `rule`: grace_steps * reduction_factor^k, k >= 0.
bool IsAshaRung(const sweepspec::EarlyStopSpec& rule, int64_t step);

}  // namespace ablate::server
