// Writes the synthetic benchmark cases (deterministic) into a folder:
//   bbox_gt.json, bbox_dets.json : 5000 images, 80 categories, ~7 GT / image, 100 dets / image
//   segm_gt.json, segm_dets.json : 500 images, polygon GT, 100 compressed-RLE dets / image
// Usage: coco_bench_gen DIR   (files already there are kept)
#include <cstdio>
#include <filesystem>
#include <string>

#include "bench/coco/synthetic_case.h"

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  using ablate::coco::bench::SyntheticCaseOptions;
  const fs::path dir = argc > 1 ? argv[1] : "coco-bench-data";
  fs::create_directories(dir);
  struct Case {
    const char* name;
    SyntheticCaseOptions opts;
  };
  SyntheticCaseOptions bbox;
  SyntheticCaseOptions segm;
  segm.num_images = 500;
  segm.segm = true;
  for (const Case& c : {Case{"bbox", bbox}, Case{"segm", segm}}) {
    const fs::path gt = dir / (std::string(c.name) + "_gt.json");
    const fs::path dets = dir / (std::string(c.name) + "_dets.json");
    if (fs::exists(gt) && fs::exists(dets)) continue;
    ablate::Status s = ablate::coco::bench::WriteSyntheticCase(c.opts, gt.string(), dets.string());
    if (!s.ok()) {
      std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
      return 1;
    }
    std::printf("wrote %s (%.1f MB) and %s (%.1f MB)\n", gt.c_str(), fs::file_size(gt) / 1e6,
                dets.c_str(), fs::file_size(dets) / 1e6);
  }
  return 0;
}
