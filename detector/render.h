// Annotated images of detections, for people to look at: `ablate-train predict` and the small
// gallery every evaluation writes. OpenCV only (no LibTorch), so it builds and tests in seconds.
//
// Coordinates are pixels of the source image, boxes (x1, y1, x2, y2). Images are RGB on input
// (as the data loader decodes them) and BGR on output (what cv::imencode expects).
// Thread safety: every function is pure; call from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "common/status.h"

namespace ablate::detector {

// One detection or ground-truth object to draw.
struct DrawnObject {
  int64_t label = 0;                // 0-based foreground class (COCO category = sorted ids[label])
  std::array<float, 4> box_xyxy{};  // pixels of the source image
  cv::Mat mask;                     // CV_8UC1 0/1 of the source image's size; empty: box only
  double score = -1;                // detection score; < 0 for ground truth (no score in the label)
  bool crowd = false;               // ground-truth crowd region: drawn grey, never "missed"
};

struct RenderOptions {
  // Small images (the tiny preset works at 128 px) are enlarged so that the short side is at
  // least this many pixels before drawing (text stays legible); large ones are shrunk so that
  // the long side is at most max_long_side (compact files).
  int min_short_side = 384;
  int max_long_side = 1024;
  double mask_alpha = 0.45;  // opacity of a detection's mask colour
  double match_iou = 0.5;    // box IoU (same class) at which a detection "finds" a ground truth
  int jpeg_quality = 85;
};

// Counts from the greedy score-ordered matching of detections to non-crowd ground truth of the
// same class (box IoU >= match_iou), shown in the header.
struct RenderSummary {
  int detections = 0, ground_truth = 0, missed = 0, false_positives = 0;
};

// Distinct colour of a class (BGR), stable for a label; cycles after 20 classes.
cv::Scalar ClassColorBgr(int64_t label);

// class_names[label], or "class N" (N = label + 1) when there is no such name.
std::string ClassName(const std::vector<std::string>& class_names, int64_t label);

// Draws `predictions` on `image_rgb` (CV_8UC3): each mask blended in its class colour with a
// contour, its box, and a label "name 0.87" on a filled background; higher scores are drawn on
// top. With `ground_truth` non-null a second panel shows the same image with the ground truth
// outlined (missed objects labelled "MISSED" in red), side by side: [prediction | ground truth].
// A header line above shows `title` and the counts. Returns a BGR CV_8UC3 image.
cv::Mat RenderDetections(const cv::Mat& image_rgb, const std::vector<DrawnObject>& predictions,
                         const std::vector<DrawnObject>* ground_truth, const std::string& title,
                         const std::vector<std::string>& class_names, const RenderOptions& options,
                         RenderSummary* summary = nullptr);

// JPEG bytes of a BGR image. Internal error if OpenCV cannot encode it.
StatusOr<std::string> EncodeJpeg(const cv::Mat& bgr, int quality);

// A fixed sample of `count` ids out of `image_ids`: the ids with the smallest hash of (seed, id),
// returned sorted. Depends only on the set of ids, the count and the seed (not on their order or
// on the platform), so every evaluation of the same validation set shows the same images.
std::vector<int64_t> SelectGalleryImageIds(std::vector<int64_t> image_ids, int count,
                                           uint64_t seed);

}  // namespace ablate::detector
