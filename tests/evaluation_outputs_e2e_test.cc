// Issue 7 end to end without LibTorch: the evaluation events an `ablate-train eval` child writes
// (docs/worker-protocol.md) go through the worker's parser and CoordinatorSink to a real
// coordinator (SQLite file, gRPC on loopback), and the real `ablate show` prints what was stored.
// The same checkpoint re-scored at score_threshold 0.005 shows more detections than at 0.05.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/testing/fresh_temp_dir.h"
#include "protocol/trial_events.h"
#include "server/coordinator.h"
#include "tests/process_util.h"
#include "worker/coordinator_sink.h"

namespace ablate::e2e {
namespace {

namespace fs = std::filesystem;

// One `evaluation` event line as ablate-train writes it, with the issue 7 fields.
std::string EventLine(const std::string& iou_type, double score_threshold, int detections,
                      int max_per_image, const std::string& gallery_dir) {
  nlohmann::json stats = nlohmann::json::object();
  for (int i = 0; i < kNumCocoStats; ++i) {
    stats[std::string(kCocoStatNames[i])] = (iou_type == "bbox" ? 0.30 : 0.27) + i / 100.0;
  }
  nlohmann::json e = {
      {"event", "evaluation"},
      {"checkpoint", "step0000600-ep010-loss2.000"},
      {"iou_type", iou_type},
      {"stats", stats},
      {"per_category", nlohmann::json::array()},
      {"dataset_fingerprint", "sha256:val"},
      {"settings",
       {{"score_threshold", score_threshold}, {"top_k", 100}, {"nms_iou", 0.5}, {"max_dets", 100}}},
      {"detections", detections},
      {"images", 40},
      {"detections_per_image_max", max_per_image},
      {"results_bytes", detections * 400},
      {"gallery",
       {{"dir", gallery_dir},
        {"images",
         {{{"image_id", 12}, {"file", "000012.jpg"}, {"bytes", 23456}, {"detections", 5}},
          {{"image_id", 139}, {"file", "000139.jpg"}, {"bytes", 19000}, {"detections", 2}}}},
        {"seed", 0}}}};
  return e.dump();
}

class EvaluationOutputsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ablate::testing::FreshTempDirForTest("e2e_outputs_");
    server::CoordinatorOptions options;
    options.db_path = (dir_ / "ablate.db").string();
    options.listen_address = "127.0.0.1:0";
    auto c = server::Coordinator::Create(options);
    ASSERT_TRUE(c.ok()) << c.status();
    coordinator_ = std::move(*c);
    stub_ = v1::Coordinator::NewStub(
        grpc::CreateChannel(coordinator_->address(), grpc::InsecureChannelCredentials()));
    // The run and its checkpoint, as a train job would have registered them.
    server::NewRun run;
    run.name = "r1";
    ASSERT_TRUE(coordinator_->store().CreateRun(run).ok());
    server::NewCheckpoint ckpt;
    ckpt.run = coordinator_->store().FindRunByName("r1")->id;
    ckpt.name = "step0000600-ep010-loss2.000";
    ckpt.step = 600;
    ckpt.uri = "file:///work/runs/r1/step0000600-ep010-loss2.000.pt";
    ASSERT_TRUE(coordinator_->store().RegisterCheckpoint(ckpt).ok());
  }

  // What the worker does with a child's stdout line.
  void Forward(const std::string& line) {
    worker::CoordinatorSinkOptions options;
    options.run_name = "r1";
    worker::CoordinatorSink sink(*stub_, options);
    auto event = worker::ParseTrialEvent(line);
    ASSERT_TRUE(event.ok()) << event.status();
    Status st = sink.OnEvent(*event);
    ASSERT_TRUE(st.ok()) << st;
  }

  CommandResult Ablate(std::vector<std::string> args) {
    args.insert(args.begin(), AblateBinary());
    args.push_back("--server");
    args.push_back(coordinator_->address());
    return RunCommand(args);
  }

  fs::path dir_;
  std::unique_ptr<server::Coordinator> coordinator_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
};

TEST_F(EvaluationOutputsE2eTest, WorkerForwardsCountsAndGalleryAndShowPrintsThem) {
  for (const char* iou : {"bbox", "segm"}) {
    Forward(EventLine(iou, 0.05, 120, 9, "/work/evals/1/gallery"));
    Forward(EventLine(iou, 0.005, 2950, 100, "/work/evals/2/./tmp/../gallery/"));
  }

  CommandResult json_result = Ablate({"show", "r1", "--json"});
  ASSERT_EQ(json_result.exit_code, 0) << json_result.err;
  nlohmann::json show = nlohmann::json::parse(json_result.out);
  ASSERT_EQ(show["evaluations"].size(), 4u) << show.dump(2);
  const nlohmann::json& normal = show["evaluations"][0];
  const nlohmann::json& low = show["evaluations"][1];
  EXPECT_EQ(normal["settings"]["score_threshold"], 0.05);
  EXPECT_EQ(low["settings"]["score_threshold"], 0.005);
  EXPECT_EQ(normal["checkpoint"], low["checkpoint"]);
  EXPECT_EQ(normal["outputs"]["detections"], 120);
  EXPECT_EQ(normal["outputs"]["detections_per_image_mean"], 3.0);
  EXPECT_EQ(normal["outputs"]["detections_per_image_max"], 9);
  EXPECT_EQ(normal["outputs"]["results_bytes"], 48000);
  EXPECT_EQ(low["outputs"]["detections"], 2950);
  EXPECT_GT(low["outputs"]["detections"].get<int>(), normal["outputs"]["detections"].get<int>());
  EXPECT_EQ(normal["gallery"]["dir"], "/work/evals/1/gallery");
  EXPECT_EQ(low["gallery"]["dir"], "/work/evals/2/gallery");  // normalised, no trailing '/'
  EXPECT_EQ(normal["gallery"]["count"], 2);
  EXPECT_EQ(normal["gallery"]["images"][0]["uri"], "file:///work/evals/1/gallery/000012.jpg");
  EXPECT_EQ(low["gallery"]["images"][1]["uri"], "file:///work/evals/2/gallery/000139.jpg");
  EXPECT_EQ(show["evaluations"][2]["iou_type"], "segm");
  EXPECT_EQ(show["evaluations"][2]["outputs"]["detections"], 120);

  CommandResult table = Ablate({"show", "r1"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("\ndetections:\n"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find(
                " 1  step0000600-ep010-loss2.000  bbox             0.05         120  "
                "          3.00              9  46.9 KiB  2 images in /work/evals/1/gallery\n"),
            std::string::npos)
      << table.out;
  EXPECT_NE(table.out.find(
                " 2  step0000600-ep010-loss2.000  bbox            0.005        2950  "
                "         73.75            100  1.1 MiB   2 images in /work/evals/2/gallery\n"),
            std::string::npos)
      << table.out;

  // A retried event (the worker resends after a timeout) changes nothing.
  Forward(EventLine("bbox", 0.05, 120, 9, "/work/evals/1/gallery"));
  auto files = coordinator_->store().ListGalleryFiles({});
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(files->size(), 8u);  // 2 images x (bbox, segm) x 2 thresholds
}

// An event from an ablate-train build before issue 7 still records the evaluation, without
// outputs; `show` prints '-' for it.
TEST_F(EvaluationOutputsE2eTest, EventWithoutTheNewFieldsRecordsNoOutputs) {
  nlohmann::json line = nlohmann::json::parse(EventLine("bbox", 0.05, 1, 1, "/g"));
  for (const char* field :
       {"detections", "images", "detections_per_image_max", "results_bytes", "gallery"}) {
    line.erase(field);
  }
  Forward(line.dump());
  CommandResult json_result = Ablate({"show", "r1", "--json"});
  ASSERT_EQ(json_result.exit_code, 0) << json_result.err;
  nlohmann::json show = nlohmann::json::parse(json_result.out);
  ASSERT_EQ(show["evaluations"].size(), 1u);
  EXPECT_TRUE(show["evaluations"][0]["outputs"].is_null());
  EXPECT_TRUE(show["evaluations"][0]["gallery"].is_null());
}

}  // namespace
}  // namespace ablate::e2e
