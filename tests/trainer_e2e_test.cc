// Issue 14 end to end: a sweep whose trainer is a user's Python script, not ablate-train. A real
// `ablate server`, a real `ablate worker` and real python3 children (tests/data/*.py): the worker
// reads the script's summarize() tables, checkpoint names and log lines (output: summaries) or
// the events clients/python/ablate_events.py writes (output: events); what the coordinator stored
// is read back from its SQLite file. A script that prints no table fails its job with that
// reason; one that crashes is retried and handed ABLATE_RESUME_FROM. No LibTorch anywhere.
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

namespace fs = std::filesystem;
using nlohmann::json;

fs::path SourceDir() {
  const char* dir = std::getenv("ABLATE_SOURCE_DIR");
  return fs::absolute(dir ? dir : ".");
}

class TrainerE2eTest : public ClusterTest {
 protected:
  void SetUp() override {
    ClusterTest::SetUp();
    // A short lease TTL: a failed job is held back from the worker it failed on for 2 x TTL
    // (docs/workers.md), and this test retries on one worker.
    StartCoordinator({"--lease-ttl", "2"});
    if (HasFatalFailure()) return;
    // These jobs never run ablate-train; any executable satisfies the worker's check.
    StartWorker("w1", "w1", "/bin/true");
  }

  // Submits `yaml` (written to the test folder); returns the sweep name.
  std::string Submit(const std::string& file, const std::string& yaml) {
    std::ofstream(dir_ / file) << yaml;
    CommandResult r = Ablate({"submit", (dir_ / file).string(), "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false).value("sweep", "");
  }

  // Rows of `sql` (every column as text; NULL as "NULL").
  std::vector<std::vector<std::string>> Query(const std::string& sql) {
    sqlite3* db = nullptr;
    std::vector<std::vector<std::string>> rows;
    if (sqlite3_open_v2((dir_ / "ablate.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) !=
        SQLITE_OK) {
      ADD_FAILURE() << "cannot open the database";
      return rows;
    }
    sqlite3_busy_timeout(db, 2000);
    sqlite3_stmt* q = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &q, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sqlite3_errmsg(db) << ": " << sql;
    } else {
      while (sqlite3_step(q) == SQLITE_ROW) {
        std::vector<std::string> row;
        for (int i = 0; i < sqlite3_column_count(q); ++i) {
          const unsigned char* t = sqlite3_column_text(q, i);
          row.push_back(t ? reinterpret_cast<const char*>(t) : "NULL");
        }
        rows.push_back(std::move(row));
      }
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    return rows;
  }

  // Waits until every job of `sweep` is succeeded or failed (60 s at most).
  void AwaitSweep(const std::string& sweep) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      auto open =
          Query("SELECT COUNT(*) FROM jobs j JOIN sweeps s ON s.id = j.sweep_id WHERE s.name = '" +
                sweep + "' AND j.state NOT IN ('succeeded', 'failed')");
      if (!open.empty() && open[0][0] == "0") return;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    ADD_FAILURE() << "sweep " << sweep << " did not finish; worker log:\n"
                  << RunCommand({"/bin/cat", (dir_ / "w1.log").string()}).out;
  }

  std::vector<json> Attempts(const std::string& run) {
    std::vector<json> out;
    std::ifstream in(dir_ / "work" / "runs" / run / "attempts.jsonl");
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
    return out;
  }

  std::string Script(const std::string& name) {
    return (SourceDir() / "tests" / "data" / name).string();
  }
};

TEST_F(TrainerE2eTest, SummariesOfAUsersScriptBecomeEvaluationsCheckpointsAndMetrics) {
  const std::string sweep = Submit("sweep.yaml", R"(name: paddle
base: {set: {mode: ok, lr: 0.001}}
trainer:
  command: [python3, )" + Script("summaries_trainer.py") +
                                                     R"(, "--pos={pos_threshold}", --epochs, "2"]
  output: summaries
  iou: segm
budget: {steps: 200}
parameters:
  pos_threshold: {values: [0.5, 0.6]}
)");
  ASSERT_EQ(sweep, "paddle");
  AwaitSweep(sweep);
  EXPECT_EQ(Query("SELECT name, status FROM runs ORDER BY name"),
            (std::vector<std::vector<std::string>>{{"paddle-t00", "succeeded"},
                                                   {"paddle-t01", "succeeded"}}));

  // The program got its config, its folder, the substituted command and no resume point.
  const auto attempts = Attempts("paddle-t01");
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0]["argv"], json({"--pos=0.6", "--epochs", "2"}));
  EXPECT_EQ(attempts[0]["config"], json({{"mode", "ok"}, {"lr", 0.001}, {"pos_threshold", 0.6}}));
  EXPECT_EQ(fs::canonical(attempts[0]["cwd"].get<std::string>()),
            fs::canonical(dir_ / "work" / "runs" / "paddle-t01"));
  EXPECT_EQ(attempts[0]["trial_dir"], attempts[0]["cwd"]);
  EXPECT_EQ(attempts[0]["run"], "paddle-t01");
  EXPECT_EQ(attempts[0]["device"], "cpu");
  EXPECT_TRUE(attempts[0]["resume_from"].is_null());

  // Both checkpoints, with their files (the script saved them under weights/).
  const fs::path weights = fs::canonical(dir_ / "work" / "runs" / "paddle-t01" / "weights");
  EXPECT_EQ(Query("SELECT c.name, c.step, c.epoch, c.loss, c.uri, c.bytes FROM checkpoints c "
                  "JOIN runs r ON r.id = c.run_id WHERE r.name = 'paddle-t01' ORDER BY c.step"),
            (std::vector<std::vector<std::string>>{
                {"step0000100-ep001-loss5.000", "100", "1", "5.0",
                 "file://" + (weights / "step0000100-ep001-loss5.000.pdparams").string(), "26"},
                {"step0000200-ep002-loss4.000", "200", "2", "4.0",
                 "file://" + (weights / "step0000200-ep002-loss4.000.pdparams").string(), "26"}}));
  // Two tables of the last checkpoint: bbox (AP = 0.6 / 2), segm (0.6 / 3), AR@1 = AP + 0.06.
  const auto evals = Query(
      "SELECT e.iou_type, c.name, printf('%.3f', e.AP), printf('%.3f', e.AR1), e.max_dets, "
      "e.score_threshold FROM evaluations e JOIN runs r ON r.id = e.run_id JOIN checkpoints c ON "
      "c.id = e.checkpoint_id WHERE r.name = 'paddle-t01' ORDER BY e.iou_type");
  EXPECT_EQ(evals, (std::vector<std::vector<std::string>>{
                       {"bbox", "step0000200-ep002-loss4.000", "0.300", "0.360", "100", "0.05"},
                       {"segm", "step0000200-ep002-loss4.000", "0.200", "0.260", "100", "0.05"}}));
  // Log lines: loss and lr at iter 100 and 200.
  EXPECT_EQ(Query("SELECT m.step, m.key, m.value FROM metric_points m JOIN runs r ON r.id = "
                  "m.run_id WHERE r.name = 'paddle-t00' AND m.key IN ('loss', 'lr') ORDER BY "
                  "m.step, m.key"),
            (std::vector<std::vector<std::string>>{{"100", "loss", "5.0"},
                                                   {"100", "lr", "0.001"},
                                                   {"200", "loss", "4.0"},
                                                   {"200", "lr", "0.001"}}));

  // The leaderboard ranks them like any other runs.
  CommandResult board = Ablate({"leaderboard", "--sweep", sweep, "--iou", "segm", "--json"});
  ASSERT_EQ(board.exit_code, 0) << board.err;
  const json rows = json::parse(board.out)["rows"];
  ASSERT_EQ(rows.size(), 2u) << board.out;

  // A {key} the trials do not have is refused at submit time; nothing is stored.
  std::ofstream(dir_ / "bad.yaml") << "name: bad\nbase: {set: {}}\ntrainer: {command: [python3, "
                                      "x.py, \"{pos}\"]}\nbudget: {steps: 1}\n";
  CommandResult bad = Ablate({"submit", (dir_ / "bad.yaml").string()});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("trainer.command[2] '{pos}': '{pos}' is not a key of the trial's config"),
            std::string::npos)
      << bad.err;
  EXPECT_EQ(Query("SELECT COUNT(*) FROM sweeps WHERE name = 'bad'")[0][0], "0");
}

TEST_F(TrainerE2eTest, EventsFromThePythonClientAreStored) {
  const std::string sweep = Submit("events.yaml", R"(name: client
base: {set: {pos_threshold: 0.8}}
trainer: {command: [python3, )" + Script("events_trainer.py") +
                                                      R"(], output: events}
budget: {steps: 200}
)");
  AwaitSweep(sweep);
  EXPECT_EQ(Query("SELECT status FROM runs WHERE name = 'client-t00'")[0][0], "succeeded");
  const fs::path run_dir = fs::canonical(dir_ / "work" / "runs" / "client-t00");
  EXPECT_EQ(
      Query("SELECT c.name, c.uri, c.bytes, length(c.sha256) FROM checkpoints c ORDER BY "
            "c.step"),
      (std::vector<std::vector<std::string>>{
          {"step0000100-ep001-loss5.000",
           "file://" + (run_dir / "step0000100-ep001-loss5.000.pdparams").string(), "11", "64"},
          {"step0000200-ep002-loss4.000",
           "file://" + (run_dir / "step0000200-ep002-loss4.000.pdparams").string(), "11", "64"}}));
  EXPECT_EQ(Query("SELECT e.iou_type, printf('%.3f', e.AP), e.dataset_fingerprint, c.name FROM "
                  "evaluations e JOIN checkpoints c ON c.id = e.checkpoint_id"),
            (std::vector<std::vector<std::string>>{
                {"bbox", "0.400", "sha256:e2e-val", "step0000200-ep002-loss4.000"}}));
  EXPECT_EQ(Query("SELECT step, value FROM metric_points WHERE key = 'loss' ORDER BY step"),
            (std::vector<std::vector<std::string>>{{"100", "5.0"}, {"200", "4.0"}}));
}

TEST_F(TrainerE2eTest, NoTableFailsTheJobAndACrashIsRetriedFromItsCheckpoint) {
  const std::string sweep = Submit("modes.yaml", R"(name: modes
base: {set: {pos_threshold: 0.5}}
trainer: {command: [python3, )" + Script("summaries_trainer.py") +
                                                     R"(], output: summaries}
budget: {steps: 200}
parameters:
  mode: {values: [no_table, crash_once]}
)");
  AwaitSweep(sweep);
  // modes-t00 printed no table: every attempt failed with that reason, the run failed.
  EXPECT_EQ(Query("SELECT j.state, j.attempts, j.last_error FROM jobs j JOIN runs r ON r.id = "
                  "j.run_id WHERE r.name = 'modes-t00'"),
            (std::vector<std::vector<std::string>>{
                {"failed", "3",
                 "the trainer printed no COCO summarize() table on stdout (trainer.output: "
                 "summaries)"}}));
  EXPECT_EQ(Query("SELECT status FROM runs WHERE name = 'modes-t00'")[0][0], "failed");

  // modes-t01 died after saving step 100; the retry was handed that file and finished.
  EXPECT_EQ(Query("SELECT j.state, j.attempts FROM jobs j JOIN runs r ON r.id = j.run_id WHERE "
                  "r.name = 'modes-t01'"),
            (std::vector<std::vector<std::string>>{{"succeeded", "2"}}));
  const auto attempts = Attempts("modes-t01");
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_TRUE(attempts[0]["resume_from"].is_null());
  const fs::path first = fs::canonical(dir_ / "work" / "runs" / "modes-t01" / "weights" /
                                       "step0000100-ep001-loss5.000.pdparams");
  EXPECT_EQ(attempts[1]["resume_from"], first.string());
  // The crash reason named the exit code and the script's last stderr line.
  EXPECT_EQ(Query("SELECT l.outcome FROM leases l JOIN jobs j ON j.id = l.job_id JOIN runs r ON "
                  "r.id = j.run_id WHERE r.name = 'modes-t01' ORDER BY l.id"),
            (std::vector<std::vector<std::string>>{{"failed"}, {"succeeded"}}));
  const std::string log = RunCommand({"/bin/cat", (dir_ / "w1.log").string()}).out;
  EXPECT_NE(log.find("trainer exited with code 3: Traceback: simulated CUDA error: out of memory"),
            std::string::npos)
      << log;
  EXPECT_EQ(Query("SELECT e.iou_type, printf('%.3f', e.AP) FROM evaluations e JOIN runs r ON "
                  "r.id = e.run_id WHERE r.name = 'modes-t01' ORDER BY e.iou_type"),
            (std::vector<std::vector<std::string>>{{"bbox", "0.250"}, {"segm", "0.167"}}));
}

}  // namespace
}  // namespace ablate::e2e
