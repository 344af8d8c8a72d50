// Early stopping (issue 14) with real processes: an `ablate server` on an SQLite file, an
// `ablate worker`, and sweeps/curves-asha.yaml — 8 trials of tests/data/curve_trainer.py, a
// python3 script whose segm AP curve is a known function of its config, printed as pycocotools
// summarize() tables (trainer.output: summaries). One trial runs at a time (max_parallel 1, one
// worker slot), so the results reach the coordinator in trial order and the ASHA rule of
// docs/sweeps.md decides in advance which trials stop where:
//
//   segm AP at step s = peak * s / (s + half), peak = 0.40 - 0.06 |log2(lr / 0.001)|,
//   half = 0.003 / lr + warmup; printed with 3 decimals. Rungs 3 and 9 (grace 3, factor 3), 27
//   is the budget. At a rung, the n-th result (n >= 3) continues when its rank (1 + the results
//   seen there that are better) is at most max(1, floor(n / 3)).
//
//   trial  lr      warmup  AP@3   AP@9   AP@27   rung 3                 rung 9
//   t00    0.0005  6       0.068  0.146  0.235   n=1: continues         n=1: continues
//   t01    0.0005  0       0.113  0.204  0.278   n=2: continues         n=2: continues
//   t02    0.001   6       0.100  0.200  0.300   rank 2 of 3 > 1: STOP
//   t03    0.001   0       0.200  0.300  0.360   rank 1 of 4: continues rank 1 of 3: continues
//   t04    0.002   6       0.097  0.185  0.266   rank 4 of 5 > 1: STOP
//   t05    0.002   0       0.227  0.291  0.322   rank 1 of 6: continues rank 2 of 4 > 1: STOP
//   t06    0.004   6       0.086  0.160  0.224   rank 6 of 7 > 2: STOP
//   t07    0.004   0       0.224  0.258  0.272   rank 2 of 8 <= 2       rank 3 of 5 > 1: STOP
//
// The full grid's best is t03 (0.360); ASHA keeps it (and stops the second and third best, t05
// and t02). A step takes 0.2 s; the worker learns of a stop at its next heartbeat (every 0.4 s
// with a 2 s lease TTL) and SIGTERMs the script, which notes it in stopped.txt. A trial stopped
// at rung 3 must end before step 9 (6 steps, 1.2 s later): had it reported there, its late
// result would change the later trials' rung-9 decisions. Steps trained are counted from the
// scripts' steps.txt files. About 30 s on 2 cores (45 s with the machine busy).
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/cluster_fixture.h"

namespace ablate::e2e {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Rows = std::vector<std::vector<std::string>>;

constexpr int kTrials = 8;
constexpr int kBudgetSteps = 27;

fs::path SourceDir() {
  const char* dir = std::getenv("ABLATE_SOURCE_DIR");
  return fs::absolute(dir ? dir : ".");
}

// Lines in a file (0 when it does not exist).
int CountLines(const fs::path& file) {
  std::ifstream in(file);
  int n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

class EarlyStopE2eTest : public ClusterTest {
 protected:
  Rows Query(const std::string& sql) { return QueryRows(dir_ / "ablate.db", sql); }

  // Waits until every trial of the sweep has ended (`ablate watch --until-done`) and the worker
  // has completed every job it leased (no lease left open: a stopped trial's script has been
  // killed).
  void AwaitSweepEnded(const std::string& sweep) {
    CommandResult watch = Ablate({"watch", sweep, "--until-done", "--timeout", "150"});
    ASSERT_EQ(watch.exit_code, 0) << watch.out << watch.err << "worker log:\n"
                                  << RunCommand({"/bin/cat", (dir_ / "w1.log").string()}).out;
    for (int i = 0; i < 100; ++i) {
      if (Query("SELECT COUNT(*) FROM leases WHERE released_unix_ms IS NULL") == Rows{{"0"}}) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "a lease is still open 10 s after the sweep ended; worker log:\n"
                  << RunCommand({"/bin/cat", (dir_ / "w1.log").string()}).out;
  }

  fs::path TrialDir(const std::string& run) { return dir_ / "work" / "runs" / run; }
};

TEST_F(EarlyStopE2eTest, AshaStopsTheTrialsItsRuleSelectsAndKeepsTheGridsBest) {
  StartCoordinator({"--lease-ttl", "2"});
  ASSERT_FALSE(HasFatalFailure());
  // The trials run tests/data/curve_trainer.py; any executable satisfies the worker's check.
  // `python3` in the worker's PATH is the interpreter itself, not a version manager's shim (a
  // pyenv shim costs 1-2 s a start on a busy 2-core machine; `pyenv exec` does the same).
  CommandResult python =
      RunCommand({"/usr/bin/env", "python3", "-c", "import sys; print(sys.executable)"});
  ASSERT_EQ(python.exit_code, 0) << python.err;
  const std::string python_dir =
      fs::path(python.out.substr(0, python.out.find('\n'))).parent_path();
  const char* path = std::getenv("PATH");
  StartWorker("w1", "w1", "/bin/true", {{"PATH", python_dir + ":" + (path ? path : "")}});
  CommandResult submit =
      Ablate({"submit", (SourceDir() / "sweeps" / "curves-asha.yaml").string(), "--set",
              "base.set.script=" + (SourceDir() / "tests" / "data" / "curve_trainer.py").string(),
              "--set", "base.set.step_seconds=0.2", "--json"});
  ASSERT_EQ(submit.exit_code, 0) << submit.err;
  ASSERT_EQ(json::parse(submit.out)["trials"].size(), static_cast<size_t>(kTrials)) << submit.out;
  AwaitSweepEnded("curves-asha");
  ASSERT_FALSE(HasFailure());

  // Which trials stopped, where and why (the reasons in docs/sweeps.md's words).
  EXPECT_EQ(Query("SELECT name, status, stopped_at_step, stop_reason FROM runs ORDER BY name"),
            (Rows{{"curves-asha-t00", "succeeded", "NULL", ""},
                  {"curves-asha-t01", "succeeded", "NULL", ""},
                  {"curves-asha-t02", "stopped", "3",
                   "asha rung 3: segm.AP 0.1000 ranks 2 of 3 results seen there; only the top 1 "
                   "continue (reduction_factor 3)"},
                  {"curves-asha-t03", "succeeded", "NULL", ""},
                  {"curves-asha-t04", "stopped", "3",
                   "asha rung 3: segm.AP 0.0970 ranks 4 of 5 results seen there; only the top 1 "
                   "continue (reduction_factor 3)"},
                  {"curves-asha-t05", "stopped", "9",
                   "asha rung 9: segm.AP 0.2910 ranks 2 of 4 results seen there; only the top 1 "
                   "continue (reduction_factor 3)"},
                  {"curves-asha-t06", "stopped", "3",
                   "asha rung 3: segm.AP 0.0860 ranks 6 of 7 results seen there; only the top 2 "
                   "continue (reduction_factor 3)"},
                  {"curves-asha-t07", "stopped", "9",
                   "asha rung 9: segm.AP 0.2580 ranks 3 of 5 results seen there; only the top 1 "
                   "continue (reduction_factor 3)"}}));
  // A stopped trial's job ended cancelled on its first and only lease, never retried.
  EXPECT_EQ(Query("SELECT r.name, j.state, j.attempts, (SELECT COUNT(*) FROM leases l WHERE "
                  "l.job_id = j.id), (SELECT group_concat(l.outcome) FROM leases l WHERE l.job_id "
                  "= j.id) FROM jobs j JOIN runs r ON r.id = j.run_id WHERE r.status = 'stopped' "
                  "ORDER BY r.name"),
            (Rows{{"curves-asha-t02", "cancelled", "1", "1", "cancelled"},
                  {"curves-asha-t04", "cancelled", "1", "1", "cancelled"},
                  {"curves-asha-t05", "cancelled", "1", "1", "cancelled"},
                  {"curves-asha-t06", "cancelled", "1", "1", "cancelled"},
                  {"curves-asha-t07", "cancelled", "1", "1", "cancelled"}}));

  // Compute: the finished trials trained their whole budget; a stopped one was told (SIGTERM:
  // stopped.txt) after its rung and before its next rung.
  const std::map<std::string, int> stopped_at = {
      {"t02", 3}, {"t04", 3}, {"t05", 9}, {"t06", 3}, {"t07", 9}};
  int total_steps = 0;
  for (int t = 0; t < kTrials; ++t) {
    const std::string suffix = (t < 10 ? "t0" : "t") + std::to_string(t);
    const fs::path trial = TrialDir("curves-asha-" + suffix);
    const int steps = CountLines(trial / "steps.txt");
    total_steps += steps;
    auto it = stopped_at.find(suffix);
    if (it == stopped_at.end()) {
      EXPECT_EQ(steps, kBudgetSteps) << suffix;
      EXPECT_FALSE(fs::exists(trial / "stopped.txt")) << suffix;
    } else {
      EXPECT_GE(steps, it->second) << suffix;
      EXPECT_LT(steps, 3 * it->second) << suffix << " trained past its next rung";
      EXPECT_EQ(CountLines(trial / "stopped.txt"), 1) << suffix << " was not sent SIGTERM";
    }
  }
  EXPECT_LT(total_steps, kTrials * kBudgetSteps);
  // 3 x 27 + 3 x 3 + 2 x 9 = 108 at the rungs; each stopped trial runs on for < 2 rungs' gap.
  EXPECT_GE(total_steps, 108);
  std::cout << "asha trained " << total_steps << " of the full grid's " << kTrials * kBudgetSteps
            << " steps\n";

  // The best segm AP found is the full grid's best (t03, 0.360); stopped trials are ranked by
  // what they reached, with their status.
  CommandResult board =
      Ablate({"leaderboard", "--sweep", "curves-asha", "--iou", "segm", "--json"});
  ASSERT_EQ(board.exit_code, 0) << board.err;
  const json rows = json::parse(board.out)["rows"];
  ASSERT_EQ(rows.size(), static_cast<size_t>(kTrials)) << board.out;
  // Rows are {rank, run, evaluation, value} (docs/dashboard.md "JSON vocabulary").
  EXPECT_EQ(rows[0]["run"]["name"], "curves-asha-t03");
  EXPECT_DOUBLE_EQ(rows[0]["evaluation"]["stats"]["AP"].get<double>(), 0.36);
  EXPECT_DOUBLE_EQ(rows[0]["value"].get<double>(), 0.36);
  EXPECT_EQ(rows[0]["run"]["status"], "succeeded");
  EXPECT_EQ(rows[1]["run"]["name"], "curves-asha-t05");  // 0.291 at rung 9 (or a step past it)
  EXPECT_EQ(rows[1]["run"]["status"], "stopped");
  EXPECT_EQ(rows[1]["run"]["stopped_at_step"], 9);

  // `ablate watch` counts them.
  CommandResult watch = Ablate({"watch", "curves-asha", "--json"});
  ASSERT_EQ(watch.exit_code, 0) << watch.err;
  const json progress = json::parse(watch.out)["progress"];
  EXPECT_EQ(progress["succeeded"], 3) << watch.out;
  EXPECT_EQ(progress["stopped"], 5) << watch.out;
}

}  // namespace
}  // namespace ablate::e2e
