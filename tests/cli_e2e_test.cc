// End-to-end: a real `ablate server` process on a temp SQLite file and a free loopback port,
// driven by real `ablate` CLI commands. Expected numbers are read by hand from
// ../shared/samples/tuning-diary.txt.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/testing/fresh_temp_dir.h"
#include "sweepspec/sweep_spec.h"
#include "sweepspec/trial_expansion.h"
#include "tests/process_util.h"

namespace ablate::e2e {
namespace {

namespace fs = std::filesystem;
constexpr char kDiary[] = "../shared/samples/tuning-diary.txt";
// Hand-made diaries (diary/testdata); expected values read from them by hand.
constexpr char kChineseDiary[] = "diary/testdata/paddle-diary-zh.txt";
constexpr char kUnlabelled[] = "diary/testdata/unlabelled-tables.txt";

fs::path FreshDir(const std::string& name) { return ablate::testing::FreshTempDir("e2e_" + name); }

class CliE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    server_ = std::make_unique<ServerProcess>(dir_ / "ablate.db");
    std::string error;
    ASSERT_TRUE(server_->Start(&error)) << error;
  }
  void TearDown() override {
    server_.reset();
    if (!HasFailure()) fs::remove_all(dir_);  // kept after a failure, for the database
  }

  CommandResult Ablate(std::vector<std::string> args) {
    return RunAblate(server_->address(), std::move(args));
  }

  nlohmann::json AblateJson(std::vector<std::string> args) {
    args.push_back("--json");
    CommandResult r = Ablate(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    try {
      return nlohmann::json::parse(r.out);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not JSON: " << r.out;
      return nullptr;
    }
  }

  fs::path dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(CliE2eTest, HealthIsServing) {
  CommandResult r = Ablate({"health"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "SERVING " + server_->address() + "\n");
}

TEST_F(CliE2eTest, ImportLogJsonHasOneEntryPerBlockInFileOrder) {
  nlohmann::json j = AblateJson({"import-log", kDiary});
  ASSERT_EQ(j["evaluations"].size(), 5u) << j.dump(2);
  const auto& ev = j["evaluations"];
  EXPECT_EQ(ev[0]["line"], 4);
  EXPECT_TRUE(ev[0]["checkpoint"].is_null());
  EXPECT_EQ(ev[0]["run"], "tuning-diary-1");
  EXPECT_EQ(ev[0]["stats"]["AP"], 0.231);
  EXPECT_EQ(ev[0]["stats"]["ARl"], 0.512);
  EXPECT_EQ(ev[1]["checkpoint"], "step0200000-ep014-loss4.902");
  EXPECT_EQ(ev[1]["config"]["conf_loss"], "ohem");
  EXPECT_EQ(ev[1]["config"]["lr"], 0.001);
  EXPECT_EQ(ev[1]["config"]["batch_size"], 16);
  EXPECT_EQ(ev[2]["run"], "tuning-diary-3");
  EXPECT_EQ(ev[2]["config"]["conf_loss"], "focal");
  EXPECT_EQ(ev[2]["config"]["focal_loss_alpha"], 0.25);
  EXPECT_EQ(ev[2]["config"]["focal_loss_gamma"], 2);
  EXPECT_EQ(ev[3]["config"]["pos_threshold"], 0.6);
  EXPECT_EQ(ev[3]["config"]["box_loss"], "ciou");
  EXPECT_EQ(ev[4]["line"], 67);
  EXPECT_EQ(ev[4]["run"], "tuning-diary-3");
  EXPECT_EQ(ev[4]["checkpoint"], "step0215000-ep015-loss1.377");
  EXPECT_EQ(ev[4]["stats"]["AP"], 0.271);
  EXPECT_EQ(ev[4]["eval_settings"]["score_threshold"], 0.005);
  ASSERT_EQ(j["skipped"].size(), 1u);
  EXPECT_EQ(j["skipped"][0]["line"], 81);
  EXPECT_EQ(j["created"]["runs"], 4);
  EXPECT_EQ(j["created"]["checkpoints"], 3);
  EXPECT_EQ(j["created"]["evaluations"], 5);
}

TEST_F(CliE2eTest, ReimportDuplicatesNothing) {
  AblateJson({"import-log", kDiary});
  nlohmann::json again = AblateJson({"import-log", kDiary});
  EXPECT_EQ(again["created"]["runs"], 0);
  EXPECT_EQ(again["created"]["checkpoints"], 0);
  EXPECT_EQ(again["created"]["evaluations"], 0);
  for (const auto& e : again["evaluations"]) EXPECT_EQ(e["created"], false);
  EXPECT_EQ(AblateJson({"runs"})["runs"].size(), 4u);
  EXPECT_EQ(AblateJson({"checkpoints"})["checkpoints"].size(), 3u);
}

TEST_F(CliE2eTest, LeaderboardRanksComparableEvaluationsOnly) {
  AblateJson({"import-log", kDiary});
  nlohmann::json j = AblateJson({"leaderboard"});
  ASSERT_EQ(j["rows"].size(), 4u) << j.dump(2);
  std::vector<std::string> runs;
  std::vector<double> ap;
  // Rows as the dashboard's /api/leaderboard: {rank, run: {...}, evaluation: {...}, value}.
  for (const auto& r : j["rows"]) {
    runs.push_back(r["run"]["name"]);
    ap.push_back(r["evaluation"]["stats"]["AP"]);
  }
  EXPECT_EQ(runs, (std::vector<std::string>{"tuning-diary-3", "tuning-diary-2", "tuning-diary-4",
                                            "tuning-diary-1"}));
  EXPECT_EQ(ap, (std::vector<double>{0.268, 0.262, 0.259, 0.231}));
  // The 0.005 re-scoring (AP 0.271) is in its own group, never ranked with these.
  for (const auto& r : j["rows"]) {
    EXPECT_EQ(r["evaluation"]["settings"]["score_threshold"], 0.05);
    EXPECT_EQ(r["evaluation"]["eval_key"], j["rows"][0]["evaluation"]["eval_key"]);
  }
  ASSERT_EQ(j["groups"].size(), 2u);
  EXPECT_EQ(j["groups"][1]["settings"]["score_threshold"], 0.005);
  EXPECT_EQ(j["groups"][1]["selected"], false);

  nlohmann::json by_arl = AblateJson({"leaderboard", "--by", "ARl", "--top", "2"});
  ASSERT_EQ(by_arl["rows"].size(), 2u);
  EXPECT_EQ(by_arl["rows"][0]["evaluation"]["stats"]["ARl"], 0.561);
  EXPECT_EQ(by_arl["rows"][1]["evaluation"]["stats"]["ARl"], 0.548);

  nlohmann::json low = AblateJson({"leaderboard", "--score-threshold", "0.005"});
  ASSERT_EQ(low["rows"].size(), 1u);
  EXPECT_EQ(low["rows"][0]["evaluation"]["stats"]["AP"], 0.271);

  EXPECT_EQ(AblateJson({"leaderboard", "--sweep", "no-such-sweep"})["rows"].size(), 0u);
  EXPECT_EQ(AblateJson({"leaderboard", "--iou", "segm"})["rows"].size(), 0u);

  CommandResult table = Ablate({"leaderboard"});
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_NE(table.out.find("rank  run             status     checkpoint"), std::string::npos)
      << table.out;
  EXPECT_NE(table.out.find("Not ranked with the above"), std::string::npos);
}

TEST_F(CliE2eTest, CompareShowsConfigDiffAndDeltas) {
  AblateJson({"import-log", kDiary});
  nlohmann::json j = AblateJson({"compare", "tuning-diary-2", "tuning-diary-3"});
  std::map<std::string, nlohmann::json> diff;
  for (const auto& d : j["config_diff"]) diff[d["key"]] = d;
  EXPECT_EQ(diff["conf_loss"]["a"], "ohem");
  EXPECT_EQ(diff["conf_loss"]["b"], "focal");
  EXPECT_EQ(diff["conf_loss"]["same"], false);
  EXPECT_TRUE(diff["focal_loss_alpha"]["a"].is_null());
  EXPECT_EQ(diff["lr"]["same"], true);
  ASSERT_EQ(j["stats"].size(), 1u);
  const auto& s = j["stats"][0];
  EXPECT_EQ(s["iou_type"], "bbox");
  EXPECT_EQ(s["comparable"], true);
  EXPECT_EQ(s["a"]["stats"]["AP"], 0.262);
  EXPECT_EQ(s["b"]["stats"]["AP"], 0.268);
  EXPECT_NEAR(s["delta"]["AP"].get<double>(), 0.006, 1e-9);
  EXPECT_NEAR(s["delta"]["ARm"].get<double>(), 0.018, 1e-9);

  CommandResult table = Ablate({"compare", "tuning-diary-2", "tuning-diary-3"});
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_NE(table.out.find("AP     0.262  0.268  +0.006"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("comparable: yes"), std::string::npos);
}

TEST_F(CliE2eTest, ShowAndCheckpointResolution) {
  AblateJson({"import-log", kDiary});
  nlohmann::json show = AblateJson({"show", "tuning-diary-3"});
  EXPECT_EQ(show["run"]["parent_checkpoint"], "step0200000-ep014-loss4.902");
  EXPECT_EQ(show["evaluations"].size(), 2u);
  nlohmann::json c = AblateJson({"checkpoints", "--resolve", "step0209000"});
  EXPECT_EQ(c["checkpoints"][0]["name"], "step0209000-ep015-loss4.511");
  EXPECT_EQ(c["checkpoints"][0]["run"], "tuning-diary-4");
  nlohmann::json q = AblateJson({"checkpoints", "--resolve", "tuning-diary-2/step0200000"});
  EXPECT_EQ(q["checkpoints"][0]["step"], 200000);
}

TEST_F(CliE2eTest, ErrorsAreNamedAndExitNonZero) {
  CommandResult show = Ablate({"show", "nope"});
  EXPECT_EQ(show.exit_code, 1);
  EXPECT_EQ(show.err, "error: run 'nope' not found\n");
  CommandResult by_id = Ablate({"show", "4242"});
  EXPECT_EQ(by_id.err, "error: run '4242' not found (neither a run name nor a run id)\n");
  CommandResult by = Ablate({"leaderboard", "--by", "mAP"});
  EXPECT_EQ(by.exit_code, 1);
  EXPECT_NE(by.err.find("unknown stat 'mAP'"), std::string::npos) << by.err;
  CommandResult file = Ablate({"import-log", (dir_ / "missing.txt").string()});
  EXPECT_EQ(file.exit_code, 1);
  EXPECT_NE(file.err.find("missing.txt"), std::string::npos) << file.err;
  CommandResult dead = RunCommand({AblateBinary(), "runs", "--server", "127.0.0.1:1"});
  EXPECT_EQ(dead.exit_code, 1);
  EXPECT_NE(dead.err.find("cannot reach the coordinator at 127.0.0.1:1"), std::string::npos)
      << dead.err;
}

TEST_F(CliE2eTest, ServerAddressFromEnvironment) {
  CommandResult r = RunCommand({AblateBinary(), "health"}, {{"ABLATE_SERVER", server_->address()}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(CliE2eTest, DiaryWithBrokenBlocksReportsThemAndStoresTheRest) {
  std::ifstream in(kDiary);
  std::string sample((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Corrupt the value of AP75 in the first block (line 6) of a copy.
  const std::string needle = "maxDets=100 ] = 0.239";
  ASSERT_NE(sample.find(needle), std::string::npos);
  sample.replace(sample.find(needle), needle.size(), "maxDets=100 ] = 0.2#9");
  const fs::path copy = dir_ / "broken.txt";
  std::ofstream(copy) << sample;
  nlohmann::json j = AblateJson({"import-log", copy.string()});
  ASSERT_EQ(j["skipped"].size(), 2u);
  EXPECT_EQ(j["skipped"][0]["line"], 4);
  EXPECT_EQ(j["skipped"][0]["reason"], "line 6: cannot read the value '0.2#9' of AP75");
  EXPECT_EQ(j["skipped"][1]["line"], 81);
  EXPECT_EQ(j["evaluations"].size(), 4u);
  // Nothing of the broken block was stored: its run "broken-1" does not exist, and the other
  // runs keep the numbers of their blocks.
  EXPECT_EQ(Ablate({"show", "broken-1"}).exit_code, 1);
  EXPECT_EQ(Ablate({"show", "broken-2"}).exit_code, 0);
  nlohmann::json runs = AblateJson({"runs"});
  EXPECT_EQ(runs["runs"].size(), 3u);
  EXPECT_EQ(runs["runs"][0]["config"]["conf_loss"], "ohem");
}

// Issue 14: a Chinese diary (CRLF, full-width punctuation, .pdparams) whose fork follows the
// checkpoint it forks used to abort the import; now every block is stored or skipped.
TEST_F(CliE2eTest, ChineseDiaryWithForksIsStoredAndBadBlocksAreListed) {
  nlohmann::json j = AblateJson({"import-log", kChineseDiary});
  std::vector<int> lines;
  for (const auto& e : j["evaluations"]) lines.push_back(e["line"]);
  EXPECT_EQ(lines, (std::vector<int>{17, 34, 48, 63, 76, 106})) << j.dump(2);
  ASSERT_EQ(j["skipped"].size(), 2u);
  EXPECT_EQ(j["skipped"][0]["line"], 91);
  EXPECT_EQ(j["skipped"][0]["reason"], "line 95: cannot read the value '0.3l2' of APm");
  EXPECT_EQ(j["skipped"][1]["line"], 119);
  EXPECT_EQ(j["created"]["runs"], 3);
  EXPECT_EQ(j["created"]["evaluations"], 6);
  nlohmann::json fork = AblateJson({"runs", "--prefix", "paddle-diary-zh-3"});
  ASSERT_EQ(fork["runs"].size(), 1u);
  EXPECT_EQ(fork["runs"][0]["parent_run"], "paddle-diary-zh-1");
  EXPECT_EQ(fork["runs"][0]["parent_checkpoint"], "step1066300-ep073-loss5.715");
  EXPECT_EQ(fork["runs"][0]["config"]["conf_loss"], "focal");
  EXPECT_EQ(fork["runs"][0]["config"]["ohem_negpos_ratio"], 3);  // inherited from the parent
  // The human output lists the skipped blocks too.
  CommandResult text = Ablate({"import-log", kChineseDiary});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("paddle-diary-zh.txt: 6 evaluations stored, 2 blocks skipped\n"),
            std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("skipped line 119: the same table as line 106 (pasted twice); nothing "
                          "new stored\n"),
            std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("stored: 0 new runs, 0 new checkpoints, 0 new evaluations\n"),
            std::string::npos)
      << text.out;
}

TEST_F(CliE2eTest, BlockConflictingWithStoredNumbersIsSkippedAndTheRestStored) {
  AblateJson({"import-log", kDiary});
  // The same diary with the second block's AP changed: that block conflicts with what is stored.
  std::ifstream in(kDiary);
  std::string sample((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string needle = "maxDets=100 ] = 0.262";
  ASSERT_NE(sample.find(needle), std::string::npos);
  sample.replace(sample.find(needle), needle.size(), "maxDets=100 ] = 0.999");
  fs::create_directories(dir_ / "edited");
  const fs::path copy = dir_ / "edited" / "tuning-diary.txt";
  std::ofstream(copy) << sample;
  nlohmann::json j = AblateJson({"import-log", copy.string()});
  ASSERT_EQ(j["skipped"].size(), 2u) << j.dump(2);
  EXPECT_EQ(j["skipped"][0]["line"], 19);
  EXPECT_NE(j["skipped"][0]["reason"].get<std::string>().find(
                "is already recorded with different stats (AP 0.262 vs 0.999)"),
            std::string::npos)
      << j["skipped"][0]["reason"];
  EXPECT_EQ(j["skipped"][1]["line"], 81);
  EXPECT_EQ(j["evaluations"].size(), 4u);
  for (const auto& e : j["evaluations"]) EXPECT_EQ(e["created"], false) << e.dump();
  nlohmann::json lb = AblateJson({"leaderboard"});
  for (const auto& r : lb["rows"]) EXPECT_NE(r["evaluation"]["stats"]["AP"], 0.999);
}

TEST_F(CliE2eTest, IouOptionSetsTheKindOfUnlabelledTables) {
  nlohmann::json j = AblateJson({"import-log", kUnlabelled, "--iou", "segm"});
  ASSERT_EQ(j["evaluations"].size(), 2u);
  for (const auto& e : j["evaluations"]) EXPECT_EQ(e["eval_settings"]["iou_type"], "segm");
  EXPECT_EQ(AblateJson({"leaderboard", "--iou", "segm"})["rows"].size(), 2u);
  EXPECT_EQ(AblateJson({"leaderboard", "--iou", "bbox"})["rows"].size(), 0u);
  CommandResult bad = Ablate({"import-log", kUnlabelled, "--iou", "mask"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("--iou"), std::string::npos) << bad.err;
}

// `ablate replay`: sweep files for the imported runs, parsed by the real sweep parser and
// accepted by `ablate submit --dry-run` on the real coordinator.
TEST_F(CliE2eTest, ReplayOfAnImportedDiaryWritesSubmittableSweeps) {
  AblateJson({"import-log", kChineseDiary});
  const fs::path out = dir_ / "replay";
  nlohmann::json j = AblateJson({"replay", "paddle-diary-zh", "--out-dir", out.string(), "--train",
                                 "data/train.json", "--val", "data/val.json", "--steps", "5000"});
  ASSERT_EQ(j["sweeps"].size(), 3u) << j.dump(2);
  EXPECT_TRUE(j["skipped"].empty());
  struct Expected {
    std::string run;
    std::string start_from;
    int64_t steps;
    std::string conf_loss;
    double lr;
  };
  const std::vector<Expected> expected = {
      {"paddle-diary-zh-1", "", 1066300, "ohem", 0.001},
      {"paddle-diary-zh-3", "file:step1066300-ep073-loss5.715.pdparams", 5000, "focal", 0.001},
      {"paddle-diary-zh-4", "file:step1066300-ep073-loss5.715.pdparams", 83700, "ohem", 0.0005},
  };
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto& doc = j["sweeps"][i];
    EXPECT_EQ(doc["runs"], nlohmann::json::array({expected[i].run}));
    const std::string file = doc["file"];
    std::ifstream f(file);
    std::string yaml((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    auto spec = sweepspec::ParseSweepSpec(yaml, file);
    ASSERT_TRUE(spec.ok()) << spec.status() << "\n" << yaml;
    EXPECT_EQ(spec->start_from, expected[i].start_from);
    EXPECT_EQ(spec->budget.steps, expected[i].steps);
    auto trials = sweepspec::ExpandTrials(*spec);
    ASSERT_TRUE(trials.ok()) << trials.status();
    ASSERT_EQ(trials->trials.size(), 1u);
    EXPECT_EQ(trials->trials[0].set["conf_loss"], expected[i].conf_loss);
    EXPECT_EQ(trials->trials[0].set["lr"], expected[i].lr);
    EXPECT_EQ(trials->trials[0].eval.top_k, 200);
    nlohmann::json submitted = AblateJson({"submit", file, "--dry-run"});
    EXPECT_EQ(submitted["trials"].size(), 1u) << submitted.dump(2);
  }
  // The focal fork keeps what it inherited, in the detector's key names.
  std::ifstream f(j["sweeps"][1]["file"].get<std::string>());
  std::string focal((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto spec = sweepspec::ParseSweepSpec(focal, "focal.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->base_set["focal_alpha"], 0.25);
  EXPECT_EQ(spec->base_set["ohem_neg_pos_ratio"], 3);
  EXPECT_EQ(spec->base_set["neg_threshold"], 0.4);

  // The diary's file name stands for its sweep.
  nlohmann::json by_file = AblateJson({"replay", kChineseDiary, "--steps", "5000"});
  ASSERT_EQ(by_file["sweeps"].size(), 3u) << by_file.dump(2);
  EXPECT_EQ(by_file["sweeps"][0]["yaml"], j["sweeps"][0]["yaml"]);

  // One sweep on stdout: the YAML itself; several with --out: an error naming --out-dir.
  CommandResult one = Ablate({"replay", "--run", "paddle-diary-zh-4"});
  EXPECT_EQ(one.exit_code, 0) << one.err;
  EXPECT_NE(one.out.find("start_from: \"file:step1066300-ep073-loss5.715.pdparams\"\n"),
            std::string::npos)
      << one.out;
  CommandResult several = Ablate({"replay", "paddle-diary-zh", "--out", (out / "x.yaml").string()});
  EXPECT_EQ(several.exit_code, 1);
  EXPECT_NE(several.err.find("write them with --out-dir DIR"), std::string::npos) << several.err;
  CommandResult none = Ablate({"replay", "no-such-sweep"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_EQ(none.err, "error: no runs in sweep 'no-such-sweep'\n");

  // With your own trainer: a real trainer section, split as a shell would, that the coordinator
  // accepts ({lr} is a key of every run).
  nlohmann::json own = AblateJson({"replay", "paddle-diary-zh", "--out-dir",
                                   (dir_ / "own").string(), "--steps", "5000", "--trainer-command",
                                   "python3 /opt/paddle/train.py --lr {lr} --note 'from the diary'",
                                   "--trainer-iou", "segm"});
  ASSERT_EQ(own["sweeps"].size(), 3u) << own.dump(2);
  for (const auto& doc : own["sweeps"]) {
    auto spec = sweepspec::ParseSweepSpec(doc["yaml"].get<std::string>(), "own.yaml");
    ASSERT_TRUE(spec.ok()) << spec.status() << "\n" << doc["yaml"].get<std::string>();
    ASSERT_TRUE(spec->trainer.has_value());
    EXPECT_EQ(spec->trainer->command,
              (std::vector<std::string>{"python3", "/opt/paddle/train.py", "--lr", "{lr}", "--note",
                                        "from the diary"}));
    EXPECT_EQ(spec->trainer->output, "summaries");
    EXPECT_EQ(spec->trainer->iou, "segm");
    nlohmann::json submitted = AblateJson({"submit", doc["file"].get<std::string>(), "--dry-run"});
    EXPECT_EQ(submitted["trials"].size(), 1u) << submitted.dump(2);
  }
  CommandResult lone = Ablate({"replay", "paddle-diary-zh", "--trainer-iou", "segm"});
  EXPECT_EQ(lone.exit_code, 1);
  EXPECT_EQ(lone.err,
            "error: --trainer-iou describes the program of --trainer-command; give that too\n");
}

TEST(ServerStartE2eTest, NewerSchemaIsRefusedWithClearMessage) {
  const fs::path db = FreshDir("newer") / "ablate.db";
  {
    ServerProcess first(db);
    std::string error;
    ASSERT_TRUE(first.Start(&error)) << error;
    EXPECT_EQ(first.Stop(SIGTERM), 0);
  }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "INSERT INTO schema_version VALUES (99, '0099_future', 0)", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  ServerProcess second(db);
  std::string error;
  EXPECT_FALSE(second.Start(&error));
  EXPECT_NE(error.find("server exited with code 1"), std::string::npos) << error;
  // The supported version is the newest embedded migration (grows with new migrations).
  EXPECT_NE(error.find("error: database schema version 99 is newer than this ablate binary "
                       "supports ("),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("); upgrade ablate"), std::string::npos) << error;
}

TEST(ServerStartE2eTest, SecondServerOnTheSamePortFails) {
  const fs::path dir = FreshDir("port");
  ServerProcess first(dir / "a.db");
  std::string error;
  ASSERT_TRUE(first.Start(&error)) << error;
  CommandResult second = RunCommand(
      {AblateBinary(), "server", "--db", (dir / "b.db").string(), "--listen", first.address()});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("cannot listen on " + first.address()), std::string::npos)
      << second.err;
}

}  // namespace
}  // namespace ablate::e2e
