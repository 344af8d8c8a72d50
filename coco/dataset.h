// COCO "instances" ground truth: images, categories and annotations, loaded from JSON (simdjson,
// numbers as correctly rounded doubles) or built in memory.
//
// Thread safety: a CocoDataset is immutable after construction; concurrent reads are safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "coco/box.h"
#include "coco/rle.h"
#include "common/status.h"

namespace ablate::coco {

using ImageId = int64_t;
using CategoryId = int64_t;
using AnnotationId = int64_t;

// A COCO segmentation: polygons (several parts = union, pixel coordinates x0,y0,x1,y1,...) or an
// RLE (compressed or uncompressed in JSON; always decoded here, with the size written in it).
struct Segmentation {
  enum class Kind { kNone, kPolygons, kRle };
  Kind kind = Kind::kNone;
  std::vector<std::vector<double>> polygons;  // kPolygons
  Rle rle;                                    // kRle
  bool rle_was_uncompressed = false;          // kRle written with a list of counts
};

struct ImageInfo {
  ImageId id = 0;
  uint32_t width = 0;
  uint32_t height = 0;
  std::string file_name;
};

struct CategoryInfo {
  CategoryId id = 0;
  std::string name;
  std::string supercategory;
};

struct GtAnnotation {
  AnnotationId id = 0;
  ImageId image_id = 0;
  CategoryId category_id = 0;
  BoxXywh bbox;
  double area = 0;  // as written in the file; never recomputed (pycocotools uses it as is)
  bool iscrowd = false;
  Segmentation segmentation;
};

class CocoDataset {
 public:
  // Reads and parses a ground-truth file. Errors: NotFound / DataLoss for the file,
  // InvalidArgument naming the section, index and field for malformed content.
  static StatusOr<CocoDataset> LoadFile(const std::string& path);
  static StatusOr<CocoDataset> Parse(std::string_view json);
  // In-memory construction. Fails (InvalidArgument) on duplicate image or category ids and on
  // RLEs whose runs do not add up to h*w.
  // Annotations may reference unknown images; they are kept (as pycocotools does).
  static StatusOr<CocoDataset> FromParts(std::vector<ImageInfo> images,
                                         std::vector<CategoryInfo> categories,
                                         std::vector<GtAnnotation> annotations);

  const std::vector<ImageInfo>& images() const { return images_; }
  const std::vector<CategoryInfo>& categories() const { return categories_; }
  // In file order (the order matters for pycocotools' tie-breaking).
  const std::vector<GtAnnotation>& annotations() const { return annotations_; }

  // nullptr when absent.
  const ImageInfo* FindImage(ImageId id) const;
  bool HasCategory(CategoryId id) const { return category_index_.contains(id); }
  // pycocotools' default params.imgIds / params.catIds: all ids, sorted ascending.
  std::vector<ImageId> SortedImageIds() const;
  std::vector<CategoryId> SortedCategoryIds() const;

 private:
  Status BuildIndex();

  std::vector<ImageInfo> images_;
  std::vector<CategoryInfo> categories_;
  std::vector<GtAnnotation> annotations_;
  absl::flat_hash_map<ImageId, uint32_t> image_index_;
  absl::flat_hash_map<CategoryId, uint32_t> category_index_;
};

}  // namespace ablate::coco
