#include "sweepspec/sweep_spec.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "sweepspec/sweep_spec_examples.h"

namespace ablate::sweepspec {
namespace {

using testing::kIssueExample;

std::string ErrorOf(const std::string& yaml, const std::vector<SpecOverride>& o = {}) {
  auto r = ParseSweepSpec(yaml, "spec.yaml", o);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(r.status().message());
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  return s.replace(pos, from.size(), to);
}

TEST(SweepSpecTest, ParsesTheIssueExample) {
  auto r = ParseSweepSpec(kIssueExample, "spec.yaml");
  ASSERT_TRUE(r.ok()) << r.status();
  const SweepSpec& s = *r;
  EXPECT_EQ(s.name, "pos-neg-thresholds");
  EXPECT_EQ(s.preset, "tiny");
  EXPECT_EQ(s.base_set["conf_loss"], "ce");
  EXPECT_EQ(s.base_set["lr"], 0.001);
  EXPECT_EQ(s.base_set["batch_size"], 8);
  EXPECT_EQ(s.train_path, "data/shapes/train.json");
  EXPECT_TRUE(s.start_from.empty());
  EXPECT_EQ(s.budget.steps, 600);
  EXPECT_EQ(s.budget.checkpoint_every, 200);
  EXPECT_DOUBLE_EQ(s.eval.score_threshold, 0.05);
  EXPECT_EQ(s.eval.top_k, 100);
  EXPECT_EQ(s.max_parallel, 2);
  ASSERT_EQ(s.parameters.size(), 3u);
  EXPECT_EQ(s.parameters[0].keys, (std::vector<std::string>{"pos_threshold", "neg_threshold"}));
  ASSERT_EQ(s.parameters[0].values.size(), 4u);
  EXPECT_EQ(s.parameters[0].values[3][0], 1.1);
  EXPECT_EQ(s.parameters[0].values[3][1], 0.7);
  EXPECT_EQ(s.parameters[0].line, 9);
  EXPECT_EQ(s.parameters[2].when.at("conf_loss")[0], "focal");
  ASSERT_EQ(s.constraints.size(), 1u);
  EXPECT_EQ(s.constraints[0].lhs, "neg_threshold");
  EXPECT_EQ(s.constraints[0].op, "<");
}

TEST(SweepSpecTest, OverridesAnyKey) {
  auto r = ParseSweepSpec(
      kIssueExample, "spec.yaml",
      {{"budget.steps", "40"}, {"base.set.lr", "0.01"}, {"start_from", "step0200000"}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->budget.steps, 40);
  EXPECT_EQ(r->base_set["lr"], 0.01);
  EXPECT_EQ(r->start_from, "step0200000");
}

TEST(SweepSpecTest, OverrideParsing) {
  auto o = ParseSpecOverride("budget.steps=40");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->key_path, "budget.steps");
  EXPECT_EQ(o->value, "40");
  EXPECT_FALSE(ParseSpecOverride("budget.steps").ok());
  EXPECT_FALSE(ParseSpecOverride("=3").ok());
  EXPECT_NE(ErrorOf(kIssueExample, {{"budget.stepz", "4"}}).find("budget.stepz: unknown key"),
            std::string::npos);
  EXPECT_NE(ErrorOf(kIssueExample, {{"budget.steps", "abc"}}).find("expected an integer"),
            std::string::npos);
}

TEST(SweepSpecTest, MalformedYamlNamesTheLine) {
  std::string msg = ErrorOf("name: x\nbase: {preset: tiny\n");
  EXPECT_NE(msg.find("spec.yaml:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("malformed YAML"), std::string::npos) << msg;
}

TEST(SweepSpecTest, ErrorsNameFileKeyAndProblem) {
  EXPECT_NE(ErrorOf(Replace(kIssueExample, "max_parallel: 2", "max_paralel: 2"))
                .find("spec.yaml:7: max_paralel: unknown key"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kIssueExample, "steps: 600", "steps: 0"))
                .find("budget.steps: 0 means evaluate only, which needs start_from"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kIssueExample,
                            "budget: {steps: 600, checkpoint_every: 200, "
                            "eval_every: 200}\n",
                            ""))
                .find("budget: missing required key"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kIssueExample, "[0.5, 0.2]", "[0.5]"))
                .find("each value must be a list of 2 items"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kIssueExample, "{values: [ce, focal]}", "{values: []}"))
                .find("parameters.conf_loss: expected a non-empty list"),
            std::string::npos);
  EXPECT_NE(
      ErrorOf(Replace(kIssueExample, "{values: [0.25, 0.75], when", "{uniform: [0.1, 0.9], when"))
          .find("distributions need random search"),
      std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kIssueExample, "neg_threshold < pos_threshold",
                            "neg_treshold < pos_threshold"))
                .find("'neg_treshold' is neither a base.set key nor a parameter"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kIssueExample, "neg_threshold < pos_threshold", "neg_threshold <<"))
                .find("cannot parse constraint"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kIssueExample, "score_threshold: 0.05", "score_threshold: 1.5"))
                .find("eval.score_threshold: must be in [0, 1)"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kIssueExample, "when: {conf_loss: focal}", "when: {box_loss2: x}"))
                .find("'box_loss2' must be a base.set key or a parameter declared above"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kIssueExample, "nms_iou: 0.5}", "nms_iou: 0.5, max_dets: 10}"))
                .find("eval.max_dets: only COCO's 100"),
            std::string::npos);
  EXPECT_NE(ErrorOf("- a\n- b\n").find("must be a YAML mapping"), std::string::npos);
}

TEST(SweepSpecTest, ImageFoldersAreOptional) {
  auto plain = ParseSweepSpec(kIssueExample, "spec.yaml");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_TRUE(plain->train_images_path.empty());
  EXPECT_TRUE(plain->val_images_path.empty());
  EXPECT_EQ(SweepDataJson(*plain), nlohmann::json::parse(R"({"train": "data/shapes/train.json",
                                                             "val": "data/shapes/val.json"})"));

  const std::string coco =
      Replace(kIssueExample, "data: {train: data/shapes/train.json, val: data/shapes/val.json}",
              "data:\n  train: coco/annotations/instances_train2017.json\n"
              "  train_images: coco/train2017\n"
              "  val: coco/annotations/instances_val2017.json\n"
              "  val_images: coco/val2017");
  auto r = ParseSweepSpec(coco, "spec.yaml");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->train_images_path, "coco/train2017");
  EXPECT_EQ(r->val_images_path, "coco/val2017");
  EXPECT_EQ(SweepDataJson(*r)["val_images"], "coco/val2017");

  EXPECT_NE(ErrorOf(Replace(coco, "val_images: coco/val2017", "val_images: ''"))
                .find("data.val_images: expected a non-empty string"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Replace(coco, "val_images:", "valimages:")).find("valimages: unknown key"),
            std::string::npos);
}

TEST(SweepSpecTest, RandomSearchNeedsTrials) {
  std::string spec = std::string(kIssueExample) + "search: {mode: random, seed: 3}\n";
  EXPECT_NE(ErrorOf(spec).find("search.trials: missing required key"), std::string::npos);
  std::string bad_mode = std::string(kIssueExample) + "search: {mode: bayes}\n";
  EXPECT_NE(ErrorOf(bad_mode).find("expected grid or random, got 'bayes'"), std::string::npos);
}

TEST(SweepSpecTest, MissingFileIsNotFound) {
  EXPECT_EQ(LoadSweepSpecFile("/nonexistent/spec.yaml").status().code(),
            absl::StatusCode::kNotFound);
}

// Every ready spec shipped in sweeps/ must parse (tests run from the repository root).
TEST(SweepSpecTest, EveryShippedSpecParses) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator("sweeps")) {
    if (entry.path().extension() != ".yaml") continue;
    auto r = LoadSweepSpecFile(entry.path().string());
    EXPECT_TRUE(r.ok()) << entry.path() << ": " << r.status();
    ++count;
  }
  EXPECT_GE(count, 6);
}

// Issue 14: a sweep that names its own training program.
constexpr char kTrainerSpec[] = R"(name: paddle-yolact
base: {set: {lr: 0.001}}
trainer:
  command: [python3, train.py, --epochs, "12", "--pos={pos_threshold}"]
  output: summaries
  iou: segm
budget: {steps: 1000}
parameters:
  pos_threshold: {values: [0.5, 0.6]}
)";

TEST(SweepSpecTest, ParsesATrainerWithoutData) {
  auto r = ParseSweepSpec(kTrainerSpec, "spec.yaml");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->trainer.has_value());
  EXPECT_EQ(r->trainer->command, (std::vector<std::string>{"python3", "train.py", "--epochs", "12",
                                                           "--pos={pos_threshold}"}));
  EXPECT_EQ(r->trainer->output, "summaries");
  EXPECT_EQ(r->trainer->iou, "segm");
  EXPECT_EQ(r->train_path, "");
  auto plain = ParseSweepSpec(kIssueExample, "spec.yaml");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->trainer.has_value());
  // Defaults: events, bbox.
  auto d = ParseSweepSpec(
      Replace(Replace(kTrainerSpec, "  output: summaries\n", ""), "  iou: segm\n", ""),
      "spec.yaml");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->trainer->output, "events");
  EXPECT_EQ(d->trainer->iou, "bbox");
}

TEST(SweepSpecTest, RejectsMalformedTrainers) {
  EXPECT_EQ(ErrorOf(Replace(kTrainerSpec, "output: summaries", "output: stdout")),
            "spec.yaml:5: trainer.output: expected summaries or events, got 'stdout'");
  EXPECT_EQ(ErrorOf(Replace(kTrainerSpec, "iou: segm", "iou: keypoints")),
            "spec.yaml:6: trainer.iou: expected bbox or segm, got 'keypoints'");
  EXPECT_EQ(ErrorOf(Replace(kTrainerSpec,
                            "[python3, train.py, --epochs, \"12\", "
                            "\"--pos={pos_threshold}\"]",
                            "python3 train.py")),
            "spec.yaml:4: trainer.command: expected a non-empty list [PROGRAM, ARG, ...], got "
            "'python3 train.py'");
  EXPECT_EQ(ErrorOf(Replace(kTrainerSpec, "  iou: segm", "  iou: segm\n  env: {A: 1}")),
            "spec.yaml:7: trainer.env: unknown key (expected one of: command, iou, output)");
  // Without a trainer, data stays required.
  EXPECT_EQ(
      ErrorOf(Replace(kIssueExample,
                      "data: {train: data/shapes/train.json, val: data/shapes/val.json}\n", "")),
      "spec.yaml: data: missing required key");
}

}  // namespace
}  // namespace ablate::sweepspec
