// `ablate-train run --init` and `ablate-train eval --checkpoint FILE.pth --preset`: a reference
// YOLACT checkpoint (81 classes, legacy format, written by PyTorch: testdata/make_weight_files.py)
// on the 4-class shapes set, what is reported (--json, the `started` event, the text line), the
// sha256 in the checkpoint's config, and corrupt files (nothing trained).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "detector/shapes.h"
#include "detector/tool_runner_test_util.h"
#include "detector/train.h"
#include "nlohmann/json.hpp"

namespace ablate::detector {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kYolact81 = fs::absolute("detector/testdata/yolact_81_legacy.pth");
// Our tiny preset shaped like the fixture's network (it has no mask-IoU head).
const std::string kFixtureNet =
    " --preset tiny --set backbone_width=2 --set fpn_features=4 --set num_prototypes=2"
    " --set image_size=64";

using tool_test::CommandResult;
using tool_test::RunTool;

// Names of the fixture's tensors, from PyTorch (weight_files.json).
std::vector<std::string> FixtureNames() {
  std::ifstream in("detector/testdata/weight_files.json");
  const json manifest = json::parse(in);
  std::vector<std::string> out;
  for (const auto& t : manifest.at("tensors").at("yolact_81")) out.push_back(t.at("name"));
  return out;
}

class InitToolTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("ablate_init_" + std::to_string(getpid())));
    ShapesOptions o;
    o.train_images = 8;
    o.val_images = 4;
    o.image_size = 64;
    o.seed = 7;
    ASSERT_TRUE(WriteShapesDataset(*dir_, o).ok());
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static std::string TrainArgs(const std::string& out) {
    return "run --train " + (*dir_ / "train.json").string() + kFixtureNet +
           " --set batch_size=2 --set num_workers=1 --steps 2 --gallery 0 --out " +
           (*dir_ / out).string();
  }
  static fs::path* dir_;
};
fs::path* InitToolTest::dir_ = nullptr;

TEST_F(InitToolTest, EightyOneClassYolactOnFourClassesTrainsAndReports) {
  CommandResult r =
      RunTool(TrainArgs("run81") + " --init " + kYolact81.string() + " --json", *dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  const json& init = j.at("init");
  EXPECT_EQ(init["source"], kYolact81.string());
  EXPECT_EQ(init["format"], "yolact");
  EXPECT_EQ(init["container"], "legacy");
  const std::string sha = *Sha256HexOfFile(kYolact81);
  EXPECT_EQ(init["sha256"], sha);
  EXPECT_EQ(init["reinitialised"],
            json({"prediction_layers.0.conf_layer.weight", "prediction_layers.0.conf_layer.bias",
                  "semantic_seg_conv.weight", "semantic_seg_conv.bias"}));
  EXPECT_EQ(init["missing"], json::array());
  std::vector<std::string> maskiou;  // the tiny preset has no mask-IoU head
  for (const std::string& name : FixtureNames()) {
    if (name.rfind("maskiou_net.", 0) == 0) maskiou.push_back(name);
  }
  EXPECT_EQ(maskiou.size(), 6u);
  EXPECT_EQ(init["unexpected"], json(maskiou));
  EXPECT_EQ(init["loaded"], FixtureNames().size() - maskiou.size() - 4);
  EXPECT_NE(r.err.find("init from " + kYolact81.string() + " (yolact, legacy): loaded "),
            std::string::npos)
      << r.err;
  // The checkpoint's config records the file and its sha256.
  auto ck = LoadCheckpoint(j.at("checkpoint_path").get<std::string>(), torch::kCPU);
  ASSERT_TRUE(ck.ok()) << ck.status();
  EXPECT_EQ(ck->meta.config.init_from, kYolact81.string());
  EXPECT_EQ(ck->meta.config.init_sha256, sha);
}

TEST_F(InitToolTest, StartedEventCarriesTheInitAndTextSaysItInOneLine) {
  CommandResult events =
      RunTool(TrainArgs("events") + " --set init_from=" + kYolact81.string() + " --events", *dir_);
  ASSERT_EQ(events.exit_code, 0) << events.err;
  std::istringstream lines(events.out);
  std::string line;
  json started;
  while (std::getline(lines, line)) {
    json e = json::parse(line, nullptr, false);
    if (!e.is_discarded() && e.value("event", "") == "started") started = e;
  }
  ASSERT_TRUE(started.is_object()) << events.out;
  EXPECT_EQ(started["init"]["format"], "yolact");
  EXPECT_EQ(started["init"]["reinitialised"].size(), 4u);

  CommandResult text = RunTool(TrainArgs("text") + " --init " + kYolact81.string(), *dir_);
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(text.out.rfind("init from " + kYolact81.string() +
                               " (yolact, legacy): loaded 104, reinitialised "
                               "[prediction_layers.0.conf_layer.weight, "
                               "prediction_layers.0.conf_layer.bias, semantic_seg_conv.weight, "
                               "semantic_seg_conv.bias], missing 0, unexpected 6\n",
                           0),
            0u)
      << text.out;
}

// A worker resuming a trial passes the trial's set (init_from included) and --resume: the
// weights come from the checkpoint, init_from is only recorded.
TEST_F(InitToolTest, ResumeFromOurCheckpointKeepsItsWeightsAndRecordsTheInit) {
  CommandResult first =
      RunTool(TrainArgs("resumed") + " --init " + kYolact81.string() + " --json", *dir_);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const std::string ckpt = json::parse(first.out).at("checkpoint_path");
  const std::string sha = *Sha256HexOfFile(kYolact81);
  CommandResult again =
      RunTool("run --train " + (*dir_ / "train.json").string() + kFixtureNet +
                  " --set batch_size=2 --set num_workers=1 --steps 3 --gallery 0"
                  " --set init_from=" +
                  kYolact81.string() + " --set init_sha256=" + sha + " --resume " + ckpt +
                  " --out " + (*dir_ / "resumed").string() + " --json",
              *dir_);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  const json j = json::parse(again.out);
  EXPECT_FALSE(j.contains("init")) << j.dump();
  EXPECT_EQ(j["step"], 3);
  EXPECT_EQ(j["restored"][0], "weights");
  EXPECT_NE(again.err.find("init_from " + kYolact81.string() + " is only recorded"),
            std::string::npos)
      << again.err;
  auto ck = LoadCheckpoint(j.at("checkpoint_path").get<std::string>(), torch::kCPU);
  ASSERT_TRUE(ck.ok()) << ck.status();
  EXPECT_EQ(ck->meta.config.init_sha256, sha);
}

// `start_from: file:PATH` reaches the trainer as --resume PATH: a torch.save file there (an
// ImageNet backbone here) is a start from its weights, not a resume.
TEST_F(InitToolTest, ResumeFromATorchSaveFileStartsFromItsWeights) {
  const fs::path resnet = fs::absolute("detector/testdata/resnet_w2_zip.pth");
  CommandResult r = RunTool(
      TrainArgs("resnet") + " --resume " + resnet.string() + " --reset-optimizer --json", *dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["init"]["format"], "torchvision-resnet");
  EXPECT_EQ(j["init"]["container"], "zip");
  EXPECT_EQ(j["init"]["unexpected"], json::array());
  EXPECT_EQ(j["restored"], json::array());
  EXPECT_EQ(j["step"], 2);
  EXPECT_NE(r.err.find("is a torch.save weights file, not a checkpoint"), std::string::npos)
      << r.err;
}

TEST_F(InitToolTest, ChangedFileAgainstTheRecordedSha256IsAnError) {
  CommandResult r = RunTool(TrainArgs("sha") + " --set init_from=" + kYolact81.string() +
                                " --set init_sha256=" + std::string(64, '0'),
                            *dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("has sha256 " + *Sha256HexOfFile(kYolact81) + ", the config records 000"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(*dir_ / "sha"));
}

TEST_F(InitToolTest, CorruptOrTextInitFileTrainsNothing) {
  const fs::path text = *dir_ / "notes.pth";
  std::ofstream(text) << "these are not weights\n";
  CommandResult r = RunTool(TrainArgs("corrupt") + " --init " + text.string(), *dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(text.string() + ": not a PyTorch weights file"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(*dir_ / "corrupt"));
}

// A reference checkpoint evaluated directly: the network must match the file exactly, so the
// 81-class file needs an 80-category --val (the shapes set plus 76 categories without objects).
TEST_F(InitToolTest, EvalOfAReferenceCheckpointChecksTheNetworkShape) {
  const std::string val4 = (*dir_ / "val.json").string();
  CommandResult four = RunTool(
      "eval --checkpoint " + kYolact81.string() + kFixtureNet + " --val " + val4 + " --gallery 0",
      *dir_);
  EXPECT_EQ(four.exit_code, 2);
  EXPECT_NE(four.err.find("prediction_layers.0.conf_layer.weight (file [243, 4, 3, 3], model "
                          "[15, 4, 3, 3])"),
            std::string::npos)
      << four.err;
  CommandResult no_preset =
      RunTool("eval --checkpoint " + kYolact81.string() + " --val " + val4, *dir_);
  EXPECT_EQ(no_preset.exit_code, 2);
  EXPECT_NE(no_preset.err.find("give --preset"), std::string::npos) << no_preset.err;

  std::ifstream in(*dir_ / "val.json");
  json val = json::parse(in);
  for (int id = 5; id <= 80; ++id) {
    json category = {{"id", id}};
    category["name"] = absl::StrCat("c", id);
    val["categories"].push_back(category);
  }
  const fs::path val80 = *dir_ / "val80.json";
  std::ofstream(val80) << val.dump();
  CommandResult ok = RunTool("eval --checkpoint " + kYolact81.string() + kFixtureNet + " --val " +
                                 val80.string() + " --gallery 0 --json",
                             *dir_);
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  const json result = json::parse(ok.out);
  EXPECT_EQ(result["num_images"], 4);
  EXPECT_NE(ok.err.find("(yolact, legacy): loaded 108, reinitialised [], missing 0, unexpected 6"),
            std::string::npos)
      << ok.err;
}

}  // namespace
}  // namespace ablate::detector
