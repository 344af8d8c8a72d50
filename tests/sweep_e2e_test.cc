// The whole loop, for real: a coordinator process, worker daemons, ablate-train children, a
// 4-trial sweep on the generated shapes set, its images split into train2017/ and val2017/
// folders as COCO ships them. In the middle a worker is SIGKILLed while it trains
// and the coordinator is SIGKILLed and restarted on the same file and port. Every trial must
// still finish, the resumed one from its checkpoint, with no metric point stored twice, and the
// leaderboard must rank all four with 12 stats per iou type. Then a fork and an eval-only job.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/cluster_fixture.h"

namespace ablate::e2e {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

class SweepE2eTest : public ClusterTest {
 protected:
  json AblateJson(std::vector<std::string> args) {
    args.push_back("--json");
    CommandResult r = Ablate(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }
};

TEST_F(SweepE2eTest, SurvivesWorkerAndCoordinatorKills) {
  CommandResult shapes =
      RunCommand({AblateBinDir() + "/ablate-train", "shapes", "--out", (dir_ / "shapes").string(),
                  "--train", "24", "--val", "8", "--seed", "3"});
  ASSERT_EQ(shapes.exit_code, 0) << shapes.err;
  // A COCO-style tree: the images of each split in their own folder, none next to the JSONs, so
  // every train and eval job must be handed data.train_images / data.val_images.
  for (const char* split : {"train", "val"}) {
    std::filesystem::create_directories(dir_ / "shapes" / (std::string(split) + "2017"));
  }
  for (const auto& e : std::filesystem::directory_iterator(dir_ / "shapes" / "images")) {
    const std::string name = e.path().filename().string();
    const std::string split = name.rfind("train_", 0) == 0 ? "train2017" : "val2017";
    std::filesystem::rename(e.path(), dir_ / "shapes" / split / name);
  }
  std::filesystem::remove(dir_ / "shapes" / "images");
  const std::string spec = dir_ / "sweep.yaml";
  std::ofstream(spec) << R"(name: e2e
base: {preset: tiny, set: {conf_loss: ohem, batch_size: 4, warmup_steps: 5, num_workers: 1}}
data: {train: shapes/train.json, train_images: shapes/train2017, val: shapes/val.json,
       val_images: shapes/val2017}
budget: {steps: 60, checkpoint_every: 10, eval_every: 0}
eval: {score_threshold: 0.05, top_k: 100, nms_iou: 0.5}
max_parallel: 2
parameters:
  box_loss: [smooth_l1, ciou]
  lr: [0.001, 0.0005]
)";
  StartCoordinator({"--lease-ttl", "3"});
  ASSERT_FALSE(HasFatalFailure());
  StartWorker("w1");
  StartWorker("w2");

  // Relative data paths (JSONs and image folders) resolve against the submitting directory.
  CommandResult submit = RunCommand({"/bin/sh", "-c",
                                     "cd " + dir_.string() + " && " + AblateBinDir() +
                                         "/ablate submit sweep.yaml --json --server " + address_});
  ASSERT_EQ(submit.exit_code, 0) << submit.err;
  json submitted = json::parse(submit.out);
  const std::string sweep = submitted["sweep"];
  ASSERT_EQ(submitted["trials"].size(), 4u);

  // Wait until w1's trial has passed its first checkpoint, then kill w1 mid-trial.
  std::string victim_run;
  for (int i = 0; i < 600 && victim_run.empty(); ++i) {
    json s = AblateJson({"watch", sweep});
    for (const auto& t : s["trials"]) {
      if (t["worker"] == "w1" && t["step"].get<int>() >= 15) victim_run = t["run"];
    }
    if (victim_run.empty()) std::this_thread::sleep_for(milliseconds(200));
  }
  ASSERT_FALSE(victim_run.empty()) << "w1 never got past step 15";
  KillWorker("w1");

  // Kill the coordinator too, and restart it on the same file and port.
  KillCoordinator();
  StartCoordinator({"--lease-ttl", "3"});
  ASSERT_FALSE(HasFatalFailure());
  StartWorker("w3");  // takes over once w1's lease expires

  CommandResult watch = Ablate({"watch", sweep, "--until-done", "--timeout", "400"});
  ASSERT_EQ(watch.exit_code, 0) << watch.out << watch.err;
  json done = AblateJson({"watch", sweep});
  EXPECT_EQ(done["progress"]["succeeded"], 4) << done.dump(2);

  // The killed trial was resumed from a checkpoint (its last start was at a checkpoint step).
  json show = AblateJson({"show", victim_run});
  double start_step = -1;
  if (show["latest_metrics"].contains("trial/start_step")) {
    start_step = show["latest_metrics"]["trial/start_step"]["value"];
  }
  EXPECT_GT(start_step, 0) << show.dump(2);
  EXPECT_EQ(static_cast<int>(start_step) % 10, 0);

  // No metric point stored twice; every run logged loss up to its last step.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2((dir_ / "ablate.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
            SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT COUNT(*) FROM (SELECT run_id, step, key, COUNT(*) c FROM "
                     "metric_points GROUP BY run_id, step, key HAVING c > 1)",
                     -1, &q, nullptr);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(q, 0), 0);
  sqlite3_finalize(q);
  sqlite3_prepare_v2(db,
                     "SELECT COUNT(*) FROM runs r WHERE (SELECT MAX(step) FROM metric_points m "
                     "WHERE m.run_id = r.id AND m.key = 'loss') = 60",
                     -1, &q, nullptr);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(q, 0), 4);
  sqlite3_finalize(q);
  sqlite3_close(db);

  // Leaderboard: all four trials, 12 stats per iou type.
  for (const char* iou : {"bbox", "segm"}) {
    json board = AblateJson({"leaderboard", "--sweep", sweep, "--iou", iou});
    ASSERT_EQ(board["rows"].size(), 4u) << board.dump(2);
    for (const auto& row : board["rows"]) EXPECT_EQ(row["evaluation"]["stats"].size(), 12u);
  }

  // A fork from a named checkpoint, and an eval-only job at another score threshold.
  json fork = AblateJson(
      {"fork", victim_run + "/step0000060", "--set", "conf_loss=focal", "--steps", "10"});
  ASSERT_TRUE(fork.contains("run")) << fork.dump();
  // A barely trained model fills top_k at any moderate threshold, so "high" is 0.9.
  json eval = AblateJson({"eval", victim_run + "/step0000060", "--score-threshold", "0.9"});
  ASSERT_TRUE(eval.contains("job")) << eval.dump();
  // Issue 7: the same checkpoint re-scored at a low threshold keeps visibly more detections.
  json eval_low = AblateJson({"eval", victim_run + "/step0000060", "--score-threshold", "0.005"});
  ASSERT_TRUE(eval_low.contains("job")) << eval_low.dump();

  // Issue 12: the same weights as a plain file elsewhere (one of ours copied in, as a user brings
  // one): `fork file:PATH --config-from RUN` trains from it on that run's data, continuing at the
  // step in its name, and the new run is a root of the lineage.
  std::string ck_path;
  const json victim = AblateJson({"show", victim_run});
  for (const auto& c : victim["checkpoints"]) {
    if (c["step"] == 60)
      ck_path = c["uri"].get<std::string>().substr(std::string("file://").size());
  }
  ASSERT_FALSE(ck_path.empty());
  std::filesystem::create_directories(dir_ / "elsewhere");
  const std::filesystem::path copied =
      dir_ / "elsewhere" / std::filesystem::path(ck_path).filename();
  std::filesystem::copy_file(ck_path, copied);
  CommandResult no_config = Ablate({"fork", "file:" + copied.string(), "--steps", "10"});
  EXPECT_NE(no_config.exit_code, 0);
  EXPECT_NE(no_config.err.find("--config-from RUN"), std::string::npos) << no_config.err;
  CommandResult missing = Ablate({"fork", "file:" + (dir_ / "elsewhere" / "nope.pt").string(),
                                  "--config-from", victim_run, "--steps", "10"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("no such weights file"), std::string::npos) << missing.err;
  json file_fork = AblateJson({"fork", "file:" + copied.string(), "--config-from", victim_run,
                               "--steps", "10", "--name", "from-file"});
  ASSERT_EQ(file_fork["run"], "from-file") << file_fork.dump();

  bool fork_done = false, eval_done = false;
  json high, low;  // the bbox evaluations at 0.9 and 0.005
  for (int i = 0; i < 900 && !(fork_done && eval_done); ++i) {
    json f = AblateJson({"show", fork["run"].get<std::string>()});
    fork_done = f["run"]["status"] == "succeeded" &&
                AblateJson({"show", "from-file"})["run"]["status"] == "succeeded";
    json v = AblateJson({"show", victim_run});
    for (const auto& e : v["evaluations"]) {
      if (e["iou_type"] != "bbox") continue;
      if (e["settings"]["score_threshold"] == 0.9) high = e;
      if (e["settings"]["score_threshold"] == 0.005) low = e;
    }
    eval_done = !high.is_null() && !low.is_null();
    if (!(fork_done && eval_done)) std::this_thread::sleep_for(milliseconds(200));
  }
  EXPECT_TRUE(fork_done);
  ASSERT_TRUE(eval_done);
  ASSERT_TRUE(high["outputs"].is_object()) << high.dump(2);
  ASSERT_TRUE(low["outputs"].is_object()) << low.dump(2);
  EXPECT_GT(low["outputs"]["detections"].get<int64_t>(),
            high["outputs"]["detections"].get<int64_t>());
  EXPECT_EQ(low["outputs"]["images"], high["outputs"]["images"]);
  ASSERT_TRUE(low["outputs"]["results_bytes"].is_number()) << low.dump(2);
  EXPECT_GT(low["outputs"]["results_bytes"].get<int64_t>(), 0);
  // Both carry a gallery of the same validation images, written by the worker's child.
  ASSERT_TRUE(low["gallery"].is_object()) << low.dump(2);
  ASSERT_TRUE(high["gallery"].is_object()) << high.dump(2);
  ASSERT_EQ(low["gallery"]["images"].size(), high["gallery"]["images"].size());
  for (size_t k = 0; k < low["gallery"]["images"].size(); ++k) {
    EXPECT_EQ(low["gallery"]["images"][k]["image_id"], high["gallery"]["images"][k]["image_id"]);
  }
  json lineage = AblateJson({"lineage", fork["run"].get<std::string>()});
  ASSERT_EQ(lineage["nodes"].size(), 2u) << lineage.dump(2);
  EXPECT_EQ(lineage["nodes"][1]["parent_run"], victim_run);
  json from_file = AblateJson({"show", "from-file"});
  std::vector<int64_t> steps;
  for (const auto& c : from_file["checkpoints"]) steps.push_back(c["step"].get<int64_t>());
  EXPECT_EQ(steps, std::vector<int64_t>({70})) << from_file.dump(2);
  json file_lineage = AblateJson({"lineage", "from-file"});
  ASSERT_EQ(file_lineage["nodes"].size(), 1u) << file_lineage.dump(2);
  EXPECT_TRUE(file_lineage["nodes"][0]["parent_run"].is_null());
}

}  // namespace
}  // namespace ablate::e2e
