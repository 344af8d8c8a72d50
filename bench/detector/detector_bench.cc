// Detector throughput on the generated shapes set: training images/s (forward + backward +
// optimiser step, with the threaded loader and its wait share) and inference images/s (forward,
// Detect, postprocess, RLE encoding) for the tiny preset (128 px) and R50 (550 px); each figure
// is the median of --reps runs. Usage: detector_bench [--threads N] [--tiny-steps N]
// [--r50-steps N] [--r50-batch N] [--reps N]. Run it alone on the machine: any other busy process
// cuts the numbers 3-4x (STACK-NOTES.md).
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "detector/cpu_threads.h"
#include "detector/shapes.h"
#include "detector/train.h"
#include "nlohmann/json.hpp"

namespace {

using namespace ablate::detector;  // NOLINT: benchmark main
namespace fs = std::filesystem;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

// Trains `steps` steps (then evaluates 16 validation images) `reps` times; reports the medians.
nlohmann::json Measure(const std::string& preset, int size, int steps, int batch, int reps,
                       const fs::path& work) {
  const fs::path data = work / absl::StrFormat("shapes%d", size);
  ShapesOptions so;
  so.train_images = std::max(16, steps * batch);
  so.val_images = 16;
  so.image_size = size;
  if (!fs::exists(data / "val.json") && !WriteShapesDataset(data, so).ok()) {
    return {{"error", "cannot write shapes"}};
  }
  auto config = TrainPreset(preset);
  config->batch_size = batch;
  config->max_steps = steps;
  // The preset's warmup stays: it does not change the step time, and without it a random-init
  // R50 can diverge within the measured steps (seen on CUDA), which ends the run early.
  config->checkpoint_every = 0;
  config->num_workers = 2;
  if (preset != "tiny") config->model.freeze_bn = false;  // no pretrained backbone here
  std::vector<double> train_ips, wait, infer_ips;
  for (int rep = 0; rep < reps; ++rep) {
    TrainOptions o;
    o.train_json = data / "train.json";
    o.val_json = data / "val.json";
    o.out_dir = work / absl::StrFormat("run_%s_%d", preset, rep);
    o.log_every = 0;
    auto r = Train(*config, o);
    if (!r.ok()) return {{"error", r.status().ToString()}};
    if (r->status != "finished") return {{"error", "training " + r->status}};
    train_ips.push_back(r->images_per_s);
    wait.push_back(r->loader_wait_fraction);
    infer_ips.push_back(r->eval ? r->eval->images_per_s : 0.0);
  }
  return {{"preset", preset},
          {"image_size", size},
          {"batch_size", batch},
          {"steps", steps},
          {"repetitions", reps},
          {"train_images_per_s_median", Median(train_ips)},
          {"loader_wait_fraction_median", Median(wait)},
          {"inference_images_per_s_median", Median(infer_ips)}};
}

}  // namespace

int main(int argc, char** argv) {
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int tiny_steps = 60, r50_steps = 3, r50_batch = 2, reps = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--threads") threads = std::stoi(argv[i + 1]);
    if (a == "--tiny-steps") tiny_steps = std::stoi(argv[i + 1]);
    if (a == "--r50-steps") r50_steps = std::stoi(argv[i + 1]);
    if (a == "--r50-batch") r50_batch = std::max(1, std::stoi(argv[i + 1]));
    if (a == "--reps") reps = std::max(1, std::stoi(argv[i + 1]));
  }
  SetCpuThreads(threads);
  const fs::path work =
      fs::temp_directory_path() / ("ablate_detector_bench_" + std::to_string(getpid()));
  nlohmann::json out = {{"threads", threads},
                        {"device", DefaultDevice().is_cuda() ? "cuda" : "cpu"},
                        {"tiny", Measure("tiny", 128, tiny_steps, 8, reps, work)},
                        {"r50", Measure("r50", 550, r50_steps, r50_batch, reps, work)}};
  std::cout << out.dump(2) << "\n";
  fs::remove_all(work);
  return out["tiny"].contains("error") || out["r50"].contains("error") ? 1 : 0;
}
