// Data: COCO-format datasets (annotation JSON + image folder) read with our COCO library and
// OpenCV, the reference augmentations (seeded), and a multi-threaded prefetching batch loader.
//
// Coordinates: RawSample boxes are pixels (x1, y1, x2, y2); Sample boxes are relative to the
// network input (point form). Images are RGB.
#pragma once

#include <torch/types.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <opencv2/core.hpp>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "coco/dataset.h"
#include "common/mutex.h"
#include "common/status.h"
#include "detector/losses.h"

namespace ablate::detector {

// One decoded image with its annotations, before resizing.
struct RawSample {
  cv::Mat image;                            // CV_8UC3 RGB (CV_32FC3 during augmentation)
  std::vector<cv::Mat> masks;               // CV_8UC1 0/1, one per object, image-sized
  std::vector<std::array<float, 4>> boxes;  // pixels x1, y1, x2, y2
  std::vector<int64_t> labels;              // 0-based foreground class
  std::vector<bool> crowd;
  coco::ImageId image_id = 0;
};

// A network-ready sample.
struct Sample {
  torch::Tensor image;  // [3,S,S] float, normalised with the ImageNet mean/std (reference)
  ImageTargets targets;
  coco::ImageId image_id = 0;
  int width = 0, height = 0;  // original image size
};

// A COCO annotation file and the folder its images are in (docs/detector.md "Real COCO data").
// Category ids may be any distinct integers (COCO's 80 run from 1 to 90 with gaps): labels are
// their ranks in ascending id order. Crowd annotations (iscrowd=1, usually RLE) are never
// positives; they travel as crowd boxes, which the matcher uses to ignore anchors inside them.
class CocoDetectionDataset {
 public:
  // Loads `annotation_json`; images are read from `image_dir` (default: the JSON's folder, then
  // its "images" sub-folder). `for_training` drops images without non-crowd annotations (the
  // reference resamples them; nothing to learn from); evaluation keeps every image. Image files
  // are only opened by Get() and CheckImagesExist().
  static StatusOr<std::shared_ptr<CocoDetectionDataset>> Load(
      const std::filesystem::path& annotation_json, const std::filesystem::path& image_dir,
      bool for_training);

  size_t size() const { return image_order_.size(); }
  int num_classes() const { return static_cast<int>(category_ids_.size()); }  // foreground
  coco::CategoryId CategoryIdOf(int64_t label) const { return category_ids_.at(label); }
  const coco::CocoDataset& gt() const { return gt_; }
  const coco::ImageInfo& image_info(size_t index) const;
  // Where Get(index) reads the image from.
  std::filesystem::path image_path(size_t index) const;
  const std::filesystem::path& image_dir() const { return image_dir_; }
  const std::filesystem::path& annotation_json() const { return annotation_json_; }

  // NotFound naming the first missing image file, the annotation file that lists it and how many
  // of the set's images are missing; OK when every image file exists. One stat per image (COCO
  // train2017: 118k, about a second), so training and evaluation fail before they start.
  Status CheckImagesExist() const;

  // Decodes image `index` (0 <= index < size()) and its masks (polygons or RLE) per
  // ReadImageRgb (detector/image_file.h: grayscale/CMYK to RGB, EXIF orientation decided by the
  // annotation's size). Errors name the image file and the annotation file: NotFound (missing),
  // DataLoss (undecodable), InvalidArgument (size differs from the annotation's).
  StatusOr<RawSample> Get(size_t index) const;

 private:
  CocoDetectionDataset() = default;
  coco::CocoDataset gt_;
  std::filesystem::path annotation_json_;
  std::filesystem::path image_dir_;
  std::vector<size_t> image_order_;             // indices into gt_.images()
  std::vector<coco::CategoryId> category_ids_;  // label -> category id (sorted ids)
  std::map<coco::CategoryId, int64_t> label_of_;
  std::map<coco::ImageId, std::vector<size_t>> annotations_of_;
};

struct AugmentOptions {
  // "none", "mirror", "flip8" (photometric + the 8 flips/rotations), "reference"
  // (photometric distortion, expand, SSD random crop, mirror).
  std::string mode = "reference";
  double max_expand = 4.0;
  double min_box_size = 4.0 / 550.0;  // boxes narrower/shorter than this (relative) are dropped
};

// Augments (training) and resizes to size x size; `rng` makes it reproducible.
Sample PrepareSample(RawSample raw, int size, const AugmentOptions& options, std::mt19937_64* rng);

// Stacks samples: images [B,3,S,S], targets per image.
struct Batch {
  torch::Tensor images;
  std::vector<ImageTargets> targets;
  std::vector<coco::ImageId> image_ids;
  std::vector<std::pair<int, int>> sizes;  // original (width, height)
  int64_t epoch = 0;
  double load_seconds = 0;  // worker time spent producing this batch
};

struct LoaderOptions {
  int batch_size = 8;
  int size = 128;
  int num_workers = 2;  // 0: produce batches on the caller's thread
  int prefetch_batches = 4;
  bool shuffle = true;
  bool drop_last = true;
  uint64_t seed = 1;
  AugmentOptions augment;
  bool augment_enabled = true;
};

// Infinite (training) or single-pass iterator over batches. Batch k is always built from the same
// images with the same random draws (seed, k), whatever the thread count. Thread-safe: Next() is
// called from one thread; workers are owned and joined by the destructor.
class BatchLoader {
 public:
  BatchLoader(std::shared_ptr<const CocoDetectionDataset> dataset, LoaderOptions options,
              int64_t first_batch, bool infinite);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // The next batch; nullopt at the end of a single pass. An error if an image failed to load.
  StatusOr<std::optional<Batch>> Next();
  int64_t batches_per_epoch() const { return batches_per_epoch_; }

 private:
  StatusOr<Batch> Build(int64_t k) const;
  std::vector<size_t> EpochOrder(int64_t epoch) const;
  void Work(int worker);

  std::shared_ptr<const CocoDetectionDataset> dataset_;
  LoaderOptions options_;
  int64_t batches_per_epoch_ = 0;
  int64_t total_batches_ = -1;  // -1: infinite
  int64_t first_batch_ = 0;
  // The next batch index to hand out. Written only by Next(), under mu_ when workers run (they
  // read it under mu_); Next() reads its own writes without the lock.
  int64_t next_ = 0;
  Mutex mu_;
  CondVar cv_;  // a batch is ready, next_ moved, or stop_
  std::map<int64_t, StatusOr<Batch>> ready_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

// Converts a full-resolution 0/1 mask [H,W] (row-major uint8 tensor or cv::Mat) to COCO RLE.
coco::Segmentation MaskToRle(const uint8_t* row_major, int height, int width);

}  // namespace ablate::detector
