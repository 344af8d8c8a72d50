#include "server/diary/diary_parser.h"

#include <gtest/gtest.h>

#include "common/atomic_file.h"

namespace ablate::diary {
namespace {

// One pycocotools summarize() block; `values` in stats order.
std::string Block(const CocoStats& v, const std::string& indent = " ") {
  const char* fmt[12] = {
      "Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = ",
      "Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = ",
      "Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ] = ",
      "Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = ",
      "Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = ",
      "Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = ",
      "Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = ",
      "Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 10 ] = ",
      "Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = ",
      "Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = ",
      "Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = ",
      "Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = "};
  std::string out;
  for (int i = 0; i < 12; ++i) {
    char num[32];
    std::snprintf(num, sizeof num, "%.3f", v[static_cast<size_t>(i)]);
    out += indent + fmt[i] + num + "\n";
  }
  return out;
}

constexpr CocoStats kA = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.11, 0.12, 0.13};

class SharedSampleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto text = ReadFile("../shared/samples/tuning-diary.txt");
    ASSERT_TRUE(text.ok()) << text.status();
    result_ = ParseDiary(*text, "tuning-diary.txt");
  }
  DiaryParseResult result_;
};

// Expected values read by hand from ../shared/samples/tuning-diary.txt (grep -n confirms the
// line numbers: the AP lines of the five complete blocks are 4, 19, 35, 53, 67; the cut-off
// block starts at 81).
TEST_F(SharedSampleTest, FindsFiveEvaluationsAndOneTruncatedBlock) {
  ASSERT_EQ(result_.evaluations.size(), 5u);
  std::vector<int> lines;
  for (const auto& e : result_.evaluations) lines.push_back(e.line);
  EXPECT_EQ(lines, (std::vector<int>{4, 19, 35, 53, 67}));
  ASSERT_EQ(result_.skipped.size(), 1u);
  EXPECT_EQ(result_.skipped[0].line, 81);
  EXPECT_NE(result_.skipped[0].reason.find("truncated summary block: 2 of 12"), std::string::npos)
      << result_.skipped[0].reason;
}

TEST_F(SharedSampleTest, StatsAreReadExactly) {
  const auto& base = result_.evaluations[0].stats;
  EXPECT_DOUBLE_EQ(base[0], 0.231);
  EXPECT_DOUBLE_EQ(base[1], 0.384);
  EXPECT_DOUBLE_EQ(base[5], 0.417);
  EXPECT_DOUBLE_EQ(base[6], 0.219);
  EXPECT_DOUBLE_EQ(base[8], 0.301);
  EXPECT_DOUBLE_EQ(base[11], 0.512);
  const auto& rescored = result_.evaluations[4].stats;
  EXPECT_DOUBLE_EQ(rescored[0], 0.271);
  EXPECT_DOUBLE_EQ(rescored[11], 0.590);
}

TEST_F(SharedSampleTest, BaselineIsARunWithoutCheckpoint) {
  const auto& e = result_.evaluations[0];
  EXPECT_EQ(e.run_name, "tuning-diary-1");
  EXPECT_TRUE(e.new_run);
  EXPECT_FALSE(e.checkpoint.has_value());
  EXPECT_EQ(e.config, nlohmann::json::object());
  EXPECT_EQ(e.eval.score_threshold, 0.05);
  EXPECT_EQ(e.eval.top_k, 100);
  EXPECT_EQ(e.eval.max_dets, 100);
  EXPECT_EQ(e.eval.iou_type, "bbox");
}

TEST_F(SharedSampleTest, FirstRunConfigFromProse) {
  const auto& e = result_.evaluations[1];
  EXPECT_EQ(e.run_name, "tuning-diary-2");
  ASSERT_TRUE(e.checkpoint.has_value());
  EXPECT_EQ(*e.checkpoint, "step0200000-ep014-loss4.902");
  EXPECT_EQ(e.checkpoint_file, "step0200000-ep014-loss4.902.pt");
  EXPECT_FALSE(e.parent_checkpoint.has_value());
  EXPECT_EQ(e.config, nlohmann::json::parse(R"({"conf_loss": "ohem", "ohem_negpos_ratio": 3,
      "lr": 0.001, "batch_size": 16, "pos_threshold": 0.5, "neg_threshold": 0.4})"));
}

TEST_F(SharedSampleTest, FocalForkWithFullWidthPunctuationInheritsParentConfig) {
  const auto& e = result_.evaluations[2];
  EXPECT_EQ(e.run_name, "tuning-diary-3");
  EXPECT_TRUE(e.new_run);
  EXPECT_EQ(e.checkpoint, "step0215000-ep015-loss1.377");
  EXPECT_EQ(e.parent_checkpoint, "step0200000-ep014-loss4.902");
  EXPECT_EQ(e.config, nlohmann::json::parse(R"({"conf_loss": "focal", "ohem_negpos_ratio": 3,
      "focal_loss_alpha": 0.25, "focal_loss_gamma": 2, "lr": 0.001, "batch_size": 16,
      "pos_threshold": 0.5, "neg_threshold": 0.4})"));
}

TEST_F(SharedSampleTest, RollbackForkSetsThresholdsAndBoxLoss) {
  const auto& e = result_.evaluations[3];
  EXPECT_EQ(e.run_name, "tuning-diary-4");
  EXPECT_EQ(e.checkpoint, "step0209000-ep015-loss4.511");
  EXPECT_EQ(e.parent_checkpoint, "step0200000-ep014-loss4.902");
  EXPECT_EQ(e.config["pos_threshold"], 0.6);
  EXPECT_EQ(e.config["neg_threshold"], 0.3);
  EXPECT_EQ(e.config["box_loss"], "ciou");
  EXPECT_EQ(e.config["conf_loss"], "ohem");
}

TEST_F(SharedSampleTest, SameCheckpointIsAReScoringOfTheFocalRun) {
  const auto& e = result_.evaluations[4];
  EXPECT_EQ(e.run_name, "tuning-diary-3");
  EXPECT_FALSE(e.new_run);
  EXPECT_EQ(e.checkpoint, "step0215000-ep015-loss1.377");
  EXPECT_EQ(e.eval.score_threshold, 0.005);
  EXPECT_EQ(e.eval.top_k, 100);
  EXPECT_EQ(e.config, result_.evaluations[2].config);
  // The earlier evaluations keep 0.05: they must not be ranked against this one.
  EXPECT_EQ(result_.evaluations[2].eval.score_threshold, 0.05);
}

TEST(DiaryParserTest, AnySpacingAndNoHeading) {
  std::string text = Block(kA, "") + "\n" + Block(kA, "\t   ");
  // Squeeze spaces in the second block.
  std::string squeezed;
  for (char c : Block(kA, "")) {
    if (c != ' ' || (squeezed.size() > 0 && squeezed.back() != ' ')) squeezed += c;
  }
  auto r = ParseDiary(text + "\n" + squeezed, "x.txt");
  ASSERT_EQ(r.evaluations.size(), 3u);
  EXPECT_TRUE(r.skipped.empty());
  EXPECT_DOUBLE_EQ(r.evaluations[2].stats[7], 0.8);
}

TEST(DiaryParserTest, BackToBackBlocksSplitAtTheAPLine) {
  auto r = ParseDiary(Block(kA) + Block(kA), "x.txt");
  ASSERT_EQ(r.evaluations.size(), 2u);
  EXPECT_EQ(r.evaluations[1].line, 13);
}

TEST(DiaryParserTest, TruncatedBlockFollowedByCompleteOneReportsTruncatedLine) {
  std::string b = Block(kA);
  std::string first_three = b.substr(0, b.find('\n', b.find('\n', b.find('\n') + 1) + 1) + 1);
  auto r = ParseDiary("notes\n" + first_three + b, "x.txt");
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_EQ(r.skipped[0].line, 2);
  EXPECT_NE(r.skipped[0].reason.find("3 of 12"), std::string::npos);
  ASSERT_EQ(r.evaluations.size(), 1u);
  EXPECT_EQ(r.evaluations[0].line, 5);
}

TEST(DiaryParserTest, UnreadableValueIsSkippedWithItsLine) {
  std::string b = Block(kA);
  size_t pos = b.find("0.400");
  b.replace(pos, 5, "0.4x0");
  auto r = ParseDiary("step0000100-ep001-loss1.000.pt\n" + b, "x.txt");
  EXPECT_TRUE(r.evaluations.empty());
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_EQ(r.skipped[0].line, 2);
  EXPECT_NE(r.skipped[0].reason.find("line 5: cannot read the value '0.4x0' of APs"),
            std::string::npos)
      << r.skipped[0].reason;
}

TEST(DiaryParserTest, OutOfOrderLineIsSkipped) {
  std::string b = Block(kA);
  // Drop the AP75 line.
  size_t s = b.find("IoU=0.75");
  size_t line_start = b.rfind('\n', s) + 1;
  b.erase(line_start, b.find('\n', s) + 1 - line_start);
  auto r = ParseDiary(b, "x.txt");
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_NE(r.skipped[0].reason.find("line 3: expected the AP75 line, found APs"),
            std::string::npos)
      << r.skipped[0].reason;
}

TEST(DiaryParserTest, KeyValueAndProseSettings) {
  auto s = RecogniseSettings(
      "pos_threshold = 0.6\nneg_threshold=0.3\nlearning rate 2e-3, batch size 8.\n"
      "focal loss（focal_loss_alpha=0.25，focal_loss_gamma=2）\nNMS IoU 0.5, top_k 200\n");
  EXPECT_EQ(s.config, nlohmann::json::parse(R"({"pos_threshold": 0.6, "neg_threshold": 0.3,
      "lr": 0.002, "batch_size": 8, "conf_loss": "focal", "focal_loss_alpha": 0.25,
      "focal_loss_gamma": 2})"));
  EXPECT_EQ(s.eval, nlohmann::json::parse(R"({"nms_iou": 0.5, "top_k": 200})"));
}

TEST(DiaryParserTest, LossNames) {
  EXPECT_EQ(RecogniseSettings("switched to ghm_c").config["conf_loss"], "ghm_c");
  EXPECT_EQ(RecogniseSettings("conf_loss = ce").config["conf_loss"], "ce");
  EXPECT_EQ(RecogniseSettings("plain CE loss").config["conf_loss"], "ce");
  EXPECT_EQ(RecogniseSettings("switched from ohem to focal").config["conf_loss"], "focal");
  EXPECT_EQ(RecogniseSettings("box loss: giou_loss").config["box_loss"], "giou");
  // "ce" inside words is not a loss name.
  EXPECT_EQ(RecogniseSettings("once more, since it is nice").config, nlohmann::json::object());
}

TEST(DiaryParserTest, ChineseResumeMeansParent) {
  std::string text = "step0000100-ep001-loss2.000.pt\n" + Block(kA) +
                     "\n从 step0000100 继续训练，lr 0.01\nstep0000200-ep002-loss1.500\n" +
                     Block(kA);
  auto r = ParseDiary(text, "/tmp/notes.md");
  ASSERT_EQ(r.evaluations.size(), 2u);
  EXPECT_EQ(r.evaluations[0].run_name, "notes-1");
  EXPECT_EQ(r.evaluations[1].run_name, "notes-2");
  EXPECT_EQ(r.evaluations[1].parent_checkpoint, "step0000100-ep001-loss2.000");
  EXPECT_EQ(r.evaluations[1].checkpoint, "step0000200-ep002-loss1.500");
  EXPECT_EQ(r.evaluations[1].config, nlohmann::json::parse(R"({"lr": 0.01})"));
}

TEST(DiaryParserTest, UnknownParentIsLeftForTheServer) {
  auto r = ParseDiary("Rolled back to step0999999, lr 0.1\nstep1000000-ep1-loss1\n" + Block(kA),
                      "n.txt");
  ASSERT_EQ(r.evaluations.size(), 1u);
  EXPECT_EQ(r.evaluations[0].parent_checkpoint, "step0999999");
  EXPECT_TRUE(r.evaluations[0].new_run);
}

TEST(DiaryParserTest, SegmBlockAfterBboxBlockIsSameCheckpoint) {
  std::string text = "step0000100-ep001-loss2.000.pt\nEvaluate annotation type *bbox*\n" +
                     Block(kA) + "Evaluate annotation type *segm*\n" + Block(kA);
  auto r = ParseDiary(text, "n.txt");
  ASSERT_EQ(r.evaluations.size(), 2u);
  EXPECT_EQ(r.evaluations[0].eval.iou_type, "bbox");
  EXPECT_EQ(r.evaluations[1].eval.iou_type, "segm");
  EXPECT_EQ(r.evaluations[1].run_name, r.evaluations[0].run_name);
  EXPECT_EQ(r.evaluations[1].checkpoint, r.evaluations[0].checkpoint);
  EXPECT_FALSE(r.evaluations[1].new_run);
}

TEST(DiaryParserTest, CheckpointNames) {
  auto c = ParseCheckpointName("step1066300-ep073-loss5.715.pth");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->name, "step1066300-ep073-loss5.715");
  EXPECT_EQ(c->step, 1066300);
  EXPECT_EQ(c->epoch, 73);
  EXPECT_DOUBLE_EQ(*c->loss, 5.715);
  EXPECT_TRUE(c->complete());
  auto partial = ParseCheckpointName("step0200000");
  ASSERT_TRUE(partial.has_value());
  EXPECT_FALSE(partial->complete());
  EXPECT_FALSE(ParseCheckpointName("steps").has_value());
  EXPECT_FALSE(ParseCheckpointName("step12-ep1-lossx").has_value());
}

TEST(DiaryParserTest, CrLfAndEmptyInput) {
  std::string b = Block(kA);
  std::string crlf;
  for (char c : b) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  auto r = ParseDiary(crlf, "x.txt");
  EXPECT_EQ(r.evaluations.size(), 1u);
  auto empty = ParseDiary("", "x.txt");
  EXPECT_TRUE(empty.evaluations.empty());
  EXPECT_TRUE(empty.skipped.empty());
}

}  // namespace
}  // namespace ablate::diary
