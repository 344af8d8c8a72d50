// DecideEarlyStops against hand-computed expectations (the arithmetic is in the comments).
#include "server/early_stopping.h"

#include <gtest/gtest.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "server/early_stop_test_curves.h"

namespace ablate::server {
namespace {

using sweepspec::EarlyStopMethod;
using sweepspec::EarlyStopSpec;

EarlyStopSpec Asha(int64_t grace, int rf, bool maximize = true) {
  EarlyStopSpec s;
  s.method = EarlyStopMethod::kAsha;
  s.iou_type = "segm";
  s.stat_index = 0;
  s.maximize = maximize;
  s.grace_steps = grace;
  s.reduction_factor = rf;
  return s;
}

EarlyStopSpec Median(int64_t grace, int min_trials) {
  EarlyStopSpec s;
  s.method = EarlyStopMethod::kMedian;
  s.iou_type = "segm";
  s.grace_steps = grace;
  s.min_trials = min_trials;
  return s;
}

TrialResults Trial(int64_t id, std::vector<TrialResult> results, int64_t budget = 900,
                   bool stoppable = true) {
  TrialResults t;
  t.run = RunId{id};
  t.name = absl::StrCat("t", id);
  t.stoppable = stoppable;
  t.budget_steps = budget;
  t.results = std::move(results);
  return t;
}

std::map<std::string, int64_t> StopSteps(const std::vector<StopDecision>& stops) {
  std::map<std::string, int64_t> out;
  for (const auto& s : stops) out[s.name] = s.step;
  return out;
}

TEST(EarlyStoppingTest, AshaRungs) {
  EarlyStopSpec rule = Asha(100, 3);
  EXPECT_TRUE(IsAshaRung(rule, 100));
  EXPECT_TRUE(IsAshaRung(rule, 300));
  EXPECT_TRUE(IsAshaRung(rule, 900));
  EXPECT_TRUE(IsAshaRung(rule, 2700));
  EXPECT_FALSE(IsAshaRung(rule, 0));
  EXPECT_FALSE(IsAshaRung(rule, 200));
  EXPECT_FALSE(IsAshaRung(rule, 600));
  EXPECT_FALSE(IsAshaRung(Asha(100, 2), 300));
  EXPECT_TRUE(IsAshaRung(Asha(100, 2), 400));
}

// Rung 100, results arriving A, B, C, D, E (order 1..5):
//   A 0.30: n=1 < 3, continues.   B 0.20: n=2 < 3, continues.
//   C 0.10: n=3, keep max(1, 3/3)=1, rank 3 (A, B better) > 1: stopped.
//   D 0.40: n=4, keep 1, rank 1: continues.
//   E 0.05: n=5, keep 1, rank 5: stopped.
TEST(EarlyStoppingTest, AshaStopsTrialsOutsideTheTopThirdSeenSoFar) {
  std::vector<TrialResults> trials = {Trial(1, {{100, 0.30, 1}}), Trial(2, {{100, 0.20, 2}}),
                                      Trial(3, {{100, 0.10, 3}}), Trial(4, {{100, 0.40, 4}}),
                                      Trial(5, {{100, 0.05, 5}})};
  auto stops = DecideEarlyStops(Asha(100, 3), trials);
  ASSERT_EQ(stops.size(), 2u);
  EXPECT_EQ(stops[0].name, "t3");
  EXPECT_EQ(stops[0].step, 100);
  EXPECT_DOUBLE_EQ(stops[0].value, 0.10);
  EXPECT_EQ(stops[0].reason,
            "asha rung 100: segm.AP 0.1000 ranks 3 of 3 results seen there; only the top 1 "
            "continue (reduction_factor 3)");
  EXPECT_EQ(stops[1].name, "t5");
  EXPECT_EQ(stops[1].reason,
            "asha rung 100: segm.AP 0.0500 ranks 5 of 5 results seen there; only the top 1 "
            "continue (reduction_factor 3)");
}

// The same results listed in another order of trials give the same decisions: only the
// arrival order (evaluation id) matters.
TEST(EarlyStoppingTest, DecisionsDependOnArrivalOrderNotListOrder) {
  std::vector<TrialResults> trials = {Trial(5, {{100, 0.05, 5}}), Trial(4, {{100, 0.40, 4}}),
                                      Trial(3, {{100, 0.10, 3}}), Trial(2, {{100, 0.20, 2}}),
                                      Trial(1, {{100, 0.30, 1}})};
  EXPECT_EQ(StopSteps(DecideEarlyStops(Asha(100, 3), trials)),
            (std::map<std::string, int64_t>{{"t3", 100}, {"t5", 100}}));
  // C arriving first instead (order 0): it continues (n=1); A continues (n=2); B 0.20 now has
  // n=3 (C, A, B), keep 1, rank 2 (A better): stopped; D rank 1 of 4; E rank 5 of 5: stopped.
  trials[2].results[0].order = 0;
  EXPECT_EQ(StopSteps(DecideEarlyStops(Asha(100, 3), trials)),
            (std::map<std::string, int64_t>{{"t2", 100}, {"t5", 100}}));
}

TEST(EarlyStoppingTest, AshaDecidesOnlyAtRungsBeforeTheBudgetEnds) {
  // Step 200 is no rung (100, 300, 900 are): nothing is decided there, however bad.
  std::vector<TrialResults> off_rung = {Trial(1, {{200, 0.9, 1}}), Trial(2, {{200, 0.8, 2}}),
                                        Trial(3, {{200, 0.1, 3}})};
  EXPECT_TRUE(DecideEarlyStops(Asha(100, 3), off_rung).empty());
  // Rung 300 is the budget's last step: the trial has finished, nothing to stop.
  std::vector<TrialResults> at_end = {Trial(1, {{300, 0.9, 1}}, 300),
                                      Trial(2, {{300, 0.8, 2}}, 300),
                                      Trial(3, {{300, 0.1, 3}}, 300)};
  EXPECT_TRUE(DecideEarlyStops(Asha(100, 3), at_end).empty());
  // Before grace_steps nothing is decided either (grace 300: step 100 is no rung).
  std::vector<TrialResults> early = {Trial(1, {{100, 0.9, 1}}), Trial(2, {{100, 0.8, 2}}),
                                     Trial(3, {{100, 0.1, 3}})};
  EXPECT_TRUE(DecideEarlyStops(Asha(300, 3), early).empty());
}

// Finished (not stoppable) trials count as results but are never returned.
TEST(EarlyStoppingTest, FinishedTrialsCountButAreNotStopped) {
  std::vector<TrialResults> trials = {
      Trial(1, {{100, 0.9, 1}}, 900, false), Trial(2, {{100, 0.8, 2}}, 900, false),
      Trial(3, {{100, 0.1, 3}}, 900, false), Trial(4, {{100, 0.2, 4}})};
  // t3 would be stopped (rank 3 of 3) but is finished; t4: n=4, keep 1, rank 3: stopped.
  EXPECT_EQ(StopSteps(DecideEarlyStops(Asha(100, 3), trials)),
            (std::map<std::string, int64_t>{{"t4", 100}}));
}

// mode: min (lower is better); ties share a rank.
TEST(EarlyStoppingTest, AshaModeMinAndTies) {
  std::vector<TrialResults> trials = {Trial(1, {{100, 0.5, 1}}), Trial(2, {{100, 0.2, 2}}),
                                      Trial(3, {{100, 0.2, 3}}), Trial(4, {{100, 0.3, 4}})};
  // min: t3 0.2 ties t2 for rank 1 of 3 (keep 1): continues. t4 0.3: n=4, keep 1, rank 3:
  // stopped. t1 0.5: n=1 at its arrival: continues.
  EXPECT_EQ(StopSteps(DecideEarlyStops(Asha(100, 3, /*maximize=*/false), trials)),
            (std::map<std::string, int64_t>{{"t4", 100}}));
  // max: t3 0.2 ranks 2 of 3 (t1 0.5 better; the tie is not better), keep 1: stopped; t4 0.3
  // ranks 2 of 4 (keep 1): stopped.
  EXPECT_EQ(StopSteps(DecideEarlyStops(Asha(100, 3), trials)),
            (std::map<std::string, int64_t>{{"t3", 100}, {"t4", 100}}));
}

// A trial stops at its first stopping result; a later rung does not move it.
TEST(EarlyStoppingTest, AshaStopsAtTheFirstFailingRung) {
  std::vector<TrialResults> trials = {Trial(1, {{100, 0.30, 1}, {300, 0.50, 4}}),
                                      Trial(2, {{100, 0.20, 2}, {300, 0.45, 5}}),
                                      Trial(3, {{100, 0.25, 3}, {300, 0.40, 6}})};
  // Rung 100: t3 0.25 ranks 2 of 3, keep 1: stopped at 100 (its 300 result never happened in a
  // real run; it is ignored for t3 but counted for nobody after it here). Rung 300: t1 n=1, t2
  // n=2: continue.
  auto stops = DecideEarlyStops(Asha(100, 3), trials);
  ASSERT_EQ(stops.size(), 1u);
  EXPECT_EQ(stops[0].name, "t3");
  EXPECT_EQ(stops[0].step, 100);
}

// Median (min_trials 2), step-100 results first (orders 1-4: A B C D), then step 200 (5-8):
//   A: 100 0.10, 200 0.30;  B: 0.20, 0.25;  C: 0.15, 0.12;  D: 0.05, (0.30)
// step 100: A no others; B 1 other < 2; C others A, B: median 0.15, C 0.15 not below: continues;
//           D others 0.10 0.15 0.20: median 0.15, D 0.05 below: stopped at 100.
// step 200: A (order 5) no others yet; B (6) 1 other; C (7) others A best 0.30, B best 0.25:
//           median 0.275; C's best so far max(0.15, 0.12) = 0.15 below: stopped at 200.
TEST(EarlyStoppingTest, MedianComparesBestSoFarWithOthersAtTheSameStep) {
  std::vector<TrialResults> trials = {
      Trial(1, {{100, 0.10, 1}, {200, 0.30, 5}}), Trial(2, {{100, 0.20, 2}, {200, 0.25, 6}}),
      Trial(3, {{100, 0.15, 3}, {200, 0.12, 7}}), Trial(4, {{100, 0.05, 4}, {200, 0.30, 8}})};
  auto stops = DecideEarlyStops(Median(100, 2), trials);
  ASSERT_EQ(stops.size(), 2u);
  EXPECT_EQ(stops[0].name, "t3");
  EXPECT_EQ(stops[0].step, 200);
  EXPECT_DOUBLE_EQ(stops[0].value, 0.15);
  EXPECT_EQ(stops[0].reason,
            "median at step 200: best segm.AP so far 0.1500 is below the median 0.2750 of 2 "
            "other trials there");
  EXPECT_EQ(stops[1].name, "t4");
  EXPECT_EQ(stops[1].step, 100);
  EXPECT_EQ(stops[1].reason,
            "median at step 100: best segm.AP so far 0.0500 is below the median 0.1500 of 3 "
            "other trials there");
  // min_trials 3: at step 100 D has 3 others (stopped as before); at step 200 C has only 2.
  EXPECT_EQ(StopSteps(DecideEarlyStops(Median(100, 3), trials)),
            (std::map<std::string, int64_t>{{"t4", 100}}));
}

// The scripted 8-trial sweep (early_stop_test_curves.h) run one trial at a time, as a worker
// with max_parallel 1 would: each trial's evaluations arrive step by step, and a stopped trial
// produces nothing after its stop. Returns trial -> the step it ended at (900: full budget).
std::map<std::string, int64_t> PlaySequentialSweep(const EarlyStopSpec& rule) {
  std::vector<TrialResults> trials;
  std::map<std::string, int64_t> ended;
  int64_t order = 0;
  for (int t = 0; t < testing::kCurveTrials; ++t) {
    trials.push_back(Trial(t, {}, testing::kCurveBudgetSteps));
    for (int i = 0; i < testing::kCurveEvals; ++i) {
      const int64_t step = testing::kCurveEverySteps * (i + 1);
      trials.back().results.push_back({step, testing::kCurves[t][i], ++order});
      ended[trials.back().name] = step;
      bool stopped = false;
      for (const auto& s : DecideEarlyStops(rule, trials)) stopped |= s.run.value == t;
      if (stopped) break;
    }
    trials.back().stoppable = false;  // ended either way
  }
  return ended;
}

// Hand-worked (docs/sweeps.md "Early stopping"): ASHA grace 100, reduction factor 3; rungs 100
// and 300 (900 is the last step). Rung 100 arrives t00..t07: 0.10 (n=1), 0.05 (n=2), 0.14 (n=3,
// rank 1), 0.03 (n=4, keep 1, rank 4: stop), 0.08 (n=5, keep 1, rank 3: stop), 0.12 (n=6, keep
// 2, rank 2), 0.02 (n=7, keep 2, rank 7: stop), 0.09 (n=8, keep 2, rank 4: stop). Rung 300:
// t00 0.20 (n=1), t01 0.12 (n=2), t02 0.26 (n=3, rank 1), t05 0.19 (n=4, keep 1, rank 3: stop).
TEST(EarlyStoppingTest, ScriptedSweepAsha) {
  EXPECT_EQ(PlaySequentialSweep(Asha(100, 3)), (std::map<std::string, int64_t>{{"t0", 900},
                                                                               {"t1", 900},
                                                                               {"t2", 900},
                                                                               {"t3", 100},
                                                                               {"t4", 100},
                                                                               {"t5", 300},
                                                                               {"t6", 100},
                                                                               {"t7", 100}}));
}

// Median, grace 100, min_trials 3: t00-t02 never have 3 others. t03 @100: median of 0.10 0.05
// 0.14 is 0.10 > 0.03: stop. t04 @100: median(0.03 0.05 0.10 0.14) = 0.075 <= 0.08; @200:
// median(0.16 0.09 0.21) = 0.16, not above 0.16; @300: median(0.20 0.12 0.26) = 0.20 <= 0.22;
// then above t00 to the end. t05 @100: median 0.08 <= 0.12; @200 median(0.16 0.09 0.21 0.16) =
// 0.16 <= 0.17; @300 median(0.20 0.12 0.26 0.22) = 0.21 > 0.19: stop. t06 @100: 0.09 > 0.02:
// stop. t07 @100: median of 7 = 0.08 <= 0.09; @200 median(0.16 0.09 0.21 0.16 0.17) = 0.16 >
// 0.14: stop.
TEST(EarlyStoppingTest, ScriptedSweepMedian) {
  EXPECT_EQ(PlaySequentialSweep(Median(100, 3)), (std::map<std::string, int64_t>{{"t0", 900},
                                                                                 {"t1", 900},
                                                                                 {"t2", 900},
                                                                                 {"t3", 100},
                                                                                 {"t4", 900},
                                                                                 {"t5", 300},
                                                                                 {"t6", 100},
                                                                                 {"t7", 200}}));
}

}  // namespace
}  // namespace ablate::server
