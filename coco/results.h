// A detector's results list, loaded with pycocotools' COCO.loadRes semantics.
//
// loadRes rules reproduced (decided by the FIRST detection, as the reference does):
//  * first detection has a non-empty bbox  -> "bbox branch": area = w*h of the box; a detection
//    without segmentation gets the polygon [[x1,y1, x1,y2, x2,y2, x2,y1]] of its box;
//  * otherwise, first detection has a segmentation -> "segmentation branch": every segmentation
//    must be a compressed RLE; area = its pixel count; a missing bbox = the mask's extent;
//  * detection ids are 1..N in list order; iscrowd = 0.
// Errors (where pycocotools raises): an empty list, a detection on an image id absent from the
// ground truth, a polygon or uncompressed RLE in the segmentation branch, a detection missing the
// field its branch needs, an RLE whose runs do not add up to h*w.
//
// Thread safety: immutable after construction.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "coco/dataset.h"
#include "common/status.h"

namespace ablate::coco {

// One detection as a detector reports it (the in-memory input of CocoResults).
struct Detection {
  ImageId image_id = 0;
  CategoryId category_id = 0;
  bool has_bbox = true;  // false: no "bbox" field (or an empty one)
  BoxXywh bbox;
  double score = 0;
  Segmentation segmentation;  // Kind::kNone when absent
};

// A detection after loadRes.
struct ResultAnnotation {
  AnnotationId id = 0;  // 1-based position in the results list
  ImageId image_id = 0;
  CategoryId category_id = 0;
  bool has_bbox = true;  // whether the input had a bbox (else bbox = the mask's extent)
  BoxXywh bbox;
  double area = 0;
  double score = 0;
  // Kind::kNone (bbox branch, no segmentation given): the mask is the polygon of the box,
  // [[x1,y1, x1,y2, x2,y2, x2,y1]], as loadRes builds it; segm evaluation rasterises it.
  Segmentation segmentation;
};

class CocoResults {
 public:
  // Reads a results file (a JSON array of detections). Errors as above, plus NotFound for an
  // unreadable file and InvalidArgument naming the index and field of malformed entries.
  static StatusOr<CocoResults> LoadFile(const std::string& path, const CocoDataset& gt);
  static StatusOr<CocoResults> Parse(std::string_view json, const CocoDataset& gt);
  static StatusOr<CocoResults> FromDetections(std::vector<Detection> detections,
                                              const CocoDataset& gt);

  const std::vector<ResultAnnotation>& annotations() const { return annotations_; }

 private:
  // loadRes: checks, ids, areas, boxes (see the top of this file).
  Status ApplyLoadRes(const CocoDataset& gt);

  std::vector<ResultAnnotation> annotations_;
};

// The raw detections of a results file, before loadRes (for callers that filter or transform
// them first). Errors: NotFound for an unreadable file; InvalidArgument for malformed content.
StatusOr<std::vector<Detection>> ReadDetectionsFile(const std::string& path);
StatusOr<std::vector<Detection>> ParseDetectionsJson(std::string_view json);

// Writes a results list as COCO JSON: [{"image_id", "category_id", "bbox", "score",
// "segmentation": {"size": [h, w], "counts": "<compressed>"}}], numbers with full double
// precision (shortest round-trip form). Polygons are written as polygons; a detection without
// a bbox (has_bbox = false) is written without one.
std::string WriteResultsJson(const std::vector<Detection>& detections);

}  // namespace ablate::coco
