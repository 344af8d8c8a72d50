#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "common/sha256.h"
#include "detector/cpu_threads.h"
#include "detector/tools/commands.h"

namespace ablate::detector::tool {
namespace {

absl::Status SelectDevice(const std::string& device) {
  if (device.empty()) return absl::OkStatus();
  if (device == "cpu") {
    ::setenv("CUDA_VISIBLE_DEVICES", "", 1);
    return absl::OkStatus();
  }
  if (device.rfind("cuda:", 0) == 0 && device.size() > 5 &&
      device.find_first_not_of("0123456789", 5) == std::string::npos) {
    ::setenv("CUDA_VISIBLE_DEVICES", device.substr(5).c_str(), 1);
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError("--device must be cpu or cuda:N, got '" + device + "'");
}

}  // namespace

int Fail(const absl::Status& status) {
  std::cerr << "ablate-train: " << status.ToString() << "\n";
  return 2;
}

absl::Status StartCommand(const GlobalFlags& global, int default_threads, int max_dets) {
  if (absl::Status s = SelectDevice(global.device); !s.ok()) return s;
  if (max_dets != 100) {
    return absl::InvalidArgumentError("--max-dets: only COCO's 100 is supported");
  }
  SetCpuThreads(global.threads > 0 ? global.threads : default_threads);
  return absl::OkStatus();
}

int NumCores() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

absl::StatusOr<std::string> DatasetFingerprint(const std::string& path) {
  auto hex = Sha256HexOfFile(path);
  if (!hex.ok()) return hex.status();
  return "sha256:" + *hex;
}

void PrintEval(const EvalResult& r) {
  std::cout << "bbox:\n" << r.bbox_summary << "segm:\n" << r.segm_summary;
  std::cout << r.num_detections << " detections on " << r.num_images << " images (max "
            << r.detections_per_image_max << " per image)";
  if (r.results_bytes > 0) std::cout << ", results " << r.results_bytes << " bytes";
  if (r.gallery) {
    std::cout << ", gallery " << r.gallery->images.size() << " images in "
              << r.gallery->dir.string();
  }
  std::cout << "\n";
}

void WarnGallery(const EvalResult& r) {
  if (!r.gallery_error.empty())
    std::cerr << "ablate-train: no gallery: " << r.gallery_error << "\n";
}

void AddDetectFlags(CLI::App* cmd, EvalFlags& flags) {
  cmd->add_option("--score-threshold", flags.score_threshold, "Detect confidence threshold");
  cmd->add_option("--top-k", flags.top_k, "maximum detections per image");
}

void AddEvaluationFlags(CLI::App* cmd, EvalFlags& flags) {
  cmd->add_option("--nms-iou", flags.nms_iou, "NMS IoU threshold");
  cmd->add_option("--max-dets", flags.max_dets, "COCO maxDets of the summary (only 100)");
  cmd->add_option("--gallery", flags.gallery,
                  "annotated validation images per evaluation (a fixed sample; 0 = none)");
}

void ApplyDetectFlags(const EvalFlags& flags, TrainConfig* config) {
  if (flags.score_threshold >= 0) config->score_threshold = flags.score_threshold;
  if (flags.top_k > 0) config->max_detections = flags.top_k;
  if (flags.nms_iou > 0) config->nms_iou = flags.nms_iou;
}

}  // namespace ablate::detector::tool
