#include "detector/image_file.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace ablate::detector {
namespace {

std::string SizeText(const cv::Mat& m) { return absl::StrCat(m.cols, "x", m.rows); }

}  // namespace

StatusOr<cv::Mat> ReadImageRgb(const std::filesystem::path& path, int expected_width,
                               int expected_height) {
  cv::Mat bgr = cv::imread(path.string(), cv::IMREAD_COLOR);  // EXIF orientation applied
  if (bgr.empty()) {
    std::error_code ec;
    return std::filesystem::exists(path, ec)
               ? absl::DataLossError("cannot decode image " + path.string())
               : absl::NotFoundError("missing image " + path.string());
  }
  const bool known = expected_width > 0 && expected_height > 0;
  if (known && (bgr.cols != expected_width || bgr.rows != expected_height)) {
    cv::Mat stored = cv::imread(path.string(), cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
    if (stored.cols != expected_width || stored.rows != expected_height) {
      return absl::InvalidArgumentError(
          absl::StrCat("image ", path.string(), " is ", SizeText(stored), " (", SizeText(bgr),
                       " upright), the annotation says ", expected_width, "x", expected_height));
    }
    bgr = stored;
  }
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

}  // namespace ablate::detector
