// Evaluation of the detector: eval-mode inference (network -> Detect -> postprocess), COCO bbox
// and segm scoring of a dataset with ablate_coco, and the gallery of annotated validation images
// written with every evaluation. Used by Train (evaluation during and after training), by
// `ablate-train eval` and, for inference and drawing, by Predict (detector/predict.h).
//
// Thread safety: a model must not run two of these at once (see detector/model.h); the functions
// keep no state of their own.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/coco_stats.h"
#include "common/status.h"
#include "detector/config/train_config.h"
#include "detector/data.h"
#include "detector/detect.h"
#include "detector/model.h"
#include "detector/render.h"
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

// A few annotated validation images written by every evaluation, so that runs can be compared
// by eye: the same image ids every time (SelectGalleryImageIds over the sorted ids of the set).
struct GalleryOptions {
  std::filesystem::path dir;  // empty: no gallery; else DIR/<image_id %06d>.jpg
  int count = 8;              // images; 0: no gallery
  uint64_t seed = 0;
  // Detections drawn: score >= max(min_score, the evaluation's score_threshold). COCO evaluation
  // runs at a low threshold (0.05) where a drawing of everything would be unreadable.
  double min_score = 0.3;
};

struct EvalOptions {
  int batch_size = 8;
  int num_workers = 2;
  std::filesystem::path results_json;  // when set, COCO results (bbox + segm RLE) are written
  GalleryOptions gallery;
};

struct EvalResult {
  struct CategoryAp {
    int64_t id = 0;
    std::string name;
    double ap = -1;  // -1: no ground truth of this category (pycocotools' convention)
  };
  CocoStats bbox{}, segm{};
  std::vector<CategoryAp> bbox_categories, segm_categories;  // AP @[.5:.95], all, maxDets 100
  std::string bbox_summary, segm_summary;                    // pycocotools summarize() text
  int64_t num_images = 0, num_detections = 0;
  int64_t detections_per_image_max = 0;
  int64_t results_bytes = 0;  // size of EvalOptions::results_json as written; 0 when none
  struct GalleryImage {
    int64_t image_id = 0;
    std::string file;  // name inside Gallery::dir
    int64_t bytes = 0;
    int64_t detections = 0;  // drawn (score >= the gallery's threshold)
  };
  struct Gallery {
    std::filesystem::path dir;  // absolute
    uint64_t seed = 0;
    std::vector<GalleryImage> images;  // sorted by image id
  };
  std::optional<Gallery> gallery;  // when a gallery was asked for and written
  // Why the gallery asked for could not be written (the evaluation itself is still valid);
  // empty otherwise.
  std::string gallery_error;
  double images_per_s = 0;
  // {"bbox": {"stats": {...}}, "segm": {...}, "num_images", "num_detections",
  //  "detections_per_image_max", "results_bytes", "eval_images_per_s", ["gallery"]}
  nlohmann::json ToJson() const;
};

// {"dir", "images": [{"image_id", "file", "bytes", "detections"}], "seed"} (the event contract).
nlohmann::json GalleryToJson(const EvalResult::Gallery& gallery);

// Runs inference over `dataset` (no augmentation) and evaluates bbox and segm with ablate_coco.
// Writes options.results_json and the gallery when asked; a gallery that cannot be written is
// reported in gallery_error, not as an error. Errors: the loader's (an unreadable image),
// Internal for LibTorch failures, the write error of results_json.
StatusOr<EvalResult> Evaluate(YolactImpl& model, const TrainConfig& config,
                              std::shared_ptr<const CocoDetectionDataset> dataset,
                              const EvalOptions& options, torch::Device device);

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

}  // namespace ablate::detector
