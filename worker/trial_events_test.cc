#include "worker/trial_events.h"

#include <gtest/gtest.h>

namespace ablate::worker {
namespace {

TEST(TrialEventsTest, ParsesMetrics) {
  auto e = ParseTrialEvent(
      R"({"event":"metrics","step":120,"values":{"loss":4.5,"loss_box":1.25,"lr":0.001}})");
  ASSERT_TRUE(e.ok()) << e.status();
  const auto& m = std::get<MetricsEvent>(*e);
  EXPECT_EQ(m.step, 120);
  EXPECT_EQ(m.values.at("loss_box"), 1.25);
  EXPECT_EQ(m.values.size(), 3u);
}

TEST(TrialEventsTest, ParsesCheckpointAndDiverged) {
  auto c = ParseTrialEvent(
      R"({"event":"checkpoint","name":"step0000200-ep003-loss4.123","path":"/tmp/c.pt",)"
      R"("step":200,"epoch":3,"loss":4.123,"sha256":"ab","bytes":10})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(std::get<CheckpointEvent>(*c).name, "step0000200-ep003-loss4.123");
  EXPECT_EQ(std::get<CheckpointEvent>(*c).epoch, 3);
  auto d = ParseTrialEvent(
      R"({"event":"diverged","step":77,"reason":"loss is nan","last_checkpoint":null})");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_FALSE(std::get<DivergedEvent>(*d).last_checkpoint.has_value());
}

TEST(TrialEventsTest, EvaluationNeedsAllTwelveStats) {
  EvaluationEvent e;
  e.checkpoint = "step0000600-ep010-loss2.000";
  e.iou_type = "segm";
  for (int i = 0; i < kNumCocoStats; ++i) e.stats[i] = 0.01 * i;
  e.per_category = {{1, "circle", 0.5}, {2, "square", -1}};
  e.dataset_fingerprint = "sha256:00";
  e.score_threshold = 0.05;
  e.top_k = 100;
  e.nms_iou = 0.5;
  e.max_dets = 100;
  std::string line = FormatTrialEvent(e);
  auto back = ParseTrialEvent(line);
  ASSERT_TRUE(back.ok()) << back.status();
  const auto& b = std::get<EvaluationEvent>(*back);
  EXPECT_EQ(b.stats, e.stats);
  EXPECT_EQ(b.per_category.size(), 2u);
  EXPECT_EQ(b.per_category[1].name, "square");
  EXPECT_EQ(b.top_k, 100);

  std::string without_arl = line;
  without_arl.replace(without_arl.find("\"ARl\""), 5, "\"ARx\"");
  auto bad = ParseTrialEvent(without_arl);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("'ARl'"), std::string::npos);
}

TEST(TrialEventsTest, RejectsGarbageWithAClearMessage) {
  auto a = ParseTrialEvent("Loading weights...");
  EXPECT_NE(std::string(a.status().message()).find("not a JSON object"), std::string::npos);
  auto b = ParseTrialEvent(R"({"event":"explode"})");
  EXPECT_NE(std::string(b.status().message()).find("unknown trial event 'explode'"),
            std::string::npos);
  auto c = ParseTrialEvent(R"({"event":"metrics","step":"x","values":{}})");
  EXPECT_NE(std::string(c.status().message()).find("'step' missing or not an integer"),
            std::string::npos);
  auto d = ParseTrialEvent(R"({"event":"metrics","step":1,"values":{"loss":"nan"}})");
  EXPECT_NE(std::string(d.status().message()).find("not a finite number"), std::string::npos);
}

TEST(TrialEventsTest, RoundTripsEveryKind) {
  std::vector<TrialEvent> events = {
      StartedEvent{600, 900, true, false, false},
      MetricsEvent{10, {{"loss", 1.5}}},
      CheckpointEvent{"step0000010-ep000-loss1.500", "/x", 10, 0, 1.5, "ff", 99},
      DivergedEvent{11, "non-finite loss", std::string("step0000010-ep000-loss1.500")},
      FinishedEvent{"succeeded", std::string("step0000010-ep000-loss1.500")},
  };
  for (const auto& e : events) {
    auto back = ParseTrialEvent(FormatTrialEvent(e));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->index(), e.index());
    EXPECT_EQ(FormatTrialEvent(*back), FormatTrialEvent(e));
  }
}

}  // namespace
}  // namespace ablate::worker
