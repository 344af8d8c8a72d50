#include "diary/diary_parser.h"

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
constexpr CocoStats kB = {0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.1, 0.21, 0.22, 0.23};
constexpr CocoStats kC = {0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.1, 0.2, 0.31, 0.32, 0.33};

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
  std::string text = Block(kA, "") + "\nstep0000200\n" + Block(kB, "\t   ");
  // Squeeze spaces in the third block.
  std::string squeezed;
  for (char c : Block(kC, "")) {
    if (c != ' ' || (squeezed.size() > 0 && squeezed.back() != ' ')) squeezed += c;
  }
  auto r = ParseDiary(text + "\nstep0000300\n" + squeezed, "x.txt");
  ASSERT_EQ(r.evaluations.size(), 3u);
  EXPECT_TRUE(r.skipped.empty());
  EXPECT_DOUBLE_EQ(r.evaluations[1].stats[7], 0.9);
  EXPECT_DOUBLE_EQ(r.evaluations[2].stats[7], 0.1);
}

TEST(DiaryParserTest, BackToBackBlocksSplitAtTheAPLine) {
  auto r = ParseDiary(Block(kA) + Block(kB), "x.txt");
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
                     Block(kA) + "Evaluate annotation type *segm*\n" + Block(kB);
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

// ---- Diaries written the way users write them (diary/testdata, hand-made) ----
// Line numbers and values below were read from the fixture files by hand (grep -n).

DiaryParseResult ParseFixture(const std::string& name, const DiaryParseOptions& options = {}) {
  auto text = ReadFile("diary/testdata/" + name);
  EXPECT_TRUE(text.ok()) << text.status();
  return ParseDiary(text.ok() ? *text : "", name, options);
}

std::vector<int> Lines(const DiaryParseResult& r) {
  std::vector<int> out;
  for (const auto& e : r.evaluations) out.push_back(e.line);
  return out;
}

std::vector<int> SkippedLines(const DiaryParseResult& r) {
  std::vector<int> out;
  for (const auto& s : r.skipped) out.push_back(s.line);
  return out;
}

// Chinese prose, CRLF, full-width punctuation, tabs, .pdparams names, a fork right after the
// checkpoint it forks (the import used to abort on this), a malformed table, a table pasted twice.
TEST(ChineseDiaryTest, EveryBlockIsStoredOrSkippedWithItsLine) {
  auto r = ParseFixture("paddle-diary-zh.txt");
  EXPECT_EQ(Lines(r), (std::vector<int>{17, 34, 48, 63, 76, 106}));
  ASSERT_EQ(SkippedLines(r), (std::vector<int>{91, 119}));
  EXPECT_EQ(r.skipped[0].reason, "line 95: cannot read the value '0.3l2' of APm");
  EXPECT_EQ(r.skipped[1].reason, "the same table as line 106 (pasted twice); nothing new stored");
}

TEST(ChineseDiaryTest, BaselineBboxAndSegmOfOneCheckpoint) {
  auto r = ParseFixture("paddle-diary-zh.txt");
  ASSERT_EQ(r.evaluations.size(), 6u);
  const auto& bbox = r.evaluations[0];
  EXPECT_EQ(bbox.run_name, "paddle-diary-zh-1");
  EXPECT_TRUE(bbox.new_run);
  EXPECT_EQ(bbox.checkpoint, "step1066300-ep073-loss5.715");
  EXPECT_EQ(bbox.checkpoint_file, "step1066300-ep073-loss5.715.pdparams");
  EXPECT_EQ(bbox.eval.iou_type, "bbox");
  EXPECT_EQ(bbox.eval.score_threshold, 0.05);
  EXPECT_EQ(bbox.eval.top_k, 200);
  EXPECT_EQ(bbox.config, nlohmann::json::parse(R"({"conf_loss": "ohem", "ohem_negpos_ratio": 3,
      "lr": 0.001, "batch_size": 8, "pos_threshold": 0.5, "neg_threshold": 0.4})"));
  EXPECT_DOUBLE_EQ(bbox.stats[0], 0.298);
  const auto& segm = r.evaluations[1];
  EXPECT_EQ(segm.run_name, "paddle-diary-zh-1");
  EXPECT_FALSE(segm.new_run);
  EXPECT_EQ(segm.checkpoint, "step1066300-ep073-loss5.715");
  EXPECT_EQ(segm.eval.iou_type, "segm");
  EXPECT_DOUBLE_EQ(segm.stats[0], 0.281);
}

TEST(ChineseDiaryTest, RollbackRightAfterTheCheckpointIsAForkWithTheChangedLoss) {
  auto r = ParseFixture("paddle-diary-zh.txt");
  ASSERT_EQ(r.evaluations.size(), 6u);
  const auto& e = r.evaluations[2];
  EXPECT_EQ(e.run_name, "paddle-diary-zh-3");
  EXPECT_TRUE(e.new_run);
  EXPECT_EQ(e.parent_checkpoint, "step1066300-ep073-loss5.715");
  EXPECT_FALSE(e.checkpoint.has_value());
  EXPECT_EQ(e.eval.iou_type, "bbox");
  EXPECT_EQ(e.config, nlohmann::json::parse(R"({"conf_loss": "focal", "ohem_negpos_ratio": 3,
      "focal_loss_alpha": 0.25, "focal_loss_gamma": 2, "lr": 0.001, "batch_size": 8,
      "pos_threshold": 0.5, "neg_threshold": 0.4})"));
  EXPECT_DOUBLE_EQ(e.stats[0], 0.305);
}

TEST(ChineseDiaryTest, ContinueTrainingWithChangedLrAndUnlabelledSegmTable) {
  auto r = ParseFixture("paddle-diary-zh.txt");
  ASSERT_EQ(r.evaluations.size(), 6u);
  const auto& e = r.evaluations[3];
  EXPECT_EQ(e.run_name, "paddle-diary-zh-4");
  EXPECT_EQ(e.parent_checkpoint, "step1066300-ep073-loss5.715");
  EXPECT_EQ(e.checkpoint, "step1150000-ep079-loss5.102");
  EXPECT_EQ(e.config["lr"], 0.0005);  // "学习率 0.001 改成 0.0005": the new value
  EXPECT_EQ(e.config["conf_loss"], "ohem");
  EXPECT_EQ(e.eval.iou_type, "bbox");
  // The table pasted right after it with nothing between: its segm table.
  const auto& segm = r.evaluations[4];
  EXPECT_EQ(segm.run_name, "paddle-diary-zh-4");
  EXPECT_EQ(segm.checkpoint, "step1150000-ep079-loss5.102");
  EXPECT_EQ(segm.eval.iou_type, "segm");
  // "同一个 checkpoint ...，分数阈值降到 0.01": a re-scoring of that run.
  const auto& rescored = r.evaluations[5];
  EXPECT_EQ(rescored.run_name, "paddle-diary-zh-4");
  EXPECT_FALSE(rescored.new_run);
  EXPECT_EQ(rescored.checkpoint, "step1150000-ep079-loss5.102");
  EXPECT_EQ(rescored.eval.score_threshold, 0.01);
  EXPECT_EQ(rescored.eval.iou_type, "bbox");
}

// English prose in markdown: "fork from that checkpoint" after the same checkpoint name,
// "continue from", "start from", "roll back to", a conflicting table and a broken one.
TEST(EnglishDiaryTest, EveryBlockIsStoredOrSkippedWithItsLine) {
  auto r = ParseFixture("paddle-notes-en.md");
  EXPECT_EQ(Lines(r), (std::vector<int>{9, 22, 38, 54, 68, 84, 112}));
  ASSERT_EQ(SkippedLines(r), (std::vector<int>{97, 126, 140}));
  EXPECT_EQ(r.skipped[0].reason, "the same table as line 84 (pasted twice); nothing new stored");
  EXPECT_NE(r.skipped[1].reason.find("conflicts with line 84: another bbox table of "
                                     "step0530000-ep037-loss5.990 with the same eval settings"),
            std::string::npos)
      << r.skipped[1].reason;
  EXPECT_EQ(r.skipped[2].reason, "line 147: cannot read the value 'n/a' of AR10");
}

TEST(EnglishDiaryTest, ForkFromThatCheckpointIsANewRunNotAnotherEvaluation) {
  auto r = ParseFixture("paddle-notes-en.md");
  ASSERT_EQ(r.evaluations.size(), 7u);
  const auto& base = r.evaluations[0];
  EXPECT_EQ(base.config, nlohmann::json::parse(R"({"conf_loss": "ohem", "box_loss": "smooth_l1",
      "lr": 0.001, "batch_size": 16, "pos_threshold": 0.5, "neg_threshold": 0.4})"));
  EXPECT_EQ(r.evaluations[1].eval.iou_type, "segm");  // "mask AP:"
  EXPECT_EQ(r.evaluations[1].run_name, "paddle-notes-en-1");
  const auto& fork = r.evaluations[2];
  EXPECT_EQ(fork.run_name, "paddle-notes-en-3");
  EXPECT_TRUE(fork.new_run);
  EXPECT_EQ(fork.parent_checkpoint, "step0500000-ep035-loss6.120");
  EXPECT_FALSE(fork.checkpoint.has_value());
  EXPECT_EQ(fork.config["conf_loss"], "focal");
  EXPECT_EQ(fork.config["focal_loss_alpha"], 0.25);
  EXPECT_EQ(fork.config["focal_loss_gamma"], 2.0);
  EXPECT_EQ(fork.config["box_loss"], "smooth_l1");
}

TEST(EnglishDiaryTest, ContinueStartAndRollBackFork) {
  auto r = ParseFixture("paddle-notes-en.md");
  ASSERT_EQ(r.evaluations.size(), 7u);
  const auto& cont = r.evaluations[3];
  EXPECT_EQ(cont.run_name, "paddle-notes-en-4");
  EXPECT_EQ(cont.parent_checkpoint, "step0500000-ep035-loss6.120");
  EXPECT_EQ(cont.checkpoint, "step0560000-ep039-loss5.880");
  EXPECT_EQ(cont.config["lr"], 0.0005);
  EXPECT_EQ(cont.config["batch_size"], 32);
  EXPECT_EQ(cont.config["conf_loss"], "ohem");
  const auto& start = r.evaluations[4];
  EXPECT_EQ(start.run_name, "paddle-notes-en-5");
  EXPECT_EQ(start.parent_checkpoint, "step0560000-ep039-loss5.880");
  EXPECT_EQ(start.config["neg_threshold"], 0.3);
  EXPECT_EQ(start.config["lr"], 0.0005);
  EXPECT_EQ(start.eval.iou_type, "bbox");
  const auto& ghm = r.evaluations[5];
  EXPECT_EQ(ghm.run_name, "paddle-notes-en-6");
  EXPECT_EQ(ghm.parent_checkpoint, "step0500000-ep035-loss6.120");
  EXPECT_EQ(ghm.checkpoint, "step0530000-ep037-loss5.990");
  EXPECT_EQ(ghm.config["conf_loss"], "ghm_c");
  EXPECT_EQ(ghm.config["lr"], 0.001);
  const auto& segm = r.evaluations[6];
  EXPECT_EQ(segm.run_name, "paddle-notes-en-6");
  EXPECT_EQ(segm.checkpoint, "step0530000-ep037-loss5.990");
  EXPECT_EQ(segm.eval.iou_type, "segm");
  EXPECT_DOUBLE_EQ(segm.stats[0], 0.251);
}

TEST(DiaryParserTest, IouOptionSetsUnlabelledTables) {
  auto plain = ParseFixture("unlabelled-tables.txt");
  ASSERT_EQ(plain.evaluations.size(), 2u);
  EXPECT_EQ(plain.evaluations[0].eval.iou_type, "bbox");
  EXPECT_EQ(plain.evaluations[1].eval.iou_type, "bbox");
  DiaryParseOptions segm;
  segm.default_iou_type = "segm";
  auto r = ParseFixture("unlabelled-tables.txt", segm);
  ASSERT_EQ(r.evaluations.size(), 2u);
  EXPECT_EQ(r.evaluations[0].eval.iou_type, "segm");
  EXPECT_EQ(r.evaluations[1].eval.iou_type, "segm");
  EXPECT_EQ(r.evaluations[1].checkpoint, "step0001600-ep002-loss2.900");
  // The text wins over the option.
  auto said = ParseDiary("Evaluate annotation type *bbox*\n" + Block(kA), "x.txt", segm);
  ASSERT_EQ(said.evaluations.size(), 1u);
  EXPECT_EQ(said.evaluations[0].eval.iou_type, "bbox");
}

TEST(DiaryParserTest, SameNameAgainWithATrainingChangeIsAFork) {
  // No fork words, but a re-evaluation cannot change the loss.
  std::string text = "step0000100-ep001-loss2.000.pt\n" + Block(kA) +
                     "\nconf_loss 改成 focal\nstep0000100-ep001-loss2.000.pt\n" + Block(kB);
  auto r = ParseDiary(text, "n.txt");
  ASSERT_EQ(r.evaluations.size(), 2u);
  EXPECT_TRUE(r.evaluations[1].new_run);
  EXPECT_EQ(r.evaluations[1].run_name, "n-2");
  EXPECT_EQ(r.evaluations[1].parent_checkpoint, "step0000100-ep001-loss2.000");
  EXPECT_EQ(r.evaluations[1].config, nlohmann::json::parse(R"({"conf_loss": "focal"})"));
}

TEST(DiaryParserTest, ChineseForkOfThisCheckpointWithoutName) {
  std::string text =
      "step0000100-ep001-loss2.000\n" + Block(kA) +
      "\n在这个checkpoint的基础上把 box loss 换成 giou\nstep0000300-ep003-loss1.200\n" + Block(kB) +
      "\n基于 step0000300-ep003-loss1.200 继续，从 ohem 改成 focal\n" + Block(kC);
  auto r = ParseDiary(text, "n.txt");
  ASSERT_EQ(r.evaluations.size(), 3u);
  EXPECT_EQ(r.evaluations[1].parent_checkpoint, "step0000100-ep001-loss2.000");
  EXPECT_EQ(r.evaluations[1].checkpoint, "step0000300-ep003-loss1.200");
  EXPECT_EQ(r.evaluations[1].config["box_loss"], "giou");
  EXPECT_EQ(r.evaluations[2].parent_checkpoint, "step0000300-ep003-loss1.200");
  EXPECT_EQ(r.evaluations[2].config["conf_loss"], "focal");
  EXPECT_EQ(r.evaluations[2].config["box_loss"], "giou");
}

TEST(DiaryParserTest, ChangedValueAfterArrowOrTo) {
  auto s =
      RecogniseSettings("lr 0.001 -> 0.0005, pos_threshold: 0.5 → 0.6, 负样本阈值 0.4 改为 0.3");
  EXPECT_EQ(s.config,
            nlohmann::json::parse(R"({"lr": 0.0005, "pos_threshold": 0.6, "neg_threshold": 0.3})"));
}

// Issue 14 regression: two tables after one checkpoint name, the second after "fork from that
// checkpoint and change the loss", used to be read as two evaluations of that checkpoint and the
// import aborted on the conflict. The second is a new run forked from it.
TEST(DiaryParserTest, Issue14ForkFromThatCheckpointAfterItsTableIsANewRun) {
  for (const std::string& again : {std::string(""), std::string("step1066300-ep073-loss5.715\n")}) {
    std::string text = "step1066300-ep073-loss5.715\n" + Block(kA) +
                       "fork from that checkpoint and change the loss\n" + again + Block(kB);
    auto r = ParseDiary(text, "d.txt");
    ASSERT_EQ(r.evaluations.size(), 2u) << again;
    EXPECT_TRUE(r.skipped.empty());
    EXPECT_EQ(r.evaluations[1].run_name, "d-2");
    EXPECT_TRUE(r.evaluations[1].new_run);
    EXPECT_EQ(r.evaluations[1].parent_checkpoint, "step1066300-ep073-loss5.715");
    EXPECT_FALSE(r.evaluations[1].checkpoint.has_value());
    EXPECT_EQ(r.evaluations[1].eval.iou_type, "bbox");
  }
}

TEST(DiaryParserTest, EvalScriptLoadingLineNamesTheEvaluatedCheckpointNotAParent) {
  std::string text = "Loading weights from output/yolact/step0000100-ep001-loss2.000.pdparams\n" +
                     Block(kA) + "Loading weights from step0000200-ep002-loss1.900.pdparams\n" +
                     Block(kB) + "从 step0000300-ep003-loss1.800 加载权重评估\n" + Block(kC);
  auto r = ParseDiary(text, "n.txt");
  ASSERT_EQ(r.evaluations.size(), 3u);
  EXPECT_EQ(r.evaluations[0].checkpoint, "step0000100-ep001-loss2.000");
  EXPECT_FALSE(r.evaluations[0].parent_checkpoint.has_value());
  EXPECT_EQ(r.evaluations[1].checkpoint, "step0000200-ep002-loss1.900");
  EXPECT_FALSE(r.evaluations[1].parent_checkpoint.has_value());
  EXPECT_EQ(r.evaluations[2].checkpoint, "step0000300-ep003-loss1.800");
  EXPECT_FALSE(r.evaluations[2].parent_checkpoint.has_value());
  // A directory before the name is not prose: "init_from/" is not "init ... from".
  auto dir = ParseDiary("checkpoint: init_from/step0000100-ep001-loss2.000.pt\n" + Block(kA), "n");
  ASSERT_EQ(dir.evaluations.size(), 1u);
  EXPECT_EQ(dir.evaluations[0].checkpoint, "step0000100-ep001-loss2.000");
  // "start from X" (no loading words) is still a fork; "ghm" alone is ghm_c.
  auto fork = ParseDiary("step0000100-ep001-loss2.000\n" + Block(kA) +
                             "start from step0000100-ep001-loss2.000 with ghm\n" + Block(kB),
                         "n");
  ASSERT_EQ(fork.evaluations.size(), 2u);
  EXPECT_EQ(fork.evaluations[1].parent_checkpoint, "step0000100-ep001-loss2.000");
  EXPECT_EQ(fork.evaluations[1].config["conf_loss"], "ghm_c");
}

TEST(DiaryParserTest, SegmTableAfterBboxTableInsideMarkdownFencesAndScriptLines) {
  std::string text = "```\n[eval] checkpoint: output/step0000100-ep001-loss2.000.pdparams\n" +
                     Block(kA) + "```\n\n```\n" + Block(kB) + "```\n";
  auto r = ParseDiary(text, "n.md");
  ASSERT_EQ(r.evaluations.size(), 2u);
  EXPECT_EQ(r.evaluations[1].run_name, r.evaluations[0].run_name);
  EXPECT_EQ(r.evaluations[1].checkpoint, "step0000100-ep001-loss2.000");
  EXPECT_EQ(r.evaluations[1].eval.iou_type, "segm");
}

TEST(DiaryParserTest, TablePastedTwiceUnderItsNameAgainIsADuplicateNotItsSegmTable) {
  std::string text =
      "step0000100-ep001-loss2.000\n" + Block(kA) + "\nstep0000100-ep001-loss2.000\n" + Block(kA);
  auto r = ParseDiary(text, "n.txt");
  ASSERT_EQ(r.evaluations.size(), 1u);
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_EQ(r.skipped[0].line, 16);
  EXPECT_EQ(r.skipped[0].reason, "the same table as line 2 (pasted twice); nothing new stored");
}

}  // namespace
}  // namespace ablate::diary
