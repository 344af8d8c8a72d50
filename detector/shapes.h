// Synthetic COCO-format instance-segmentation data: images of several shape classes (circle,
// square, triangle, cross) with masks, some overlapping, some crowd regions, varied sizes and
// textured backgrounds. Deterministic for a seed.
#pragma once

#include <filesystem>

#include "common/status.h"

namespace ablate::detector {

struct ShapesOptions {
  int train_images = 2000;
  int val_images = 200;
  int image_size = 128;  // square images, pixels
  int min_objects = 1, max_objects = 5;
  double min_object_frac = 0.1, max_object_frac = 0.6;  // object size / image size
  double crowd_probability = 0.1;  // per image: add one crowd region (a cluster of small dots)
  uint64_t seed = 1;
};

// Writes DIR/train.json, DIR/val.json and DIR/images/{train,val}_%06d.png. Annotations carry
// RLE masks of the visible pixels (occlusion by later shapes removed), bbox and area from the
// mask; categories 1..4 = circle, square, triangle, cross.
Status WriteShapesDataset(const std::filesystem::path& dir, const ShapesOptions& options);

}  // namespace ablate::detector
