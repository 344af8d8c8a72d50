#include "cli/replay_spec.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace ablate::cli
