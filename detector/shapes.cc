#include "detector/shapes.h"

#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <vector>

#include "absl/strings/str_format.h"
#include "coco/rle.h"
#include "common/atomic_file.h"
#include "nlohmann/json.hpp"

namespace ablate::detector {
namespace {

using nlohmann::json;
constexpr const char* kClasses[] = {"circle", "square", "triangle", "cross"};

double U(std::mt19937_64& rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}
int I(std::mt19937_64& rng, int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}
cv::Scalar RandomColor(std::mt19937_64& rng) {
  return cv::Scalar(I(rng, 0, 255), I(rng, 0, 255), I(rng, 0, 255));
}

cv::Mat Background(int size, std::mt19937_64& rng) {
  cv::Mat img(size, size, CV_8UC3);
  const cv::Scalar a = RandomColor(rng), b = RandomColor(rng);
  const double angle = U(rng, 0, 2 * M_PI);
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      const double t =
          0.5 +
          0.5 * ((x - size / 2.0) * std::cos(angle) + (y - size / 2.0) * std::sin(angle)) / size;
      for (int c = 0; c < 3; ++c)
        img.at<cv::Vec3b>(y, x)[c] = cv::saturate_cast<uint8_t>(a[c] * (1 - t) + b[c] * t);
    }
  }
  // Texture: random lines and noise.
  for (int i = I(rng, 0, 6); i > 0; --i) {
    cv::line(img, {I(rng, 0, size), I(rng, 0, size)}, {I(rng, 0, size), I(rng, 0, size)},
             RandomColor(rng), I(rng, 1, 2));
  }
  cv::Mat signed_noise(size, size, CV_16SC3);
  cv::Mat img16;
  img.convertTo(img16, CV_16SC3);
  cv::theRNG().state = rng();
  cv::randn(signed_noise, cv::Scalar::all(0), cv::Scalar::all(I(rng, 2, 16)));
  img16 += signed_noise;
  img16.convertTo(img, CV_8UC3);
  return img;
}

// Draws shape `cls` into a 0/1 mask.
void DrawShape(cv::Mat& mask, int cls, cv::Point2d c, double s, double angle) {
  auto rot = [&](double x, double y) {
    return cv::Point(
        static_cast<int>(std::lround(c.x + x * std::cos(angle) - y * std::sin(angle))),
        static_cast<int>(std::lround(c.y + x * std::sin(angle) + y * std::cos(angle))));
  };
  std::vector<cv::Point> poly;
  switch (cls) {
    case 0:
      cv::circle(mask, cv::Point(static_cast<int>(c.x), static_cast<int>(c.y)),
                 static_cast<int>(s / 2), cv::Scalar(1), cv::FILLED);
      return;
    case 1:
      poly = {rot(-s / 2, -s / 2), rot(s / 2, -s / 2), rot(s / 2, s / 2), rot(-s / 2, s / 2)};
      break;
    case 2:
      poly = {rot(0, -s / 2), rot(s * 0.48, s * 0.4), rot(-s * 0.48, s * 0.4)};
      break;
    default: {
      const double a = s / 2, b = s / 6;
      poly = {rot(-b, -a), rot(b, -a), rot(b, -b), rot(a, -b), rot(a, b),   rot(b, b),
              rot(b, a),   rot(-b, a), rot(-b, b), rot(-a, b), rot(-a, -b), rot(-b, -b)};
    }
  }
  cv::fillPoly(mask, std::vector<std::vector<cv::Point>>{poly}, cv::Scalar(1));
}

json Rle(const cv::Mat& mask) {
  const int h = mask.rows, w = mask.cols;
  std::vector<uint8_t> col(static_cast<size_t>(h) * w);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) col[static_cast<size_t>(x) * h + y] = mask.at<uint8_t>(y, x);
  }
  coco::Rle rle = coco::EncodeMask(col.data(), h, w);
  return {{"size", {h, w}}, {"counts", coco::RleToString(rle)}};
}

json BoxOf(const cv::Mat& mask) {
  cv::Rect r = cv::boundingRect(mask);
  return {r.x, r.y, r.width, r.height};
}

Status WriteSplit(const std::filesystem::path& dir, const std::string& split, int count,
                  const ShapesOptions& o, std::mt19937_64& rng) {
  json images = json::array(), annotations = json::array(), categories = json::array();
  for (int i = 0; i < 4; ++i)
    categories.push_back({{"id", i + 1}, {"name", kClasses[i]}, {"supercategory", "shape"}});
  int64_t ann_id = 1;
  const int size = o.image_size;
  for (int n = 0; n < count; ++n) {
    cv::Mat img = Background(size, rng);
    struct Obj {
      int cls;
      cv::Mat mask;
    };
    std::vector<Obj> objs;
    cv::Mat occupied = cv::Mat::zeros(size, size, CV_8UC1);
    const int want = I(rng, o.min_objects, o.max_objects);
    for (int attempt = 0; attempt < want * 10 && static_cast<int>(objs.size()) < want; ++attempt) {
      const int cls = I(rng, 0, 3);
      const double s = U(rng, o.min_object_frac, o.max_object_frac) * size;
      const cv::Point2d c(U(rng, s / 2, size - s / 2), U(rng, s / 2, size - s / 2));
      cv::Mat m = cv::Mat::zeros(size, size, CV_8UC1);
      DrawShape(m, cls, c, s, U(rng, 0, 2 * M_PI));
      const double area = cv::countNonZero(m);
      if (area < 20) continue;
      // Allow some overlap, but keep every earlier object mostly visible.
      bool ok = true;
      for (const Obj& e : objs) {
        const double covered = cv::countNonZero(e.mask & m);
        if (covered > 0.4 * cv::countNonZero(e.mask)) ok = false;
      }
      if (!ok) continue;
      for (Obj& e : objs) e.mask &= ~m;  // occluded by the new shape
      img.setTo(RandomColor(rng), m);
      objs.push_back({cls, m});
      occupied |= m;
    }
    images.push_back({{"id", n + 1},
                      {"width", size},
                      {"height", size},
                      {"file_name", absl::StrFormat("%s_%06d.png", split, n)}});
    for (const Obj& e : objs) {
      const int area = cv::countNonZero(e.mask);
      if (area < 10) continue;
      annotations.push_back({{"id", ann_id++},
                             {"image_id", n + 1},
                             {"category_id", e.cls + 1},
                             {"iscrowd", 0},
                             {"area", area},
                             {"bbox", BoxOf(e.mask)},
                             {"segmentation", Rle(e.mask)}});
    }
    if (U(rng, 0, 1) < o.crowd_probability) {
      // A crowd region: a cluster of small dots of one class colour, annotated as one crowd.
      cv::Mat crowd = cv::Mat::zeros(size, size, CV_8UC1);
      const cv::Point2d c(U(rng, 0.2, 0.8) * size, U(rng, 0.2, 0.8) * size);
      const double spread = U(rng, 0.08, 0.2) * size;
      for (int d = I(rng, 6, 14); d > 0; --d) {
        cv::circle(crowd,
                   cv::Point(static_cast<int>(c.x + U(rng, -spread, spread)),
                             static_cast<int>(c.y + U(rng, -spread, spread))),
                   I(rng, 2, 4), cv::Scalar(1), cv::FILLED);
      }
      crowd &= ~occupied;
      if (cv::countNonZero(crowd) >= 20) {
        img.setTo(RandomColor(rng), crowd);
        annotations.push_back({{"id", ann_id++},
                               {"image_id", n + 1},
                               {"category_id", 1},
                               {"iscrowd", 1},
                               {"area", cv::countNonZero(crowd)},
                               {"bbox", BoxOf(crowd)},
                               {"segmentation", Rle(crowd)}});
      }
    }
    cv::Mat bgr;
    cv::cvtColor(img, bgr, cv::COLOR_RGB2BGR);
    const auto path = dir / "images" / absl::StrFormat("%s_%06d.png", split, n);
    if (!cv::imwrite(path.string(), bgr))
      return absl::InternalError("cannot write " + path.string());
  }
  json out = {{"info", {{"description", "ablate-train shapes"}, {"seed", o.seed}}},
              {"images", images},
              {"annotations", annotations},
              {"categories", categories}};
  return WriteFileAtomically(dir / (split + ".json"), out.dump());
}

}  // namespace

Status WriteShapesDataset(const std::filesystem::path& dir, const ShapesOptions& options) {
  if (options.image_size < 32) return absl::InvalidArgumentError("--size: at least 32 px");
  if (options.train_images < 0 || options.val_images < 0) {
    return absl::InvalidArgumentError("--train/--val: must be >= 0");
  }
  std::error_code ec;
  std::filesystem::create_directories(dir / "images", ec);
  if (ec)
    return absl::InternalError("cannot create " + (dir / "images").string() + ": " + ec.message());
  std::mt19937_64 train_rng(options.seed * 2 + 1), val_rng(options.seed * 2 + 2);
  ABLATE_RETURN_IF_ERROR(WriteSplit(dir, "train", options.train_images, options, train_rng));
  return WriteSplit(dir, "val", options.val_images, options, val_rng);
}

}  // namespace ablate::detector
