// Chaos: a 6-trial sweep on 3 workers while the test SIGKILLs workers 20 times and the
// coordinator 5 times, at random moments (seeded; the seed is printed and ABLATE_CHAOS_SEED
// replays it). Every killed worker is replaced by a new one; the coordinator restarts on the same
// SQLite file and port. Label `long` (a few minutes on 2 cores).
//
// Invariants checked on the database afterwards:
// - every trial succeeded; every train job succeeded;
// - no lease is left open; no job has more than one lease that ended `succeeded`
//   (no job ran twice to completion);
// - metric points: (run, key, step) is the primary key, so none is stored twice; every run has
//   its `loss` series at the same steps, up to the last one (no acknowledged point lost);
// - checkpoints: every run has the same checkpoint steps (10, 20, ... 60), each registered once,
//   and each file exists with the sha256 and size that were registered;
// - evaluations: exactly one bbox and one segm evaluation per evaluated checkpoint.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "tests/cluster_fixture.h"

namespace ablate::e2e {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr int kWorkers = 3;
constexpr int kWorkerKills = 20;
constexpr int kCoordinatorKills = 5;
constexpr int kSteps = 60;
constexpr int kCheckpointEvery = 10;
constexpr int kEvalEvery = 30;

class ChaosE2eTest : public ClusterTest {
 protected:
  // Every expired lease spends an attempt; 20 kills on 6 trials may hit one trial many times.
  void StartCoordinator() {
    ClusterTest::StartCoordinator({"--lease-ttl", "2", "--max-attempts", "100"});
  }

  // Each start in a slot is a new worker (w<slot>-<n>) with its own log.
  void StartWorker(int slot) {
    ClusterTest::StartWorker(absl::StrCat("w", slot),
                             absl::StrCat("w", slot, "-", ++worker_starts_));
  }

  // Null while the coordinator is down (the kills make that normal).
  json AblateJson(std::vector<std::string> args) {
    args.push_back("--json");
    CommandResult r = Ablate(args);
    if (r.exit_code != 0) return json();
    return json::parse(r.out, nullptr, false);
  }

  int worker_starts_ = 0;
};

TEST_F(ChaosE2eTest, SweepSurvivesRandomKillsOfWorkersAndCoordinator) {
  const char* seed_env = std::getenv("ABLATE_CHAOS_SEED");
  const uint32_t seed = seed_env ? static_cast<uint32_t>(std::strtoul(seed_env, nullptr, 10))
                                 : static_cast<uint32_t>(std::random_device{}());
  std::cout << "chaos seed " << seed << " (ABLATE_CHAOS_SEED=" << seed << " replays it)\n";
  std::mt19937 rng(seed);

  CommandResult shapes =
      RunCommand({AblateBinDir() + "/ablate-train", "shapes", "--out", (dir_ / "shapes").string(),
                  "--train", "24", "--val", "8", "--seed", "5"});
  ASSERT_EQ(shapes.exit_code, 0) << shapes.err;
  const std::filesystem::path spec = dir_ / "sweep.yaml";
  std::ofstream(spec) << "name: chaos\n"
                      << "base: {preset: tiny, set: {batch_size: 4, warmup_steps: 5, "
                         "num_workers: 1}}\n"
                      << "data: {train: " << (dir_ / "shapes/train.json").string()
                      << ", val: " << (dir_ / "shapes/val.json").string() << "}\n"
                      << "budget: {steps: " << kSteps << ", checkpoint_every: " << kCheckpointEvery
                      << ", eval_every: " << kEvalEvery << "}\n"
                      << "eval: {score_threshold: 0.05, top_k: 50, nms_iou: 0.5}\n"
                      << "max_parallel: 3\n"
                      << "parameters:\n"
                      << "  conf_loss: [ohem, focal, ce]\n"
                      << "  lr: [0.001, 0.0005]\n";

  StartCoordinator();
  ASSERT_FALSE(HasFatalFailure());
  for (int slot = 0; slot < kWorkers; ++slot) StartWorker(slot);
  json submitted = AblateJson({"submit", spec.string()});
  ASSERT_TRUE(submitted.is_object() && submitted.contains("sweep")) << submitted.dump();
  const std::string sweep = submitted["sweep"];
  ASSERT_EQ(submitted["trials"].size(), 6u);

  // 25 kills in a random order, 0.5-4 s apart.
  std::vector<bool> kill_coordinator(kWorkerKills + kCoordinatorKills, false);
  std::fill(kill_coordinator.begin(), kill_coordinator.begin() + kCoordinatorKills, true);
  std::shuffle(kill_coordinator.begin(), kill_coordinator.end(), rng);
  std::uniform_int_distribution<int> pause_ms(500, 4000);
  std::uniform_int_distribution<int> pick_worker(0, kWorkers - 1);
  int worker_kills = 0, coordinator_kills = 0;
  const auto chaos_start = std::chrono::steady_clock::now();
  for (bool coordinator : kill_coordinator) {
    std::this_thread::sleep_for(milliseconds(pause_ms(rng)));
    if (coordinator) {
      KillCoordinator();
      ++coordinator_kills;
      StartCoordinator();
      ASSERT_FALSE(HasFatalFailure());
    } else {
      const int slot = pick_worker(rng);
      KillWorker(absl::StrCat("w", slot));
      ++worker_kills;
      StartWorker(slot);
    }
  }
  const double chaos_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - chaos_start).count();

  CommandResult watch = RunAblate(address_, {"watch", sweep, "--until-done", "--timeout", "900"});
  ASSERT_EQ(watch.exit_code, 0) << watch.out << watch.err;
  json done = AblateJson({"watch", sweep});
  EXPECT_EQ(done["progress"]["succeeded"], 6) << done.dump(2);
  // Let the workers go idle before reading the file (no lease call in flight).
  workers_.clear();
  coordinator_->Signal(SIGTERM);
  coordinator_->Wait();

  const std::filesystem::path db = dir_ / "ablate.db";
  // Every trial succeeded, every train job succeeded.
  EXPECT_EQ(QueryRows(db, "SELECT COUNT(*) FROM runs WHERE status = 'succeeded'")[0][0], "6");
  EXPECT_EQ(
      QueryRows(db,
                "SELECT COUNT(*) FROM jobs WHERE kind = 'train' AND state != 'succeeded'")[0][0],
      "0");
  // No lease left open; no job completed twice.
  EXPECT_EQ(QueryRows(db, "SELECT COUNT(*) FROM leases WHERE released_unix_ms IS NULL")[0][0], "0");
  EXPECT_EQ(QueryRows(db,
                      "SELECT COUNT(*) FROM (SELECT job_id FROM leases WHERE outcome = 'succeeded' "
                      "GROUP BY job_id HAVING COUNT(*) > 1)")[0][0],
            "0");
  EXPECT_EQ(QueryRows(db,
                      "SELECT COUNT(*) FROM jobs j WHERE kind = 'train' AND (SELECT COUNT(*) FROM "
                      "leases l WHERE l.job_id = j.id AND l.outcome = 'succeeded') != 1")[0][0],
            "0");
  const auto leases = QueryRows(db, "SELECT COUNT(*), SUM(outcome = 'expired') FROM leases");

  // Metric series: the same loss steps in every run, ending at the last step.
  std::map<std::string, std::set<int>> loss_steps;
  for (const auto& row : QueryRows(db,
                                   "SELECT r.name, m.step FROM metric_points m JOIN runs r ON "
                                   "r.id = m.run_id WHERE m.key = 'loss'")) {
    loss_steps[row[0]].insert(std::stoi(row[1]));
  }
  ASSERT_EQ(loss_steps.size(), 6u);
  const std::set<int>& reference_steps = loss_steps.begin()->second;
  EXPECT_EQ(*reference_steps.rbegin(), kSteps);
  for (const auto& [run, steps] : loss_steps) {
    EXPECT_EQ(steps, reference_steps) << run << " has another set of loss steps";
  }

  // Checkpoints: steps 10..60 in every run, once each; files intact.
  std::map<std::string, std::set<int>> checkpoint_steps;
  for (const auto& row :
       QueryRows(db,
                 "SELECT r.name, c.step, c.uri, c.sha256, c.bytes FROM checkpoints "
                 "c JOIN runs r ON r.id = c.run_id")) {
    EXPECT_TRUE(checkpoint_steps[row[0]].insert(std::stoi(row[1])).second)
        << row[0] << " registered step " << row[1] << " twice";
    const std::string uri = row[2];
    ASSERT_EQ(uri.rfind("file://", 0), 0u) << uri;
    const std::filesystem::path file = uri.substr(7);
    ASSERT_TRUE(std::filesystem::exists(file)) << file;
    EXPECT_EQ(std::to_string(std::filesystem::file_size(file)), row[4]) << file;
    auto digest = Sha256HexOfFile(file);
    ASSERT_TRUE(digest.ok()) << digest.status();
    EXPECT_EQ(*digest, row[3]) << file;
  }
  std::set<int> expected_checkpoints;
  for (int s = kCheckpointEvery; s <= kSteps; s += kCheckpointEvery) expected_checkpoints.insert(s);
  ASSERT_EQ(checkpoint_steps.size(), 6u);
  for (const auto& [run, steps] : checkpoint_steps) EXPECT_EQ(steps, expected_checkpoints) << run;

  // Evaluations: one bbox and one segm per evaluated checkpoint (steps 30 and 60).
  for (const auto& row :
       QueryRows(db,
                 "SELECT r.name, c.step, e.iou_type, COUNT(*) FROM evaluations e JOIN runs r ON "
                 "r.id = e.run_id JOIN checkpoints c ON c.id = e.checkpoint_id GROUP BY r.name, "
                 "c.step, e.iou_type")) {
    EXPECT_EQ(row[3], "1") << row[0] << " step " << row[1] << " " << row[2];
  }
  EXPECT_EQ(QueryRows(db, "SELECT COUNT(*) FROM evaluations")[0][0],
            std::to_string(6 * 2 * (kSteps / kEvalEvery)));

  std::cout << "chaos: " << worker_kills << " worker and " << coordinator_kills
            << " coordinator SIGKILLs in " << chaos_s << " s; 6 trials succeeded; " << leases[0][0]
            << " leases (" << leases[0][1] << " expired); lost 0\n";
}

}  // namespace
}  // namespace ablate::e2e
