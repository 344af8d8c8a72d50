// Our side of bench/detector/reference/side_by_side.sh: times one configuration of our detector
// on the inputs and weights that ref_bench.py prepared from the reference YOLACT, so both sides
// run the same network with the same weights on the same images.
//
//   detector_side_bench --data DIR --net r50|tiny --mode train|infer [--iters N] [--threads N]
//                       [--manifest ../shared/yolact-vectors/v1_tiny_s1/manifest.json]
//                       [--memory-format channels_last|contiguous] [--profile TRACE.json]
//
// DIR holds weights.pt (the reference state dict) and inputs.pt ("images" [B,3,S,S]; per image i
// "boxes.i" [G,4] point form relative, "labels.i" [G] 0-based, "masks.i" [G,S,S] 0/1). train =
// forward + loss + backward + SGD step (no data loader: the same tensors every step), infer =
// eval forward + Detect + Postprocess (full-size masks). Prints one JSON line with the median
// seconds per iteration after one warm-up iteration (train: also the medians of its phases:
// forward, loss, backward, optimiser step). --profile runs one more iteration under LibTorch's
// profiler and writes its Chrome trace (profile_summary.py sums it per op). Exit 2 on bad input.
#include <time.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "detector/config/model_config.h"
#include "detector/config/train_config.h"
#include "detector/cpu_threads.h"
#include "detector/evaluate.h"
#include "detector/losses.h"
#include "detector/model.h"
#include "detector/weights.h"
#include "nlohmann/json.hpp"

namespace {

using namespace ablate::detector;  // NOLINT: benchmark main
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

int Fail(const std::string& message) {
  std::cerr << "detector_side_bench: " << message << "\n";
  return 2;
}

// CPU seconds of the whole process (all threads). On a busy machine this tracks the work done
// better than wall time; with more than one intra-op thread it includes OpenMP spin-waiting.
double ProcessCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string data, net = "r50", mode = "train",
                    manifest = "../shared/yolact-vectors/v1_tiny_s1/manifest.json", profile;
  int iters = 3, threads = 2;
  std::string memory_format = "channels_last";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--data") {
      data = v;
    } else if (a == "--net") {
      net = v;
    } else if (a == "--mode") {
      mode = v;
    } else if (a == "--iters") {
      iters = std::max(1, std::stoi(v));
    } else if (a == "--threads") {
      threads = std::max(1, std::stoi(v));
    } else if (a == "--manifest") {
      manifest = v;
    } else if (a == "--memory-format") {
      memory_format = v;
    } else if (a == "--profile") {
      profile = v;
    } else {
      return Fail("unknown flag " + a);
    }
  }
  if (data.empty()) return Fail("--data DIR is required");
  if (net != "r50" && net != "tiny") return Fail("--net: r50 or tiny");
  if (mode != "train" && mode != "infer") return Fail("--mode: train or infer");
  if (memory_format != "channels_last" && memory_format != "contiguous") {
    return Fail("--memory-format: channels_last or contiguous");
  }
  SetCpuThreads(threads);

  // Loss, optimiser and Detect settings: the reference defaults (our r50 preset); the tiny net
  // takes the v1_tiny_s1 layout with BatchNorm trained, as ref_bench.py builds it.
  auto config = TrainPreset("r50");
  if (!config.ok()) return Fail(std::string(config.status().message()));
  if (net == "tiny") {
    std::ifstream in(manifest);
    if (!in) return Fail("cannot read " + manifest);
    auto model = ModelConfigFromManifest(nlohmann::json::parse(in));
    if (!model.ok()) return Fail(std::string(model.status().message()));
    config->model = *model;
    config->model.freeze_bn = false;
  }
  auto weights = LoadTensorDict(fs::path(data) / "weights.pt");
  if (!weights.ok()) return Fail(std::string(weights.status().message()));
  auto inputs = LoadTensorDict(fs::path(data) / "inputs.pt");
  if (!inputs.ok()) return Fail(std::string(inputs.status().message()));
  auto images_or = FindTensor(*inputs, "images");
  if (!images_or.ok()) return Fail(std::string(images_or.status().message()));
  const torch::Tensor images = *images_or;
  const int64_t batch = images.size(0);
  const int size = static_cast<int>(images.size(2));
  config->model.image_size = size;
  config->model.num_classes = 0;
  for (const auto& [name, t] : *weights) {
    if (name == "prediction_layers.0.conf_layer.bias") {
      config->model.num_classes = static_cast<int>(t.size(0) / config->model.PriorsPerLocation());
    }
  }
  if (config->model.num_classes == 0) return Fail("weights.pt: no conf_layer bias");

  Yolact model(config->model);
  model->set_channels_last(memory_format == "channels_last");
  if (auto s = LoadStateDict(*model, *weights); !s.ok()) return Fail(std::string(s.message()));
  std::vector<ImageTargets> targets;
  for (int64_t i = 0; i < batch; ++i) {
    const std::string n = std::to_string(i);
    auto boxes = FindTensor(*inputs, "boxes." + n);
    auto labels = FindTensor(*inputs, "labels." + n);
    auto masks = FindTensor(*inputs, "masks." + n);
    if (!boxes.ok() || !labels.ok() || !masks.ok()) return Fail("inputs.pt: image " + n);
    targets.push_back({*boxes, *labels, *masks, torch::zeros({0, 4})});
  }

  std::vector<double> seconds, cpu_seconds;
  std::map<std::string, std::vector<double>> phases;
  double detections = 0;
  const int total_iters = iters + 1 + (profile.empty() ? 0 : 1);
  // The last iteration runs under the profiler when asked for; it is not timed.
  auto profiler_for = [&](int it) {
    return it == iters + 1 ? std::make_unique<torch::autograd::profiler::RecordProfile>(profile)
                           : nullptr;
  };
  auto since = [](Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  };
  try {
    if (mode == "train") {
      std::vector<torch::Tensor> params;
      for (auto& p : model->parameters()) {
        if (p.requires_grad()) params.push_back(p);
      }
      torch::optim::SGD optimizer(params, torch::optim::SGDOptions(config->lr)
                                              .momentum(config->momentum)
                                              .weight_decay(config->weight_decay));
      YolactLoss loss_fn(*config);
      model->train(true);
      const bool with_segm = config->semantic_weight > 0;
      for (int it = 0; it < total_iters; ++it) {
        auto profiler = profiler_for(it);
        const double c0 = ProcessCpuSeconds();
        const auto t0 = Clock::now();
        optimizer.zero_grad();
        YolactOutput out = model->forward(images, with_segm);
        const auto t1 = Clock::now();
        auto loss = loss_fn(out, targets, *model);
        if (!loss.ok()) return Fail(std::string(loss.status().message()));
        const auto t2 = Clock::now();
        loss->total.backward();
        const auto t3 = Clock::now();
        optimizer.step();
        if (it == 0 || it > iters) continue;
        seconds.push_back(since(t0));
        cpu_seconds.push_back(ProcessCpuSeconds() - c0);
        phases["forward"].push_back(std::chrono::duration<double>(t1 - t0).count());
        phases["loss"].push_back(std::chrono::duration<double>(t2 - t1).count());
        phases["backward"].push_back(std::chrono::duration<double>(t3 - t2).count());
        phases["optimizer"].push_back(since(t3));
      }
    } else {
      torch::NoGradGuard no_grad;
      model->eval();
      const std::vector<std::pair<int, int>> sizes(batch, {size, size});
      std::vector<double> counts;
      for (int it = 0; it < total_iters; ++it) {
        auto profiler = profiler_for(it);
        const double c0 = ProcessCpuSeconds();
        const auto t0 = Clock::now();
        std::vector<ImageDetections> dets =
            Infer(*model, *config, images, sizes, torch::Device(torch::kCPU));
        if (it == 0 || it > iters) continue;
        seconds.push_back(since(t0));
        cpu_seconds.push_back(ProcessCpuSeconds() - c0);
        double n = 0;
        for (const auto& d : dets) n += static_cast<double>(d.classes.size(0));
        counts.push_back(n / static_cast<double>(batch));
      }
      detections = Median(counts);
    }
  } catch (const std::exception& e) {
    return Fail(std::string("LibTorch: ") + e.what());
  }
  const double step_s = Median(seconds);
  nlohmann::json out = {{"side", "ours"},
                        {"net", net},
                        {"mode", mode},
                        {"batch", batch},
                        {"image_size", size},
                        {"threads", threads},
                        {"memory_format", memory_format},
                        {"iters", seconds.size()},
                        {"seconds_per_iter_median", step_s},
                        {"cpu_seconds_per_iter_median", Median(cpu_seconds)},
                        {"images_per_s", static_cast<double>(batch) / step_s}};
  if (mode == "infer") out["detections_per_image"] = detections;
  for (const auto& [name, v] : phases) out["phase_s"][name] = Median(v);
  std::cout << out.dump() << std::endl;
  return 0;
}
