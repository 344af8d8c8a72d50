// Decoding dataset images into the pixel grid their annotations were made on.
//
// Colour: every decodable format becomes 8-bit RGB with three channels: grayscale images are
// replicated to three channels, CMYK JPEGs (Adobe's inverted convention, what Photoshop and
// Pillow write) are converted by OpenCV's libjpeg reader, alpha is dropped.
//
// EXIF orientation: the annotation's size decides (docs/detector.md "Real COCO data"). The image
// is decoded upright, EXIF orientation applied, as the reference YOLACT's cv2.imread does; when
// that size differs from the annotation's width x height but the stored pixel grid (orientation
// ignored) has the annotation's size, the stored grid is used instead: the annotation tool drew
// on it. A square image, or a 180-degree rotation, cannot be told apart by size and is used
// upright.
//
// Thread safety: pure functions.
#pragma once

#include <filesystem>
#include <opencv2/core.hpp>

#include "common/status.h"

namespace ablate::detector {

// Decodes `path` as CV_8UC3 RGB. `expected_width` x `expected_height` is the annotation file's
// size for the image (0 x 0: unknown; then the upright decode is returned).
// Errors: NotFound "missing image PATH" when the file does not exist; DataLoss "cannot decode
// image PATH" when OpenCV cannot read it; InvalidArgument "image PATH is WxH (HxW upright), the
// annotation says WxH" when neither orientation has the expected size.
StatusOr<cv::Mat> ReadImageRgb(const std::filesystem::path& path, int expected_width = 0,
                               int expected_height = 0);

}  // namespace ablate::detector
