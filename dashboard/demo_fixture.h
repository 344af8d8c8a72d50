// A small, deterministic tuning history written through the RunStore API: a base run with
// checkpoints, a sweep of focal-loss trials forked from its step0003000 checkpoint (every status
// present), loss/lr/throughput curves, bbox and segm evaluations with per-category AP, and one
// eval-only re-scoring. Every evaluation pass records detection counts, and, when a gallery folder
// is given, a gallery of 4 small JPEGs written there (issue 7). Used by the dashboard tests, the
// browser test and `ablate-dashboard demo`.
//
// The figures below are chosen by hand; tests assert against these constants, never against
// output of the dashboard itself.
#pragma once

#include <array>
#include <filesystem>
#include <span>
#include <string_view>

#include "common/status.h"
#include "server/run_store.h"

namespace ablate::dashboard::demo {

inline constexpr std::string_view kBaseRun = "base-r50";
inline constexpr std::string_view kSweep = "focal-sweep";
inline constexpr std::string_view kForkCheckpoint = "step0003000-ep003-loss2.950";
inline constexpr std::string_view kDataset = "sha256:demo-val2017";
inline constexpr std::array<std::string_view, 4> kCategories = {"circle", "square", "triangle",
                                                                "star"};

struct DemoTrial {
  std::string_view name;
  double gamma;
  double lr;
  server::RunStatus status;
  int last_step;         // last logged step (trials start at 3000, where they forked)
  double final_bbox_ap;  // bbox AP at the last checkpoint; earlier checkpoints score less
  double final_segm_ap;
};

// Sorted by final bbox AP, best first, among those that have evaluations.
inline constexpr std::array<DemoTrial, 6> kTrials = {{
    {"focal-g2.0-lr1e-3", 2.0, 1e-3, server::RunStatus::kSucceeded, 6000, 0.312, 0.281},
    {"focal-g1.5-lr1e-3", 1.5, 1e-3, server::RunStatus::kSucceeded, 6000, 0.305, 0.276},
    {"focal-g2.0-lr2e-3", 2.0, 2e-3, server::RunStatus::kSucceeded, 6000, 0.298, 0.270},
    {"focal-g2.5-lr1e-3", 2.5, 1e-3, server::RunStatus::kRunning, 4000, 0.262, 0.231},
    {"focal-g1.0-lr1e-3", 1.0, 1e-3, server::RunStatus::kFailed, 4000, 0.201, 0.180},
    {"focal-g3.0-lr1e-3", 3.0, 1e-3, server::RunStatus::kQueued, 3000, -1, -1},
}};
inline constexpr double kBaseFinalBboxAp = 0.274;  // base-r50 at step0003000
inline constexpr double kRescoredBboxAp = 0.316;   // best trial re-scored at score_threshold 0.005

// Detection counts (issue 7). An evaluation at score_threshold 0.05 with bbox AP `ap` (the pass's
// bbox AP; its segm evaluation carries the same counts) wrote DemoDetections(ap) detections on
// kValImages images, at most kMaxPerImage on one; the re-scoring at 0.005 wrote
// kRescoredDetections (at most kRescoredMaxPerImage). Results files: kResultBytesPerDetection
// bytes per detection.
inline constexpr int kValImages = 200;
inline constexpr int kMaxPerImage = 12;
inline constexpr int kRescoredDetections = 9400;
inline constexpr int kRescoredMaxPerImage = 100;
inline constexpr int kResultBytesPerDetection = 130;
int DemoDetections(double ap);  // 600 + round(1000 * ap), e.g. 912 for AP 0.312

// The gallery: the same 4 validation images for every pass (seed 0). The picture drawn for a
// pass is variant a (base run, even trials), b (odd trials) or dense (the 0.005 re-scoring).
inline constexpr std::array<int64_t, 4> kGalleryImageIds = {12, 139, 285, 632};
struct DemoGalleryImage {
  int image;       // index into kGalleryImageIds
  int variant;     // 0 a, 1 b, 2 dense
  int detections;  // boxes drawn
  std::string_view jpeg_base64;
};
// The 12 embedded JPEGs (dashboard/demo_gallery_images.inc, made by tools/make_demo_gallery.cc).
std::span<const DemoGalleryImage> DemoGalleryImages();

// The 12 stats derived from AP by fixed offsets (AP50 = AP + 0.18, ...), clamped to [0, 1].
CocoStats DemoStats(double ap);
// Per-category AP of an evaluation with overall AP `ap` for trial number `trial` (0-based; -1 for
// the base run).
double DemoCategoryAp(double ap, int category, int trial);

struct DemoFillReport {
  int runs = 0;
  int checkpoints = 0;
  int evaluations = 0;
  int metric_points = 0;
};

// Writes the history. `gallery_root` (absolute; empty: no galleries) receives each pass's gallery
// JPEGs under <run>/<checkpoint>-s<score_threshold>/NNNNNN.jpg, registered as file:// URIs.
// Idempotent: a second call with the same arguments changes nothing.
StatusOr<DemoFillReport> FillDemo(server::RunStore& store,
                                  const std::filesystem::path& gallery_root = {});

}  // namespace ablate::dashboard::demo
