// Looking at predictions: inference on images shared by Evaluate and `ablate-train predict`,
// annotated JPEGs of single images (detector/render.h draws them), and the evaluation gallery.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "detector/data.h"
#include "detector/detect.h"
#include "detector/render.h"
#include "detector/train.h"
#include "nlohmann/json.hpp"

namespace ablate::detector {

// Detect settings of a config's evaluation fields (score_threshold, nms_iou, nms_top_k,
// max_detections, nms, cross_class_nms).
DetectOptions DetectOptionsFor(const TrainConfig& config);

// Eval-mode inference on network inputs `images` [B,3,S,S] (as the loader prepares them without
// augmentation), postprocessed at each image's original size `sizes_wh[i]` = (width, height).
// Every returned tensor is on the CPU. The caller holds a NoGradGuard and has called eval().
// Throws what LibTorch throws.
std::vector<ImageDetections> Infer(YolactImpl& model, const TrainConfig& config,
                                   const torch::Tensor& images,
                                   const std::vector<std::pair<int, int>>& sizes_wh,
                                   torch::Device device);

// Detections with score >= min_score as drawable objects (boxes, 0/1 masks at the image size).
std::vector<DrawnObject> DetectionsToDrawn(const ImageDetections& detections, double min_score);
// A decoded sample's annotations as drawable objects (crowd regions flagged).
std::vector<DrawnObject> GroundTruthToDrawn(const RawSample& sample);
// Category names per 0-based label (sorted category ids), as Train stores them in checkpoints.
std::vector<std::string> ClassNamesOf(const CocoDetectionDataset& dataset);

// Draws one COCO image of `dataset` ([prediction | ground truth] panels) and writes it as
// DIR/<image_id %06d>.jpg atomically. Detections with score < min_score are not drawn.
StatusOr<EvalResult::GalleryImage> WriteGalleryImage(
    const std::filesystem::path& dir, const CocoDetectionDataset& dataset, size_t index,
    const ImageDetections& detections, double min_score, const RenderOptions& render = {});

struct PredictOptions {
  // A folder of images (*.jpg, *.jpeg, *.png, *.bmp, sorted by name) or a COCO JSON (images
  // resolved next to it as for training; ground truth drawn beside the prediction).
  std::filesystem::path images;
  std::filesystem::path out_dir;  // created if missing
  double score_threshold = 0.3;   // detections drawn (and Detect's confidence threshold)
  int top_k = 0;                  // most detections per image; 0: the checkpoint's max_detections
  int limit = 0;                  // only the first N images of the listing (0: all)
  RenderOptions render;
  std::function<void(const std::string&)> log;  // one line per skipped image; may be empty
};

struct PredictResult {
  struct Written {
    std::string source;  // input image path
    std::string file;    // output path
    int64_t bytes = 0, detections = 0;
  };
  struct Skipped {
    std::string file, reason;
  };
  std::vector<Written> written;
  std::vector<Skipped> skipped;
  int64_t detections = 0, bytes = 0;  // totals over `written`
  double seconds = 0;
  // {"images_written", "skipped": [{file, reason}], "detections", "bytes", "out_dir",
  //  "seconds", "files": [{source, file, bytes, detections}]}
  nlohmann::json ToJson(const std::filesystem::path& out_dir) const;
};

// Writes one annotated JPEG per input image into options.out_dir: <image_id %06d>.jpg for a COCO
// file, <stem>.jpg for a folder. An image that is missing or cannot be decoded is reported in
// `skipped` (and to options.log) and does not stop the others. Errors: NotFound when
// options.images does not exist; InvalidArgument when it is neither a folder nor a .json file or
// its categories do not match the model's class count; Internal for LibTorch or write failures.
// Class names: meta.class_names, else the COCO file's categories, else "class N".
StatusOr<PredictResult> Predict(YolactImpl& model, const CheckpointMeta& meta,
                                const PredictOptions& options, torch::Device device);

}  // namespace ablate::detector
