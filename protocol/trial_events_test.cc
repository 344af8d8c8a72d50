#include "protocol/trial_events.h"

#include <gtest/gtest.h>

namespace ablate::protocol {
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

// The evaluation event as ablate-train writes it since issue 7 (docs/worker-protocol.md).
constexpr char kEvaluationWithOutputs[] =
    R"({"event":"evaluation","checkpoint":"step0000600-ep010-loss2.000","iou_type":"bbox",)"
    R"("stats":{"AP":0.3,"AP50":0.5,"AP75":0.3,"APs":0.1,"APm":0.3,"APl":0.4,"AR1":0.2,)"
    R"("AR10":0.3,"AR100":0.4,"ARs":0.1,"ARm":0.4,"ARl":0.5},"per_category":[],)"
    R"("dataset_fingerprint":"sha256:00","settings":{"score_threshold":0.05,"top_k":100,)"
    R"("nms_iou":0.5,"max_dets":100},"detections":120,"images":40,)"
    R"("detections_per_image_max":9,"results_bytes":48213,)"
    R"("gallery":{"dir":"/work/runs/r1/gallery/step0000600","images":[)"
    R"({"image_id":12,"file":"000012.jpg","bytes":23456,"detections":5},)"
    R"({"image_id":139,"file":"000139.jpg","bytes":19000,"detections":2}],"seed":0}})";

TEST(TrialEventsTest, EvaluationCarriesCountsAndGallery) {
  auto parsed = ParseTrialEvent(kEvaluationWithOutputs);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const auto& e = std::get<EvaluationEvent>(*parsed);
  EXPECT_EQ(e.detections, 120);
  EXPECT_EQ(e.images, 40);
  EXPECT_EQ(e.detections_per_image_max, 9);
  EXPECT_EQ(e.results_bytes, 48213);
  ASSERT_TRUE(e.gallery.has_value());
  EXPECT_EQ(e.gallery->dir, "/work/runs/r1/gallery/step0000600");
  EXPECT_EQ(e.gallery->seed, 0);
  ASSERT_EQ(e.gallery->images.size(), 2u);
  EXPECT_EQ(e.gallery->images[0].image_id, 12);
  EXPECT_EQ(e.gallery->images[0].file, "000012.jpg");
  EXPECT_EQ(e.gallery->images[0].bytes, 23456);
  EXPECT_EQ(e.gallery->images[0].detections, 5);
  EXPECT_EQ(e.gallery->images[1].image_id, 139);
  // Round trip.
  auto back = ParseTrialEvent(FormatTrialEvent(e));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(FormatTrialEvent(*back), FormatTrialEvent(e));
  EXPECT_EQ(std::get<EvaluationEvent>(*back).gallery->images[1].file, "000139.jpg");
}

// Events from ablate-train builds before issue 7: without any of the new fields, and with only
// "detections" and "images" (what the evaluator wrote before the gallery work).
TEST(TrialEventsTest, EvaluationWithoutTheNewFieldsStillParses) {
  std::string line = kEvaluationWithOutputs;
  line = line.substr(0, line.find(",\"detections\":")) + "}";
  auto bare = ParseTrialEvent(line);
  ASSERT_TRUE(bare.ok()) << bare.status() << "\n" << line;
  const auto& b = std::get<EvaluationEvent>(*bare);
  EXPECT_EQ(b.detections, std::nullopt);
  EXPECT_EQ(b.images, std::nullopt);
  EXPECT_EQ(b.results_bytes, std::nullopt);
  EXPECT_FALSE(b.gallery.has_value());
  EXPECT_EQ(FormatTrialEvent(b).find("detections"), std::string::npos);

  auto counts_only =
      ParseTrialEvent(line.substr(0, line.size() - 1) + R"(,"detections":120,"images":40})");
  ASSERT_TRUE(counts_only.ok()) << counts_only.status();
  const auto& c = std::get<EvaluationEvent>(*counts_only);
  EXPECT_EQ(c.detections, 120);
  EXPECT_EQ(c.images, 40);
  EXPECT_EQ(c.detections_per_image_max, std::nullopt);
  EXPECT_FALSE(c.gallery.has_value());
  auto null_gallery = ParseTrialEvent(line.substr(0, line.size() - 1) + R"(,"gallery":null})");
  ASSERT_TRUE(null_gallery.ok()) << null_gallery.status();
  EXPECT_FALSE(std::get<EvaluationEvent>(*null_gallery).gallery.has_value());
}

TEST(TrialEventsTest, BadCountsAndGalleryFilesAreRefused) {
  auto with = [](const std::string& from, const std::string& to) {
    std::string line = kEvaluationWithOutputs;
    const size_t at = line.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    line.replace(at, from.size(), to);
    auto r = ParseTrialEvent(line);
    EXPECT_FALSE(r.ok());
    return std::string(r.status().message());
  };
  EXPECT_EQ(with(R"("detections":120)", R"("detections":-1)"),
            "trial event 'evaluation': field 'detections' missing or not a non-negative integer");
  EXPECT_EQ(with(R"("results_bytes":48213)", R"("results_bytes":"48 KB")"),
            "trial event 'evaluation': field 'results_bytes' missing or not a non-negative "
            "integer");
  EXPECT_EQ(with(R"("dir":"/work/runs/r1/gallery/step0000600")", R"("dir":"gallery")"),
            "trial event 'evaluation': gallery dir 'gallery' is not an absolute path");
  EXPECT_EQ(with(R"("file":"000012.jpg")", R"("file":"../../etc/passwd")"),
            "trial event 'evaluation': gallery file '../../etc/passwd' is not a plain file name");
  EXPECT_EQ(with(R"("file":"000012.jpg")", R"("file":"..")"),
            "trial event 'evaluation': gallery file '..' is not a plain file name");
  EXPECT_EQ(with(R"(,"seed":0)", ""),
            "trial event 'evaluation': field 'seed' missing or not an integer");
  EXPECT_EQ(with(R"("bytes":23456)", R"("bytes":-3)"),
            "trial event 'evaluation': field 'bytes' missing or not a non-negative integer");
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
      FinishedEvent{"succeeded", std::nullopt, 12.5},
  };
  for (const auto& e : events) {
    auto back = ParseTrialEvent(FormatTrialEvent(e));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->index(), e.index());
    EXPECT_EQ(FormatTrialEvent(*back), FormatTrialEvent(e));
  }
}

TEST(TrialEventsTest, StartedCarriesWhatInitLoaded) {
  StartedEvent started{0, 100, false, false, false};
  started.init = nlohmann::json::parse(
      R"({"source": "/w/resnet50.pth", "format": "torchvision-resnet", "loaded": 318,
          "reinitialised": [], "missing": ["fpn.lat_layers.0.weight"], "unexpected": ["fc.weight"]})");
  auto back = ParseTrialEvent(FormatTrialEvent(started));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(std::get<StartedEvent>(*back).init, started.init);
  // Without --init: no "init" key at all.
  EXPECT_EQ(FormatTrialEvent(StartedEvent{0, 100, false, false, false}).find("init"),
            std::string::npos);
}

TEST(TrialEventsTest, StartedCarriesTheProtocolVersion) {
  const std::string line = FormatTrialEvent(StartedEvent{0, 100, false, false, false});
  EXPECT_NE(line.find("\"protocol\":1"), std::string::npos) << line;
  // Without "protocol" (ablate-train before issue 14): version 1.
  auto old = ParseTrialEvent(R"({"event":"started","step":0,"total_steps":5})");
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(std::get<StartedEvent>(*old).protocol, 1);
  auto newer = ParseTrialEvent(R"({"event":"started","protocol":2,"step":0,"total_steps":5})");
  EXPECT_EQ(newer.status().message(),
            "trial event 'started': protocol 2 is not supported (this worker reads version 1 to "
            "1)");
  auto finished = ParseTrialEvent(R"({"event":"finished","status":"succeeded","checkpoint":null,
                                      "images_per_s":31.5})");
  ASSERT_TRUE(finished.ok()) << finished.status();
  EXPECT_EQ(std::get<FinishedEvent>(*finished).images_per_s, 31.5);
}

}  // namespace
}  // namespace ablate::protocol
