// Looking at predictions: `ablate-train predict` writes annotated JPEGs of single images (a folder,
// or a COCO file with its ground truth beside). Inference and the drawing of detections are
// evaluation's (detector/evaluate.h); detector/render.h draws.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "detector/checkpoint.h"
#include "detector/evaluate.h"
#include "detector/render.h"
#include "nlohmann/json.hpp"

namespace ablate::detector {

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
