#include "cli/replay_spec.h"

#include <gtest/gtest.h>

#include "protocol/job_spec.h"
#include "sweepspec/sweep_spec.h"
#include "sweepspec/trial_expansion.h"

namespace ablate::cli {
namespace {

using nlohmann::json;

// The runs `ablate import-log ../shared/samples/tuning-diary.txt` stores (docs/coordinator.md).
std::vector<ReplayRun> SampleDiaryRuns() {
  ReplayRun baseline;
  baseline.name = "tuning-diary-1";
  baseline.score_threshold = 0.05;
  baseline.top_k = 100;
  ReplayRun ohem;
  ohem.name = "tuning-diary-2";
  ohem.config = json::parse(R"({"conf_loss": "ohem", "ohem_negpos_ratio": 3, "lr": 0.001,
      "batch_size": 16, "pos_threshold": 0.5, "neg_threshold": 0.4})");
  ohem.last_checkpoint_step = 200000;
  ohem.score_threshold = 0.05;
  ohem.top_k = 100;
  ohem.max_dets = 100;
  ReplayRun focal = ohem;
  focal.name = "tuning-diary-3";
  focal.config["conf_loss"] = "focal";
  focal.config["focal_loss_alpha"] = 0.25;
  focal.config["focal_loss_gamma"] = 2;
  focal.last_checkpoint_step = 215000;
  focal.parent_run = "tuning-diary-2";
  focal.parent_checkpoint = "step0200000-ep014-loss4.902";
  focal.parent_checkpoint_uri = "step0200000-ep014-loss4.902.pt";
  focal.parent_step = 200000;
  ReplayRun ciou = ohem;
  ciou.name = "tuning-diary-4";
  ciou.config["pos_threshold"] = 0.6;
  ciou.config["neg_threshold"] = 0.3;
  ciou.config["box_loss"] = "ciou";
  ciou.last_checkpoint_step = 209000;
  ciou.parent_run = focal.parent_run;
  ciou.parent_checkpoint = focal.parent_checkpoint;
  ciou.parent_checkpoint_uri = focal.parent_checkpoint_uri;
  ciou.parent_step = 200000;
  return {baseline, ohem, focal, ciou};
}

sweepspec::SweepSpec Parse(const ReplayDocument& d) {
  auto spec = sweepspec::ParseSweepSpec(d.yaml, d.name + ".yaml");
  EXPECT_TRUE(spec.ok()) << spec.status() << "\n" << d.yaml;
  return spec.ok() ? *spec : sweepspec::SweepSpec{};
}

TEST(ReplaySpecTest, SampleDiaryGivesOneSweepPerStartPointAndKeySet) {
  ReplayOptions o;
  o.name = "tuning-diary-replay";
  o.train_path = "data/coco/train.json";
  o.val_path = "data/coco/val.json";
  auto plan = BuildReplayPlan(SampleDiaryRuns(), o);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->skipped.size(), 1u);
  EXPECT_EQ(plan->skipped[0].run, "tuning-diary-1");
  EXPECT_EQ(plan->skipped[0].reason,
            "its length is not recorded (no checkpoint after its start); pass --steps N");
  ASSERT_EQ(plan->documents.size(), 3u);

  const auto scratch = Parse(plan->documents[0]);
  EXPECT_EQ(scratch.name, "tuning-diary-replay-1");
  EXPECT_EQ(plan->documents[0].runs, std::vector<std::string>{"tuning-diary-2"});
  EXPECT_EQ(scratch.start_from, "");
  EXPECT_EQ(scratch.budget.steps, 200000);
  EXPECT_EQ(scratch.budget.eval_every, 0);
  EXPECT_EQ(scratch.train_path, "data/coco/train.json");
  EXPECT_EQ(scratch.base_set, json::parse(R"({"conf_loss": "ohem", "ohem_neg_pos_ratio": 3,
      "lr": 0.001, "batch_size": 16, "pos_threshold": 0.5, "neg_threshold": 0.4})"));
  EXPECT_EQ(scratch.eval.score_threshold, 0.05);
  EXPECT_EQ(scratch.eval.top_k, 100);

  const auto focal = Parse(plan->documents[1]);
  EXPECT_EQ(plan->documents[1].runs, std::vector<std::string>{"tuning-diary-3"});
  EXPECT_EQ(focal.start_from, "file:step0200000-ep014-loss4.902.pt");
  EXPECT_EQ(focal.budget.steps, 15000);
  EXPECT_EQ(focal.base_set["conf_loss"], "focal");
  EXPECT_EQ(focal.base_set["focal_alpha"], 0.25);  // diary key focal_loss_alpha
  EXPECT_EQ(focal.base_set["focal_gamma"], 2);
  EXPECT_FALSE(focal.base_set.contains("focal_loss_alpha"));

  const auto ciou = Parse(plan->documents[2]);
  EXPECT_EQ(ciou.start_from, "file:step0200000-ep014-loss4.902.pt");
  EXPECT_EQ(ciou.budget.steps, 9000);
  EXPECT_EQ(ciou.base_set["box_loss"], "ciou");
  EXPECT_EQ(ciou.base_set["pos_threshold"], 0.6);
  // Every document has the trainer placeholder, commented out.
  for (const auto& d : plan->documents) {
    EXPECT_NE(d.yaml.find("\n# trainer:\n"), std::string::npos) << d.yaml;
  }
}

TEST(ReplaySpecTest, ForksOfOneCheckpointWithTheSameKeysAreOneSweep) {
  auto runs = SampleDiaryRuns();
  ReplayRun a = runs[2];
  a.name = "a";
  a.config = json::parse(R"({"conf_loss": "focal", "lr": 0.001})");
  ReplayRun b = a;
  b.name = "b";
  b.config = json::parse(R"({"conf_loss": "ghm_c", "lr": 0.001})");
  b.last_checkpoint_step = 209000;
  ReplayOptions o;
  o.name = "forks";
  o.checkpoint_dir = "/data/paddle/output";
  auto plan = BuildReplayPlan({a, b}, o);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->documents.size(), 1u);
  EXPECT_TRUE(plan->skipped.empty());
  const auto spec = Parse(plan->documents[0]);
  EXPECT_EQ(spec.name, "forks");
  EXPECT_EQ(spec.start_from, "file:/data/paddle/output/step0200000-ep014-loss4.902.pt");
  EXPECT_EQ(spec.budget.steps, 15000);
  EXPECT_EQ(spec.budget.eval_every, 3000);  // gcd(15000, 9000): both lengths are evaluated
  EXPECT_EQ(spec.base_set, json::parse(R"({"lr": 0.001})"));
  auto trials = sweepspec::ExpandTrials(spec);
  ASSERT_TRUE(trials.ok()) << trials.status();
  ASSERT_EQ(trials->trials.size(), 2u);
  EXPECT_EQ(trials->trials[0].set, json::parse(R"({"conf_loss": "focal", "lr": 0.001})"));
  EXPECT_EQ(trials->trials[1].set, json::parse(R"({"conf_loss": "ghm_c", "lr": 0.001})"));
}

TEST(ReplaySpecTest, SweepRunKeepsItsRecordedConfigAndStart) {
  ReplayRun t;
  t.name = "box-loss-t01";
  t.config = json::parse(R"({"preset": "tiny", "set": {"box_loss": "ciou", "lr": 0.001},
      "data": {"train": "/d/train.json", "val": "/d/val.json"}, "start_from": "r/step0000600",
      "steps": 600, "eval": {"score_threshold": 0.05, "top_k": 100, "nms_iou": 0.5,
      "max_dets": 100}})");
  t.last_checkpoint_step = 1200;
  auto plan = BuildReplayPlan({t}, ReplayOptions{});
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->documents.size(), 1u);
  const auto spec = Parse(plan->documents[0]);
  EXPECT_EQ(spec.start_from, "r/step0000600");
  EXPECT_EQ(spec.budget.steps, 600);
  EXPECT_EQ(spec.train_path, "/d/train.json");
  EXPECT_EQ(spec.base_set, json::parse(R"({"box_loss": "ciou", "lr": 0.001})"));
}

TEST(ReplaySpecTest, NothingReplayableIsAnErrorNamingEachRun) {
  auto runs = SampleDiaryRuns();
  auto plan = BuildReplayPlan({runs[0]}, ReplayOptions{});
  ASSERT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(plan.status().message()),
            "no run can be replayed; tuning-diary-1: its length is not recorded (no checkpoint "
            "after its start); pass --steps N");
  ReplayOptions with_steps;
  with_steps.default_steps = 1000;
  plan = BuildReplayPlan({runs[0]}, with_steps);
  ASSERT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(plan.status().message()).find("neither a config nor a start checkpoint"),
            std::string::npos)
      << plan.status();
  EXPECT_EQ(BuildReplayPlan({}, ReplayOptions{}).status().message(), "no runs to replay");
}

TEST(ReplaySpecTest, SplitCommandLineSplitsAsAShellWithoutExpansion) {
  using Words = std::vector<std::string>;
  EXPECT_EQ(*SplitCommandLine("python3 train.py --pos {pos_threshold}"),
            (Words{"python3", "train.py", "--pos", "{pos_threshold}"}));
  EXPECT_EQ(*SplitCommandLine("  a\t'b  c' \"d \\\"e\\\" \\$x \\y\" f\\ g '' $HOME ~/x *.py  "),
            (Words{"a", "b  c", "d \"e\" $x \\y", "f g", "", "$HOME", "~/x", "*.py"}));
  EXPECT_EQ(*SplitCommandLine("a'b'\"c\"d"), (Words{"abcd"}));
  EXPECT_EQ(*SplitCommandLine("train.py \\\n  --epochs 12"), (Words{"train.py", "--epochs", "12"}));
  EXPECT_EQ(SplitCommandLine("python3 'train.py").status().message(),
            "unterminated ' quote in the command line: python3 'train.py");
  EXPECT_EQ(SplitCommandLine("python3 \"train.py").status().message(),
            "unterminated \" quote in the command line: python3 \"train.py");
  EXPECT_EQ(SplitCommandLine("python3 x\\").status().message(),
            "the command line ends with a lone backslash");
  EXPECT_EQ(SplitCommandLine(" \t ").status().message(), "the command line is empty");
}

protocol::TrainerSpec PosTrainer() {
  protocol::TrainerSpec t;
  t.command = {"python3", "/opt/paddle/train.py", "--pos", "{pos_threshold}"};
  t.output = "summaries";
  t.iou = "segm";
  return t;
}

// --trainer-command: every document trains with the program; `{key}`s are checked per run as the
// coordinator would; diary keys keep the diary's names; no data section unless one is given.
TEST(ReplaySpecTest, TrainerIsWrittenAsTheTrainerSectionAndItsKeysChecked) {
  auto runs = SampleDiaryRuns();
  ReplayRun no_pos = runs[1];
  no_pos.name = "tuning-diary-5";
  no_pos.config.erase("pos_threshold");
  runs.push_back(no_pos);
  ReplayOptions o;
  o.name = "paddle";
  o.trainer = PosTrainer();
  auto plan = BuildReplayPlan(runs, o);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->skipped.size(), 2u);
  EXPECT_EQ(plan->skipped[1].run, "tuning-diary-5");
  EXPECT_EQ(plan->skipped[1].reason,
            "trainer.command[3] '{pos_threshold}': '{pos_threshold}' is not a key of the trial's "
            "config (base.set or a parameter)");
  ASSERT_EQ(plan->documents.size(), 3u);
  const std::vector<std::string> expected_pos = {"0.5", "0.5", "0.6"};
  for (size_t i = 0; i < plan->documents.size(); ++i) {
    const ReplayDocument& d = plan->documents[i];
    EXPECT_EQ(d.yaml.find("# trainer:"), std::string::npos) << d.yaml;
    EXPECT_NE(d.yaml.find("\ntrainer:\n  command: [\"python3\", \"/opt/paddle/train.py\", "
                          "\"--pos\", \"{pos_threshold}\"]\n  output: \"summaries\"\n  iou: "
                          "\"segm\"\n"),
              std::string::npos)
        << d.yaml;
    const auto spec = Parse(d);
    ASSERT_TRUE(spec.trainer.has_value()) << d.yaml;
    EXPECT_EQ(spec.trainer->command, PosTrainer().command);
    EXPECT_EQ(spec.trainer->output, "summaries");
    EXPECT_EQ(spec.trainer->iou, "segm");
    EXPECT_EQ(spec.train_path, "") << d.yaml;  // the program has its own data
    auto trials = sweepspec::ExpandTrials(spec);
    ASSERT_TRUE(trials.ok()) << trials.status();
    ASSERT_EQ(trials->trials.size(), 1u);
    auto argv = protocol::SubstituteTrainerCommand(spec.trainer->command, trials->trials[0].set);
    ASSERT_TRUE(argv.ok()) << argv.status();
    EXPECT_EQ((*argv)[3], expected_pos[i]);
  }
  // The diary's own key names (the detector's would be focal_alpha, ohem_neg_pos_ratio).
  const auto focal = Parse(plan->documents[1]);
  EXPECT_EQ(focal.base_set["focal_loss_alpha"], 0.25);
  EXPECT_EQ(focal.base_set["ohem_negpos_ratio"], 3);
  EXPECT_FALSE(focal.base_set.contains("focal_alpha"));

  // Data given explicitly is written (the other path keeps its default).
  o.train_path = "/data/coco/train.json";
  plan = BuildReplayPlan(runs, o);
  ASSERT_TRUE(plan.ok()) << plan.status();
  const auto with_data = Parse(plan->documents[0]);
  EXPECT_EQ(with_data.train_path, "/data/coco/train.json");
  EXPECT_EQ(with_data.val_path, "data/val.json");
}

TEST(ReplaySpecTest, SweepRunOfAUsersTrainerKeepsItsTrainer) {
  ReplayRun t;
  t.name = "paddle-t01";
  t.config = json::parse(R"({"preset": "tiny", "set": {"lr": 0.001, "pos_threshold": 0.6},
      "data": {"train": "", "val": ""}, "start_from": "", "steps": 200,
      "eval": {"score_threshold": 0.05, "top_k": 100, "nms_iou": 0.5, "max_dets": 100},
      "trainer": {"command": ["python3", "train.py", "--pos={pos_threshold}"],
                  "output": "summaries", "iou": "segm"}})");
  auto plan = BuildReplayPlan({t}, ReplayOptions{});
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->documents.size(), 1u);
  const auto spec = Parse(plan->documents[0]);
  ASSERT_TRUE(spec.trainer.has_value()) << plan->documents[0].yaml;
  EXPECT_EQ(spec.trainer->command,
            (std::vector<std::string>{"python3", "train.py", "--pos={pos_threshold}"}));
  EXPECT_EQ(spec.trainer->output, "summaries");
  EXPECT_EQ(spec.train_path, "");
  EXPECT_EQ(spec.base_set, json::parse(R"({"lr": 0.001, "pos_threshold": 0.6})"));

  // --trainer-command replaces it.
  ReplayOptions o;
  o.trainer = PosTrainer();
  plan = BuildReplayPlan({t}, o);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(Parse(plan->documents[0]).trainer->command, PosTrainer().command);
}

}  // namespace
}  // namespace ablate::cli
