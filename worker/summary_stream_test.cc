#include "worker/summary_stream.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/sha256.h"
#include "common/testing/fresh_temp_dir.h"

namespace ablate::worker {
namespace {

namespace fs = std::filesystem;
using protocol::CheckpointEvent;
using protocol::EvaluationEvent;
using protocol::MetricsEvent;
using protocol::TrialEvent;

// What pycocotools' COCOeval.summarize() prints (its format string), with these 12 values.
std::string Table(const std::array<double, 12>& v, const std::string& prefix = "") {
  const char* rows[12][4] = {
      {"Precision", "AP", "0.50:0.95", "   all"}, {"Precision", "AP", "0.50     ", "   all"},
      {"Precision", "AP", "0.75     ", "   all"}, {"Precision", "AP", "0.50:0.95", " small"},
      {"Precision", "AP", "0.50:0.95", "medium"}, {"Precision", "AP", "0.50:0.95", " large"},
      {"Recall   ", "AR", "0.50:0.95", "   all"}, {"Recall   ", "AR", "0.50:0.95", "   all"},
      {"Recall   ", "AR", "0.50:0.95", "   all"}, {"Recall   ", "AR", "0.50:0.95", " small"},
      {"Recall   ", "AR", "0.50:0.95", "medium"}, {"Recall   ", "AR", "0.50:0.95", " large"}};
  const int dets[12] = {100, 100, 100, 100, 100, 100, 1, 10, 100, 100, 100, 100};
  std::string out;
  for (int i = 0; i < 12; ++i) {
    char line[160];
    std::snprintf(line, sizeof(line),
                  " Average %s  (%s) @[ IoU=%s | area=%s | maxDets=%3d ] = %0.3f", rows[i][0],
                  rows[i][1], rows[i][2], rows[i][3], dets[i], v[i]);
    out += prefix + line + "\n";
  }
  return out;
}

class SummaryStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ablate::testing::FreshTempDirForTest("summary_");
    fs::create_directories(dir_ / "weights");
  }

  std::vector<TrialEvent> Feed(SummaryStreamReader& reader, const std::string& text) {
    std::vector<TrialEvent> all;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      for (auto& e : reader.OnLine(line)) all.push_back(std::move(e));
    }
    return all;
  }
  SummaryStreamOptions Options(const std::string& iou = "bbox") {
    SummaryStreamOptions o;
    o.default_iou = iou;
    o.trial_dir = dir_;
    o.dataset_fingerprint = "sha256:abc";
    o.score_threshold = 0.05;
    return o;
  }
  fs::path dir_;
};

TEST_F(SummaryStreamTest, TablesCheckpointsAndMetricsOfATrainingLog) {
  std::ofstream(dir_ / "weights" / "step0000200-ep002-loss4.123.pdparams") << "weights!";
  SummaryStreamReader reader(Options());
  const std::string log =
      "[2026-12-01 10:00:01] epoch 1 iter: 100/400 loss: 5.500 lr: 1.0e-03\n"
      "[2026-12-01 10:00:02] epoch 2 iter: 200/400 loss: 4.123 lr: 1.0e-03\n"
      "Saving weights/step0000200-ep002-loss4.123.pdparams\n"
      "Evaluate annotation type *bbox*\n" +
      Table({0.312, 0.55, 0.3, 0.1, 0.35, 0.45, 0.28, 0.4, 0.42, 0.2, 0.45, 0.55}) +
      "Evaluate annotation type *segm*\n\n" +
      Table({0.29, 0.52, 0.28, 0.08, 0.31, 0.47, 0.27, 0.39, 0.41, 0.19, 0.44, 0.56}) + "done.\n";
  const auto events = Feed(reader, log);
  ASSERT_EQ(events.size(), 5u);
  const auto& m1 = std::get<MetricsEvent>(events[0]);
  EXPECT_EQ(m1.step, 100);
  EXPECT_EQ(m1.values.at("loss"), 5.5);
  EXPECT_EQ(m1.values.at("lr"), 1.0e-3);
  EXPECT_EQ(std::get<MetricsEvent>(events[1]).step, 200);

  const auto& ck = std::get<CheckpointEvent>(events[2]);
  EXPECT_EQ(ck.name, "step0000200-ep002-loss4.123");
  EXPECT_EQ(ck.step, 200);
  EXPECT_EQ(ck.epoch, 2);
  EXPECT_DOUBLE_EQ(ck.loss, 4.123);
  EXPECT_EQ(ck.path, (dir_ / "weights" / "step0000200-ep002-loss4.123.pdparams").string());
  EXPECT_EQ(ck.bytes, 8);
  EXPECT_EQ(ck.sha256, Sha256Hex("weights!"));

  const auto& bbox = std::get<EvaluationEvent>(events[3]);
  EXPECT_EQ(bbox.iou_type, "bbox");
  EXPECT_EQ(bbox.checkpoint, "step0000200-ep002-loss4.123");
  EXPECT_DOUBLE_EQ(bbox.stats[0], 0.312);
  EXPECT_DOUBLE_EQ(bbox.stats[6], 0.28);  // AR@1
  EXPECT_DOUBLE_EQ(bbox.stats[11], 0.55);
  EXPECT_EQ(bbox.max_dets, 100);
  EXPECT_EQ(bbox.dataset_fingerprint, "sha256:abc");
  EXPECT_DOUBLE_EQ(bbox.score_threshold, 0.05);
  const auto& segm = std::get<EvaluationEvent>(events[4]);
  EXPECT_EQ(segm.iou_type, "segm");
  EXPECT_DOUBLE_EQ(segm.stats[0], 0.29);
  EXPECT_EQ(reader.tables(), 2);
  EXPECT_EQ(reader.last_checkpoint(), "step0000200-ep002-loss4.123");
}

TEST_F(SummaryStreamTest, TableWithoutWordsIsTheDefaultTypeAndACheckpointIsMadeUp) {
  SummaryStreamReader reader(Options("segm"));
  const auto events = Feed(reader, "step 300 loss 2.0\n" + Table({0.5, 0.6, 0.5, 0.1, 0.2, 0.3, 0.4,
                                                                  0.5, 0.6, 0.1, 0.2, 0.3},
                                                                 "I1201 10:00:00 eval.py:42] "));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(std::get<MetricsEvent>(events[0]).step, 300);
  const auto& ck = std::get<CheckpointEvent>(events[1]);
  EXPECT_EQ(ck.name, "step0000300");  // no name printed: the last step's
  EXPECT_EQ(ck.path, "");             // and no file
  const auto& e = std::get<EvaluationEvent>(events[2]);
  EXPECT_EQ(e.iou_type, "segm");
  EXPECT_EQ(e.checkpoint, "step0000300");
}

TEST_F(SummaryStreamTest, BrokenOrReorderedTableIsDropped) {
  SummaryStreamReader reader(Options());
  std::string table = Table({0.5, 0.6, 0.5, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.1, 0.2, 0.3});
  const size_t sixth = [&] {
    size_t pos = 0;
    for (int i = 0; i < 6; ++i) pos = table.find('\n', pos) + 1;
    return pos;
  }();
  // A log line in the middle of the table.
  const std::string broken = table.substr(0, sixth) + "loading next batch\n" + table.substr(sixth);
  EXPECT_TRUE(Feed(reader, broken).empty());
  // The AR@10 line before AR@1.
  std::vector<std::string> lines;
  std::istringstream in(table);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::swap(lines[6], lines[7]);
  std::string swapped;
  for (const auto& l : lines) swapped += l + "\n";
  EXPECT_TRUE(Feed(reader, swapped).empty());
  EXPECT_EQ(reader.tables(), 0);
  // A whole table after all that is read.
  EXPECT_EQ(Feed(reader, table).size(), 2u);  // made-up checkpoint + evaluation
  EXPECT_EQ(reader.tables(), 1);
}

TEST_F(SummaryStreamTest, CheckpointNamesWithSuffixesRegisterOnceAndFindTheirFile) {
  std::ofstream(dir_ / "step0000400-ep004-loss3.500_model.pth") << "m";
  SummaryStreamReader reader(Options());
  const auto events = Feed(reader,
                           "saved step0000400-ep004-loss3.500 (model + optimizer)\n"
                           "resuming from 'step0000400-ep004-loss3.500.'\n"
                           "no file for step0000500-ep005-loss3.000.\n"
                           "not a name: xstep1-ep1-loss1 step12-ep1\n");
  ASSERT_EQ(events.size(), 2u);
  const auto& a = std::get<CheckpointEvent>(events[0]);
  EXPECT_EQ(a.name, "step0000400-ep004-loss3.500");
  EXPECT_EQ(a.path, (dir_ / "step0000400-ep004-loss3.500_model.pth").string());
  const auto& b = std::get<CheckpointEvent>(events[1]);
  EXPECT_EQ(b.name, "step0000500-ep005-loss3.000");
  EXPECT_EQ(b.step, 500);
  EXPECT_EQ(b.path, "");
  EXPECT_EQ(b.bytes, 0);
}

TEST(FindCheckpointNamesTest, TokenKeepsPathAndSuffix) {
  const auto names = FindCheckpointNames("-> /abs/w/step0001066-ep073-loss5.715.pdparams, ok");
  ASSERT_EQ(names.size(), 1u);
  EXPECT_EQ(names[0].name, "step0001066-ep073-loss5.715");
  EXPECT_EQ(names[0].token, "/abs/w/step0001066-ep073-loss5.715.pdparams");
  EXPECT_EQ(names[0].step, 1066);
  EXPECT_EQ(names[0].epoch, 73);
  EXPECT_DOUBLE_EQ(names[0].loss, 5.715);
}

}  // namespace
}  // namespace ablate::worker
