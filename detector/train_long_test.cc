// The acceptance run (label "long", ~12 minutes): the tiny preset trained from scratch on
// a generated shapes set with 2 CPU threads for at most 10 minutes must reach box AP >= 0.6 and
// mask AP >= 0.5 on the validation split. Run it alone on the machine.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>

#include "detector/cpu_threads.h"
#include "detector/shapes.h"
#include "detector/train.h"

namespace ablate::detector {
namespace {

namespace fs = std::filesystem;

TEST(TinyPresetLongTest, ReachesTargetApWithinTenMinutesOnTwoCores) {
  SetCpuThreads(2);
  const fs::path dir = fs::temp_directory_path() / ("ablate_long_" + std::to_string(getpid()));
  ShapesOptions so;  // defaults: 2000 train / 200 val at 128 px
  so.seed = 11;
  ASSERT_TRUE(WriteShapesDataset(dir, so).ok());
  auto config = TrainPreset("tiny");
  ASSERT_TRUE(config.ok());
  TrainOptions o;
  o.train_json = dir / "train.json";
  o.val_json = dir / "val.json";
  o.out_dir = dir / "run";
  o.max_seconds = 600;
  o.log = [](const std::string& line) { std::cerr << line << "\n"; };
  o.log_every = 200;
  // The learning curve for the note: AP every 1000 steps (200 images, ~3 s each).
  o.eval_every = 1000;
  const auto start = std::chrono::steady_clock::now();
  o.on_evaluation = [&](const std::string& checkpoint, const EvalResult& e) {
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cerr << "curve " << checkpoint << " t=" << static_cast<int>(s) << "s box AP " << e.bbox[0]
              << " mask AP " << e.segm[0] << "\n";
  };
  auto r = Train(*config, o);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->status, "finished");
  ASSERT_TRUE(r->eval.has_value());
  std::cerr << r->ToJson().dump(2) << "\n";
  EXPECT_GE(r->eval->bbox[0], 0.6);
  EXPECT_GE(r->eval->segm[0], 0.5);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ablate::detector
