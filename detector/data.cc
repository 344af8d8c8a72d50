#include "detector/data.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <opencv2/imgproc.hpp>

#include "absl/strings/str_cat.h"
#include "coco/polygon.h"
#include "coco/rle.h"
#include "detector/image_file.h"

namespace ablate::detector {
namespace {

// Reference YOLACT MEANS / STD (RGB order after its BGR->RGB transform).
constexpr float kMean[3] = {123.68f, 116.78f, 103.94f};
constexpr float kStd[3] = {58.40f, 57.12f, 57.38f};

double Uniform(std::mt19937_64* rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(*rng);
}
bool Coin(std::mt19937_64* rng) { return std::uniform_int_distribution<int>(0, 1)(*rng) == 1; }

cv::Mat ColMajorToMat(const std::vector<uint8_t>& col_major, int h, int w) {
  cv::Mat t(w, h, CV_8UC1, const_cast<uint8_t*>(col_major.data()));
  cv::Mat m;
  cv::transpose(t, m);
  return m;
}

void Photometric(cv::Mat& img, std::mt19937_64* rng) {
  // img: CV_32FC3 RGB 0..255. Brightness, contrast (before or after), saturation and hue.
  if (Coin(rng)) img += cv::Scalar::all(Uniform(rng, -32, 32));
  const bool contrast_first = Coin(rng);
  auto contrast = [&] {
    if (Coin(rng)) img *= Uniform(rng, 0.5, 1.5);
  };
  if (contrast_first) contrast();
  cv::Mat clipped;
  cv::min(cv::max(img, 0.0), 255.0, clipped);
  cv::Mat hsv;
  cv::cvtColor(clipped / 255.0, hsv, cv::COLOR_RGB2HSV);  // H in degrees, S, V in [0,1]
  std::vector<cv::Mat> ch;
  cv::split(hsv, ch);
  if (Coin(rng)) ch[1] *= Uniform(rng, 0.5, 1.5);
  if (Coin(rng)) {
    ch[0] += Uniform(rng, -18, 18);
    cv::Mat over = ch[0] >= 360, under = ch[0] < 0;
    cv::subtract(ch[0], 360, ch[0], over);
    cv::add(ch[0], 360, ch[0], under);
  }
  cv::min(ch[1], 1.0, ch[1]);
  cv::merge(ch, hsv);
  cv::cvtColor(hsv, img, cv::COLOR_HSV2RGB);
  img *= 255.0;
  if (!contrast_first) contrast();
  cv::min(cv::max(img, 0.0), 255.0, img);
}

void Expand(RawSample& s, double max_ratio, std::mt19937_64* rng) {
  if (max_ratio <= 1 || !Coin(rng)) return;
  const double ratio = Uniform(rng, 1, max_ratio);
  const int h = s.image.rows, w = s.image.cols;
  const int nh = static_cast<int>(h * ratio), nw = static_cast<int>(w * ratio);
  const int top = static_cast<int>(Uniform(rng, 0, nh - h)),
            left = static_cast<int>(Uniform(rng, 0, nw - w));
  cv::Mat canvas(nh, nw, s.image.type(), cv::Scalar(kMean[0], kMean[1], kMean[2]));
  s.image.copyTo(canvas(cv::Rect(left, top, w, h)));
  s.image = canvas;
  for (auto& m : s.masks) {
    cv::Mat big = cv::Mat::zeros(nh, nw, CV_8UC1);
    m.copyTo(big(cv::Rect(left, top, w, h)));
    m = big;
  }
  for (auto& b : s.boxes) {
    b[0] += left;
    b[2] += left;
    b[1] += top;
    b[3] += top;
  }
}

double BoxIou(const std::array<float, 4>& a, const std::array<double, 4>& r) {
  const double iw = std::max(0.0, std::min<double>(a[2], r[2]) - std::max<double>(a[0], r[0]));
  const double ih = std::max(0.0, std::min<double>(a[3], r[3]) - std::max<double>(a[1], r[1]));
  const double inter = iw * ih;
  const double area_a = (a[2] - a[0]) * (a[3] - a[1]), area_r = (r[2] - r[0]) * (r[3] - r[1]);
  return inter / (area_a + area_r - inter);
}

// SSD random crop as in the reference RandomSampleCrop.
void RandomCrop(RawSample& s, std::mt19937_64* rng) {
  static const double kModes[] = {-2, 0.1, 0.3, 0.7, 0.9, -1};  // -2: no crop, -1: any
  const int h = s.image.rows, w = s.image.cols;
  for (int attempt_mode = 0; attempt_mode < 10; ++attempt_mode) {
    const double mode = kModes[std::uniform_int_distribution<int>(0, 5)(*rng)];
    if (mode == -2) return;
    const double min_iou = mode < 0 ? -1e9 : mode;
    for (int t = 0; t < 50; ++t) {
      const double cw = Uniform(rng, 0.3 * w, w), chh = Uniform(rng, 0.3 * h, h);
      if (chh / cw < 0.5 || chh / cw > 2) continue;
      const double left = Uniform(rng, 0, w - cw), top = Uniform(rng, 0, h - chh);
      const std::array<double, 4> rect = {std::floor(left), std::floor(top), std::floor(left + cw),
                                          std::floor(top + chh)};
      double max_iou = -1;
      for (const auto& b : s.boxes) max_iou = std::max(max_iou, BoxIou(b, rect));
      if (!s.boxes.empty() && max_iou < min_iou) continue;
      std::vector<size_t> keep;
      bool has_object = false;
      for (size_t i = 0; i < s.boxes.size(); ++i) {
        const auto& b = s.boxes[i];
        const double cx = (b[0] + b[2]) / 2, cy = (b[1] + b[3]) / 2;
        if (rect[0] < cx && rect[1] < cy && rect[2] > cx && rect[3] > cy) {
          keep.push_back(i);
          has_object = has_object || !s.crowd[i];
        }
      }
      if (!has_object) continue;
      const cv::Rect roi(static_cast<int>(rect[0]), static_cast<int>(rect[1]),
                         static_cast<int>(rect[2] - rect[0]), static_cast<int>(rect[3] - rect[1]));
      if (roi.width < 2 || roi.height < 2) continue;
      RawSample out;
      out.image_id = s.image_id;
      out.image = s.image(roi).clone();
      for (size_t i : keep) {
        auto b = s.boxes[i];
        b[0] = std::max<float>(b[0], rect[0]) - rect[0];
        b[1] = std::max<float>(b[1], rect[1]) - rect[1];
        b[2] = std::min<float>(b[2], rect[2]) - rect[0];
        b[3] = std::min<float>(b[3], rect[3]) - rect[1];
        out.boxes.push_back(b);
        out.masks.push_back(s.masks[i](roi).clone());
        out.labels.push_back(s.labels[i]);
        out.crowd.push_back(s.crowd[i]);
      }
      s = std::move(out);
      return;
    }
  }
}

void FlipHorizontal(RawSample& s) {
  const float w = static_cast<float>(s.image.cols);
  cv::flip(s.image, s.image, 1);
  for (auto& m : s.masks) cv::flip(m, m, 1);
  for (auto& b : s.boxes) {
    const float x1 = w - b[2], x2 = w - b[0];
    b[0] = x1;
    b[2] = x2;
  }
}

void FlipVertical(RawSample& s) {
  const float h = static_cast<float>(s.image.rows);
  cv::flip(s.image, s.image, 0);
  for (auto& m : s.masks) cv::flip(m, m, 0);
  for (auto& b : s.boxes) {
    const float y1 = h - b[3], y2 = h - b[1];
    b[1] = y1;
    b[3] = y2;
  }
}

void Transpose(RawSample& s) {
  cv::transpose(s.image, s.image);
  for (auto& m : s.masks) cv::transpose(m, m);
  for (auto& b : s.boxes) b = {b[1], b[0], b[3], b[2]};
}

}  // namespace

StatusOr<std::shared_ptr<CocoDetectionDataset>> CocoDetectionDataset::Load(
    const std::filesystem::path& annotation_json, const std::filesystem::path& image_dir,
    bool for_training) {
  ABLATE_ASSIGN_OR_RETURN(coco::CocoDataset gt, coco::CocoDataset::LoadFile(annotation_json));
  std::shared_ptr<CocoDetectionDataset> d(new CocoDetectionDataset());
  d->gt_ = std::move(gt);
  d->annotation_json_ = annotation_json;
  d->image_dir_ = image_dir.empty() ? annotation_json.parent_path() : image_dir;
  if (d->image_dir_.empty()) d->image_dir_ = ".";
  if (image_dir.empty() && !d->gt_.images().empty() &&
      !std::filesystem::exists(d->image_dir_ / d->gt_.images()[0].file_name) &&
      std::filesystem::exists(d->image_dir_ / "images" / d->gt_.images()[0].file_name)) {
    d->image_dir_ /= "images";
  }
  d->category_ids_ = d->gt_.SortedCategoryIds();
  for (size_t i = 0; i < d->category_ids_.size(); ++i) d->label_of_[d->category_ids_[i]] = i;
  if (d->category_ids_.empty()) {
    return absl::InvalidArgumentError(annotation_json.string() + ": no categories");
  }
  std::map<coco::ImageId, int> objects;
  for (size_t i = 0; i < d->gt_.annotations().size(); ++i) {
    const coco::GtAnnotation& a = d->gt_.annotations()[i];
    d->annotations_of_[a.image_id].push_back(i);
    if (!a.iscrowd) ++objects[a.image_id];
  }
  for (size_t i = 0; i < d->gt_.images().size(); ++i) {
    if (!for_training || objects[d->gt_.images()[i].id] > 0) d->image_order_.push_back(i);
  }
  return d;
}

const coco::ImageInfo& CocoDetectionDataset::image_info(size_t index) const {
  return gt_.images()[image_order_.at(index)];
}

std::filesystem::path CocoDetectionDataset::image_path(size_t index) const {
  return image_dir_ / image_info(index).file_name;
}

Status CocoDetectionDataset::CheckImagesExist() const {
  size_t missing = 0;
  std::filesystem::path first;
  for (size_t i = 0; i < size(); ++i) {
    std::error_code ec;
    const std::filesystem::path path = image_path(i);
    if (std::filesystem::is_regular_file(path, ec)) continue;
    if (missing++ == 0) first = path;
  }
  if (missing == 0) return absl::OkStatus();
  return absl::NotFoundError(absl::StrCat("missing image ", first.string(), " (listed in ",
                                          annotation_json_.string(), "; ", missing, " of ", size(),
                                          " images missing from ", image_dir_.string(), ")"));
}

StatusOr<RawSample> CocoDetectionDataset::Get(size_t index) const {
  const coco::ImageInfo& info = image_info(index);
  const std::filesystem::path path = image_path(index);
  StatusOr<cv::Mat> rgb =
      ReadImageRgb(path, static_cast<int>(info.width), static_cast<int>(info.height));
  if (!rgb.ok()) {
    return absl::Status(rgb.status().code(),
                        absl::StrCat(rgb.status().message(), " (image id ", info.id, " of ",
                                     annotation_json_.string(), ")"));
  }
  RawSample s;
  s.image_id = info.id;
  s.image = *std::move(rgb);
  const int h = s.image.rows, w = s.image.cols;
  auto it = annotations_of_.find(info.id);
  if (it == annotations_of_.end()) return s;
  for (size_t ai : it->second) {
    const coco::GtAnnotation& a = gt_.annotations()[ai];
    auto label = label_of_.find(a.category_id);
    if (label == label_of_.end()) continue;
    cv::Mat mask;
    const coco::Segmentation& seg = a.segmentation;
    if (seg.kind == coco::Segmentation::Kind::kPolygons) {
      ABLATE_ASSIGN_OR_RETURN(coco::Rle rle, coco::RleFromPolygons(seg.polygons, h, w));
      mask = ColMajorToMat(coco::DecodeMask(rle), h, w);
    } else if (seg.kind == coco::Segmentation::Kind::kRle) {
      if (static_cast<int>(seg.rle.h) != h || static_cast<int>(seg.rle.w) != w) {
        return absl::InvalidArgumentError(absl::StrCat("annotation ", a.id, ": RLE size ",
                                                       seg.rle.h, "x", seg.rle.w, " != image ", h,
                                                       "x", w));
      }
      mask = ColMajorToMat(coco::DecodeMask(seg.rle), h, w);
    } else {
      mask = cv::Mat::zeros(h, w, CV_8UC1);
      cv::rectangle(mask,
                    cv::Rect(static_cast<int>(a.bbox.x), static_cast<int>(a.bbox.y),
                             std::max(1, static_cast<int>(a.bbox.w)),
                             std::max(1, static_cast<int>(a.bbox.h))),
                    cv::Scalar(1), cv::FILLED);
    }
    if (a.bbox.w <= 0 || a.bbox.h <= 0) continue;
    s.masks.push_back(mask);
    s.boxes.push_back({static_cast<float>(a.bbox.x), static_cast<float>(a.bbox.y),
                       static_cast<float>(a.bbox.x + a.bbox.w),
                       static_cast<float>(a.bbox.y + a.bbox.h)});
    s.labels.push_back(label->second);
    s.crowd.push_back(a.iscrowd);
  }
  return s;
}

Sample PrepareSample(RawSample s, int size, const AugmentOptions& options, std::mt19937_64* rng) {
  Sample out;
  out.image_id = s.image_id;
  out.width = s.image.cols;
  out.height = s.image.rows;
  s.image.convertTo(s.image, CV_32FC3);
  const std::string& mode = options.mode;
  if (mode == "reference" || mode == "flip8") Photometric(s.image, rng);
  if (mode == "reference") {
    Expand(s, options.max_expand, rng);
    RandomCrop(s, rng);
  }
  if (mode == "reference" || mode == "mirror") {
    if (Coin(rng)) FlipHorizontal(s);
  }
  if (mode == "flip8") {
    if (Coin(rng)) Transpose(s);
    if (Coin(rng)) FlipHorizontal(s);
    if (Coin(rng)) FlipVertical(s);
  }
  const float sx = static_cast<float>(size) / s.image.cols;
  const float sy = static_cast<float>(size) / s.image.rows;
  cv::Mat resized;
  cv::resize(s.image, resized, cv::Size(size, size), 0, 0, cv::INTER_LINEAR);
  std::vector<float> boxes, crowd_boxes;
  std::vector<int64_t> labels;
  std::vector<cv::Mat> masks;
  for (size_t i = 0; i < s.boxes.size(); ++i) {
    const auto& b = s.boxes[i];
    const float x1 = std::clamp(b[0] * sx / size, 0.f, 1.f),
                x2 = std::clamp(b[2] * sx / size, 0.f, 1.f);
    const float y1 = std::clamp(b[1] * sy / size, 0.f, 1.f),
                y2 = std::clamp(b[3] * sy / size, 0.f, 1.f);
    if (s.crowd[i]) {
      crowd_boxes.insert(crowd_boxes.end(), {x1, y1, x2, y2});
      continue;
    }
    if (x2 - x1 < options.min_box_size || y2 - y1 < options.min_box_size) continue;
    boxes.insert(boxes.end(), {x1, y1, x2, y2});
    labels.push_back(s.labels[i]);
    cv::Mat m;
    cv::Mat mf;
    s.masks[i].convertTo(mf, CV_32FC1);
    cv::resize(mf, m, cv::Size(size, size), 0, 0, cv::INTER_LINEAR);
    masks.push_back(m > 0.5f);
  }
  // Normalise and convert HWC RGB -> CHW.
  std::vector<cv::Mat> ch;
  cv::split(resized, ch);
  torch::Tensor image = torch::empty({3, size, size}, torch::kFloat32);
  for (int c = 0; c < 3; ++c) {
    cv::Mat n = (ch[c] - kMean[c]) / kStd[c];
    image[c].copy_(torch::from_blob(n.data, {size, size}, torch::kFloat32));
  }
  out.image = image;
  const int64_t g = static_cast<int64_t>(labels.size());
  out.targets.boxes = torch::tensor(boxes, torch::kFloat32).view({g, 4});
  out.targets.labels = torch::tensor(labels, torch::kLong).view({g});
  out.targets.masks = torch::zeros({g, size, size}, torch::kFloat32);
  for (int64_t i = 0; i < g; ++i) {
    cv::Mat m;
    masks[i].convertTo(m, CV_32FC1, 1.0 / 255.0);
    out.targets.masks[i].copy_(torch::from_blob(m.data, {size, size}, torch::kFloat32));
  }
  out.targets.crowd_boxes = torch::tensor(crowd_boxes, torch::kFloat32)
                                .view({static_cast<int64_t>(crowd_boxes.size() / 4), 4});
  return out;
}

BatchLoader::BatchLoader(std::shared_ptr<const CocoDetectionDataset> dataset, LoaderOptions options,
                         int64_t first_batch, bool infinite)
    : dataset_(std::move(dataset)),
      options_(std::move(options)),
      first_batch_(first_batch),
      next_(first_batch) {
  const int64_t n = static_cast<int64_t>(dataset_->size());
  const int64_t b = std::max(1, options_.batch_size);
  if (options_.drop_last && n >= b) {
    batches_per_epoch_ = n / b;
  } else {
    batches_per_epoch_ = (n + b - 1) / b;
  }
  total_batches_ = infinite ? -1 : batches_per_epoch_;
  for (int w = 0; w < options_.num_workers; ++w) workers_.emplace_back([this, w] { Work(w); });
}

BatchLoader::~BatchLoader() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  cv_.NotifyAll();
  for (auto& t : workers_) t.join();
}

std::vector<size_t> BatchLoader::EpochOrder(int64_t epoch) const {
  std::vector<size_t> order(dataset_->size());
  std::iota(order.begin(), order.end(), 0);
  if (options_.shuffle) {
    std::mt19937_64 rng(options_.seed * 1000003ULL + static_cast<uint64_t>(epoch));
    std::shuffle(order.begin(), order.end(), rng);
  }
  return order;
}

StatusOr<Batch> BatchLoader::Build(int64_t k) const {
  const auto start = std::chrono::steady_clock::now();
  Batch batch;
  if (batches_per_epoch_ == 0) return absl::FailedPreconditionError("empty dataset");
  batch.epoch = k / batches_per_epoch_;
  const int64_t within = k % batches_per_epoch_;
  const std::vector<size_t> order = EpochOrder(batch.epoch);
  std::vector<torch::Tensor> images;
  const int64_t b = options_.batch_size;
  for (int64_t i = within * b; i < std::min<int64_t>((within + 1) * b, order.size()); ++i) {
    ABLATE_ASSIGN_OR_RETURN(RawSample raw, dataset_->Get(order[i]));
    std::mt19937_64 rng(options_.seed * 6364136223846793005ULL + static_cast<uint64_t>(k) * 1000 +
                        static_cast<uint64_t>(i - within * b));
    AugmentOptions aug = options_.augment;
    if (!options_.augment_enabled) aug.mode = "none";
    Sample s = PrepareSample(std::move(raw), options_.size, aug, &rng);
    images.push_back(s.image);
    batch.targets.push_back(std::move(s.targets));
    batch.image_ids.push_back(s.image_id);
    batch.sizes.emplace_back(s.width, s.height);
  }
  batch.images = torch::stack(images);
  batch.load_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return batch;
}

void BatchLoader::Work(int worker) {
  for (int64_t k = first_batch_ + worker;; k += options_.num_workers) {
    {
      MutexLock lock(&mu_);
      cv_.Wait(&mu_, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stop_ || k < next_ + options_.prefetch_batches;
      });
      if (stop_) return;
    }
    if (total_batches_ >= 0 && k >= total_batches_) return;
    StatusOr<Batch> b = Build(k);
    {
      MutexLock lock(&mu_);
      ready_.emplace(k, std::move(b));
    }
    cv_.NotifyAll();
  }
}

StatusOr<std::optional<Batch>> BatchLoader::Next() {
  if (total_batches_ >= 0 && next_ >= total_batches_) return std::optional<Batch>();
  if (workers_.empty()) {
    ABLATE_ASSIGN_OR_RETURN(Batch b, Build(next_));
    ++next_;
    return std::optional<Batch>(std::move(b));
  }
  StatusOr<Batch> batch;
  {
    MutexLock lock(&mu_);
    cv_.Wait(&mu_, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return ready_.count(next_) > 0; });
    batch = std::move(ready_.extract(next_).mapped());
    ++next_;
  }
  cv_.NotifyAll();
  if (!batch.ok()) return batch.status();
  return std::optional<Batch>(*std::move(batch));
}

coco::Segmentation MaskToRle(const uint8_t* row_major, int height, int width) {
  std::vector<uint8_t> col(static_cast<size_t>(height) * width);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x)
      col[static_cast<size_t>(x) * height + y] = row_major[y * width + x];
  }
  coco::Segmentation seg;
  seg.kind = coco::Segmentation::Kind::kRle;
  seg.rle = coco::EncodeMask(col.data(), height, width);
  return seg;
}

}  // namespace ablate::detector
