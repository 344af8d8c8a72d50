// Scripted segm.AP curves of an 8-trial sweep, shared by the early-stopping tests
// (early_stopping_test.cc calls the decision function, early_stop_service_test.cc plays a worker
// over gRPC). Evaluations every 100 steps, budget 900. The expected stops of each rule are
// worked out by hand in docs/sweeps.md "Early stopping" and in the tests.
#pragma once

#include <array>

namespace ablate::server::testing {

inline constexpr int kCurveTrials = 8;
inline constexpr int kCurveEvals = 9;  // steps 100, 200, ..., 900
inline constexpr int kCurveEverySteps = 100;
inline constexpr int kCurveBudgetSteps = 900;

// kCurves[trial][i]: segm.AP at step 100 * (i + 1).
inline constexpr std::array<std::array<double, kCurveEvals>, kCurveTrials> kCurves = {{
    {0.10, 0.16, 0.20, 0.23, 0.25, 0.26, 0.27, 0.28, 0.29},  // t00 good
    {0.05, 0.09, 0.12, 0.14, 0.15, 0.16, 0.17, 0.17, 0.18},  // t01 weak
    {0.14, 0.21, 0.26, 0.29, 0.31, 0.33, 0.34, 0.35, 0.36},  // t02 best
    {0.03, 0.05, 0.07, 0.08, 0.09, 0.10, 0.10, 0.11, 0.11},  // t03 bad
    {0.08, 0.16, 0.22, 0.27, 0.31, 0.33, 0.34, 0.35, 0.35},  // t04 late bloomer, second best
    {0.12, 0.17, 0.19, 0.20, 0.21, 0.21, 0.22, 0.22, 0.22},  // t05 fast start, plateau
    {0.02, 0.04, 0.05, 0.06, 0.06, 0.07, 0.07, 0.07, 0.08},  // t06 bad
    {0.09, 0.14, 0.18, 0.21, 0.23, 0.24, 0.25, 0.26, 0.26},  // t07 middling
}};

}  // namespace ablate::server::testing
