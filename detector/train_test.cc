// Data, training loop, checkpoints and evaluation on a small generated shapes set.
#include "detector/train.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <opencv2/imgproc.hpp>
#include <regex>

#include "detector/data.h"
#include "detector/shapes.h"

namespace ablate::detector {
namespace {

namespace fs = std::filesystem;

TEST(ScheduleTest, WarmupThenSteps) {
  TrainConfig c;
  c.lr = 1.0;
  c.warmup_steps = 10;
  c.warmup_factor = 0.1;
  c.lr_steps = {20, 30};
  c.lr_gamma = 0.5;
  EXPECT_DOUBLE_EQ(LearningRate(c, 0), 0.1);
  EXPECT_DOUBLE_EQ(LearningRate(c, 5), 0.1 + 0.9 * 0.5);
  EXPECT_DOUBLE_EQ(LearningRate(c, 10), 1.0);
  EXPECT_DOUBLE_EQ(LearningRate(c, 20), 0.5);
  EXPECT_DOUBLE_EQ(LearningRate(c, 35), 0.25);
  EXPECT_EQ(CheckpointName(1234, 5, 1.23456), "step0001234-ep005-loss1.235");
}

TEST(ScheduleTest, CosineDecaysFromLrToTheFinalFactorOverTheSchedule) {
  TrainConfig c;
  c.lr = 1.0;
  c.warmup_steps = 10;
  c.warmup_factor = 0.1;
  c.lr_schedule = LrSchedule::kCosine;
  c.lr_final_factor = 0.01;
  c.max_steps = 110;
  EXPECT_DOUBLE_EQ(LearningRate(c, 0), 0.1);
  EXPECT_DOUBLE_EQ(LearningRate(c, 10), 1.0);
  EXPECT_NEAR(LearningRate(c, 60), 0.01 + 0.99 * 0.5, 1e-12);  // half way: cos(pi/2) = 0
  EXPECT_NEAR(LearningRate(c, 110), 0.01, 1e-12);
  EXPECT_NEAR(LearningRate(c, 500), 0.01, 1e-12);  // past the end: stays at the floor
  // A fork that restarts the schedule at step 50 of 110 decays over the remaining 60 steps.
  EXPECT_NEAR(LearningRate(c, 35, 60), 0.01 + 0.99 * 0.5, 1e-12);
}

class ShapesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("ablate_shapes_" + std::to_string(getpid())));
    ShapesOptions o;
    o.train_images = 24;
    o.val_images = 8;
    o.image_size = 64;
    o.crowd_probability = 0.5;
    o.seed = 3;
    ASSERT_TRUE(WriteShapesDataset(*dir_, o).ok());
    // One intra-op thread: OpenMP teams spin badly when the machine is shared (2 threads on a
    // loaded 2-core VM ran 10x slower than 1).
    torch::set_num_threads(1);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  TrainConfig SmallConfig() {
    auto c = TrainPreset("tiny");
    EXPECT_TRUE(c.ok());
    EXPECT_TRUE(c->ParseOverride("image_size", "64").ok());
    c->batch_size = 4;
    c->num_workers = 1;
    c->warmup_steps = 2;
    c->checkpoint_every = 2;
    return *c;
  }
  TrainOptions Options(const std::string& out) {
    TrainOptions o;
    o.train_json = *dir_ / "train.json";
    o.val_json = *dir_ / "val.json";
    o.out_dir = *dir_ / out;
    o.log_every = 0;
    return o;
  }
  static fs::path* dir_;
};
fs::path* ShapesTest::dir_ = nullptr;

TEST_F(ShapesTest, DatasetLoadsWithMasksMatchingBoxes) {
  auto ds = CocoDetectionDataset::Load(*dir_ / "train.json", "", /*for_training=*/true);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ((*ds)->num_classes(), 4);
  EXPECT_GT((*ds)->size(), 0u);
  int crowds = 0;
  for (size_t i = 0; i < (*ds)->size(); ++i) {
    auto s = (*ds)->Get(i);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->image.rows, 64);
    for (size_t j = 0; j < s->masks.size(); ++j) {
      crowds += s->crowd[j];
      // The annotation box is the mask's extent (generator writes both from the mask).
      cv::Rect r = cv::boundingRect(s->masks[j]);
      EXPECT_EQ(r.x, static_cast<int>(s->boxes[j][0]));
      EXPECT_EQ(r.y + r.height, static_cast<int>(s->boxes[j][3]));
    }
  }
  EXPECT_GT(crowds, 0);
  auto missing = CocoDetectionDataset::Load(*dir_ / "nope.json", "", true);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ShapesTest, LoaderIsDeterministicAcrossThreadCounts) {
  auto ds = CocoDetectionDataset::Load(*dir_ / "train.json", "", true);
  ASSERT_TRUE(ds.ok());
  LoaderOptions lo;
  lo.batch_size = 4;
  lo.size = 64;
  lo.num_workers = 0;
  lo.augment.mode = "reference";
  BatchLoader serial(*ds, lo, 0, true);
  lo.num_workers = 3;
  BatchLoader threaded(*ds, lo, 0, true);
  for (int k = 0; k < 8; ++k) {  // crosses an epoch boundary (24 images / 4)
    auto a = serial.Next();
    auto b = threaded.Next();
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_TRUE(torch::equal((*a)->images, (*b)->images)) << "batch " << k;
    ASSERT_EQ((*a)->targets.size(), (*b)->targets.size());
    EXPECT_TRUE(torch::equal((*a)->targets[0].boxes, (*b)->targets[0].boxes));
    EXPECT_EQ((*a)->images.size(0), 4);
    EXPECT_EQ((*a)->images.size(2), 64);
  }
}

TEST_F(ShapesTest, EveryLossOptionTrainsWithoutDiverging) {
  for (const char* conf : {"ce", "ohem", "focal_sigmoid", "focal_softmax", "ghm_c"}) {
    for (const char* box : {"smooth_l1", "ciou"}) {
      TrainConfig c = SmallConfig();
      ASSERT_TRUE(c.ParseOverride("conf_loss", conf).ok());
      ASSERT_TRUE(c.ParseOverride("box_loss", box).ok());
      c.max_steps = 3;
      TrainOptions o = Options(std::string("smoke_") + conf + "_" + box);
      o.evaluate = false;
      auto r = Train(c, o);
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->status, "finished") << conf << " " << box;
      EXPECT_TRUE(std::isfinite(r->last_loss));
      EXPECT_EQ(r->step, 3);
    }
  }
}

TEST_F(ShapesTest, CheckpointResumeForkAndEvaluate) {
  TrainConfig c = SmallConfig();
  c.max_steps = 2;
  auto first = Train(c, Options("resume"));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(
      std::regex_match(first->checkpoint, std::regex(R"(step0000002-ep000-loss\d+\.\d{3})")))
      << first->checkpoint;
  ASSERT_TRUE(fs::exists(first->checkpoint_path));
  ASSERT_TRUE(first->eval.has_value());
  for (double s : first->eval->bbox) EXPECT_LE(s, 1.0);

  // Resume continues the step counter and restores the optimiser.
  c.max_steps = 4;
  TrainOptions o = Options("resume");
  o.resume = first->checkpoint_path;
  o.evaluate = false;
  auto second = Train(c, o);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->step, 4);
  EXPECT_NE(std::find(second->restored.begin(), second->restored.end(), "optimizer"),
            second->restored.end());
  EXPECT_TRUE(second->reset.empty());
  // A fork resets optimiser and schedule and says so.
  o.reset_optimizer = o.reset_schedule = true;
  o.out_dir = *dir_ / "fork";
  c.max_steps = 5;
  auto fork = Train(c, o);
  ASSERT_TRUE(fork.ok()) << fork.status();
  EXPECT_EQ(fork->step, 5);
  EXPECT_EQ(fork->reset, (std::vector<std::string>{"schedule", "optimizer"}));

  // The network comes from the checkpoint: a model knob asked for with a resume is reported as
  // ignored, not silently dropped, and the run keeps the checkpoint's network.
  TrainConfig wider = c;
  ASSERT_TRUE(wider.ParseOverride("backbone_width", "48").ok());
  wider.max_steps = 6;
  std::vector<std::string> lines;
  o.log = [&lines](const std::string& line) { lines.push_back(line); };
  o.out_dir = *dir_ / "fork-wider";
  auto fork_wider = Train(wider, o);
  ASSERT_TRUE(fork_wider.ok()) << fork_wider.status();
  EXPECT_EQ(fork_wider->step, 6);
  EXPECT_NE(std::find(lines.begin(), lines.end(),
                      "resume: the network comes from the checkpoint; ignoring "
                      "backbone_width=48 (checkpoint: 32)"),
            lines.end());

  // The checkpoint reloads with its config and evaluates the same way.
  auto loaded = LoadCheckpoint(first->checkpoint_path, torch::kCPU);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->meta.step, 2);
  EXPECT_EQ(loaded->meta.config.model.image_size, 64);
  EXPECT_EQ(LoadCheckpoint(*dir_ / "none.pt", torch::kCPU).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ShapesTest, NonFiniteLossStopsAsDivergedKeepingAFiniteCheckpoint) {
  TrainConfig c = SmallConfig();
  c.lr = 1e8;
  c.warmup_steps = 0;
  c.momentum = 0;
  c.max_steps = 50;
  c.checkpoint_every = 1;
  auto r = Train(c, Options("diverge"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, "diverged");
  EXPECT_LT(r->step, 50);
  ASSERT_FALSE(r->checkpoint.empty());
  auto loaded = LoadCheckpoint(r->checkpoint_path, torch::kCPU);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  for (const auto& p : loaded->model->parameters()) {
    EXPECT_TRUE(torch::isfinite(p).all().item<bool>());
  }
  EXPECT_FALSE(r->eval.has_value());
}

}  // namespace
}  // namespace ablate::detector
