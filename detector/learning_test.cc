// Does the detector learn at all? The default suite's short counterpart of the 10-minute
// acceptance run (train_long_test.cc, label "long"): the tiny network, trained without
// augmentation on a handful of generated images with COCO-style category ids, must detect those
// same images well. A broken matcher, loss, target encoding, Detect or category-id mapping keeps
// the AP near 0.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "detector/shapes.h"
#include "detector/train.h"
#include "nlohmann/json.hpp"

namespace ablate::detector {
namespace {

namespace fs = std::filesystem;

// docs/detector.md "Learning test" has the measurements behind these.
constexpr int kImages = 4;
constexpr int kSteps = 120;

TEST(LearningTest, OverfitsAHandfulOfImages) {
  torch::set_num_threads(1);  // see train_test.cc: OpenMP spins on a shared 2-core machine
  const fs::path dir = fs::temp_directory_path() / ("ablate_learning_" + std::to_string(getpid()));
  ShapesOptions so;
  so.train_images = kImages;
  so.val_images = 1;
  so.image_size = 64;
  so.max_objects = 3;
  so.crowd_probability = 0;
  so.seed = 5;
  ASSERT_TRUE(WriteShapesDataset(dir, so).ok());
  // COCO-like category ids (non-contiguous, listed unsorted): the AP below is only high when
  // labels map back to the right ids in the results.
  const std::map<int, int> coco_id = {{1, 90}, {2, 3}, {3, 44}, {4, 17}};
  {
    std::ifstream in(dir / "train.json");
    nlohmann::json j = nlohmann::json::parse(in);
    in.close();
    for (auto& c : j["categories"]) c["id"] = coco_id.at(c["id"].get<int>());
    for (auto& a : j["annotations"]) a["category_id"] = coco_id.at(a["category_id"].get<int>());
    std::ofstream out(dir / "train.json");
    out << j.dump();
  }
  auto config = TrainPreset("tiny");
  ASSERT_TRUE(config.ok());
  ASSERT_TRUE(config->ParseOverride("image_size", "64").ok());
  config->augment = "none";
  config->batch_size = kImages;
  config->max_steps = kSteps;
  config->warmup_steps = 20;
  config->num_workers = 1;
  config->checkpoint_every = 0;
  TrainOptions o;
  o.train_json = dir / "train.json";
  o.val_json = dir / "train.json";  // the training images themselves
  o.out_dir = dir / "run";
  o.log_every = 0;
  o.gallery_images = 0;
  auto r = Train(*config, o);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->status, "finished");
  ASSERT_TRUE(r->eval.has_value());
  std::cerr << "after " << r->step << " steps: box AP " << r->eval->bbox[0] << ", mask AP "
            << r->eval->segm[0] << ", " << r->images_per_s << " images/s\n";
  EXPECT_GT(r->eval->bbox[0], 0.5);
  EXPECT_GT(r->eval->segm[0], 0.4);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ablate::detector
