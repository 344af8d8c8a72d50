#include "detector/render.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "absl/strings/str_format.h"

namespace ablate::detector {
namespace {

// Sasha Trubetskoy's 20 distinct colours (RGB), reordered so that red, kept for "MISSED", comes
// last.
constexpr int kPalette[][3] = {{0, 130, 200},   {245, 130, 48}, {60, 180, 75},   {240, 50, 230},
                               {255, 225, 25},  {70, 240, 240}, {145, 30, 180},  {210, 245, 60},
                               {250, 190, 212}, {0, 128, 128},  {220, 190, 255}, {170, 110, 40},
                               {255, 250, 200}, {128, 0, 0},    {170, 255, 195}, {128, 128, 0},
                               {255, 215, 180}, {0, 0, 128},    {128, 128, 128}, {230, 25, 75}};
constexpr int kPaletteSize = sizeof(kPalette) / sizeof(kPalette[0]);
const cv::Scalar kMissedBgr(60, 20, 220);   // crimson
const cv::Scalar kCrowdBgr(170, 170, 170);  // light grey
const cv::Scalar kHeaderBgr(40, 40, 40);
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr int kGap = 6;  // pixels between the two panels

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

cv::Scalar TextColorOn(const cv::Scalar& bgr) {
  const double luminance = 0.114 * bgr[0] + 0.587 * bgr[1] + 0.299 * bgr[2];
  return luminance > 150 ? cv::Scalar(0, 0, 0) : cv::Scalar(255, 255, 255);
}

// Text metrics for one drawing scale.
struct Font {
  double scale = 0.5;
  int thickness = 1;
};

// Places labels so that they do not cover each other where possible.
class LabelPlacer {
 public:
  // Draws `text` on a filled background at the first free place of: above the box, inside its
  // top edge, below it (else the first of those that fits in the image, overlapping).
  void Draw(cv::Mat& img, const std::string& text, const cv::Rect& box, const cv::Scalar& bg,
            const Font& font) {
    int baseline = 0;
    const cv::Size size = cv::getTextSize(text, kFont, font.scale, font.thickness, &baseline);
    const int w = size.width + 6, h = size.height + baseline + 4;
    const int x = std::clamp(box.x - 1, 0, std::max(0, img.cols - w));
    auto at = [&](int top) {
      return cv::Rect(x, std::clamp(top, 0, std::max(0, img.rows - h)), w, h);
    };
    const cv::Rect candidates[] = {at(box.y - h), at(box.y), at(box.y + box.height)};
    cv::Rect chosen = box.y - h >= 0 ? candidates[0] : candidates[1];
    for (const cv::Rect& c : candidates) {
      const bool free = std::none_of(placed_.begin(), placed_.end(),
                                     [&](const cv::Rect& p) { return (p & c).area() > 0; });
      if (free) {
        chosen = c;
        break;
      }
    }
    placed_.push_back(chosen);
    cv::rectangle(img, chosen, bg, cv::FILLED);
    cv::putText(img, text, cv::Point(chosen.x + 3, chosen.y + size.height + 2), kFont, font.scale,
                TextColorOn(bg), font.thickness, cv::LINE_AA);
  }

 private:
  std::vector<cv::Rect> placed_;
};

// One line of header text at `origin` (baseline), shrunk to fit `max_width` if needed.
void DrawHeaderText(cv::Mat& img, const std::string& text, cv::Point origin, int max_width,
                    const cv::Scalar& color, Font font) {
  int baseline = 0;
  const int width = cv::getTextSize(text, kFont, font.scale, font.thickness, &baseline).width;
  if (width > max_width) font.scale = std::max(0.3, font.scale * max_width / width);
  cv::putText(img, text, origin, kFont, font.scale, color, font.thickness, cv::LINE_AA);
}

cv::Rect ScaledBox(const std::array<float, 4>& b, double s, const cv::Size& size) {
  const int x1 = std::clamp(static_cast<int>(std::lround(b[0] * s)), 0, size.width - 1);
  const int y1 = std::clamp(static_cast<int>(std::lround(b[1] * s)), 0, size.height - 1);
  const int x2 = std::clamp(static_cast<int>(std::lround(b[2] * s)), x1 + 1, size.width);
  const int y2 = std::clamp(static_cast<int>(std::lround(b[3] * s)), y1 + 1, size.height);
  return {x1, y1, x2 - x1, y2 - y1};
}

// The object's mask at the panel's size (0/255), empty when it has none or the wrong size.
cv::Mat ScaledMask(const DrawnObject& o, const cv::Size& source, const cv::Size& panel) {
  if (o.mask.empty() || o.mask.size() != source || o.mask.type() != CV_8UC1) return {};
  cv::Mat up;
  cv::resize(o.mask * 255, up, panel, 0, 0, cv::INTER_LINEAR);
  return up > 127;
}

double BoxIou(const std::array<float, 4>& a, const std::array<float, 4>& b) {
  const double iw = std::max(0.0, double{std::min(a[2], b[2])} - std::max(a[0], b[0]));
  const double ih = std::max(0.0, double{std::min(a[3], b[3])} - std::max(a[1], b[1]));
  const double inter = iw * ih;
  const double uni =
      double{a[2] - a[0]} * (a[3] - a[1]) + double{b[2] - b[0]} * (b[3] - b[1]) - inter;
  return uni > 0 ? inter / uni : 0;
}

// missed[g] for every ground truth, and the number of unmatched detections.
int MatchGreedy(const std::vector<DrawnObject>& preds, const std::vector<DrawnObject>& gt,
                double iou_threshold, std::vector<bool>* missed) {
  std::vector<size_t> order(preds.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return preds[a].score > preds[b].score; });
  missed->assign(gt.size(), true);
  for (size_t g = 0; g < gt.size(); ++g) (*missed)[g] = !gt[g].crowd;
  int false_positives = 0;
  for (size_t p : order) {
    double best = iou_threshold;
    int best_g = -1;
    for (size_t g = 0; g < gt.size(); ++g) {
      if (gt[g].crowd || !(*missed)[g] || gt[g].label != preds[p].label) continue;
      const double iou = BoxIou(preds[p].box_xyxy, gt[g].box_xyxy);
      if (iou >= best) {
        best = iou;
        best_g = static_cast<int>(g);
      }
    }
    if (best_g < 0) {
      ++false_positives;
    } else {
      (*missed)[best_g] = false;
    }
  }
  return false_positives;
}

void DrawPredictions(cv::Mat& panel, const cv::Size& source, double s,
                     const std::vector<DrawnObject>& preds,
                     const std::vector<std::string>& class_names, const RenderOptions& options,
                     const Font& font) {
  std::vector<size_t> order(preds.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return preds[a].score < preds[b].score; });
  for (size_t i : order) {  // masks first, lowest score first, so the best end on top
    cv::Mat m = ScaledMask(preds[i], source, panel.size());
    if (m.empty()) continue;
    const cv::Scalar color = ClassColorBgr(preds[i].label);
    cv::Mat blended;
    cv::addWeighted(panel, 1 - options.mask_alpha, cv::Mat(panel.size(), CV_8UC3, color),
                    options.mask_alpha, 0, blended);
    blended.copyTo(panel, m);
    std::vector<std::vector<cv::Point>> contours;
    cv::findContours(m, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
    cv::drawContours(panel, contours, -1, color, 2, cv::LINE_AA);
  }
  for (size_t i : order) {
    cv::rectangle(panel, ScaledBox(preds[i].box_xyxy, s, panel.size()),
                  ClassColorBgr(preds[i].label), 2);
  }
  LabelPlacer labels;  // best score first: it gets the natural place
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const DrawnObject& p = preds[*it];
    labels.Draw(panel, absl::StrFormat("%s %.2f", ClassName(class_names, p.label), p.score),
                ScaledBox(p.box_xyxy, s, panel.size()), ClassColorBgr(p.label), font);
  }
}

void DrawGroundTruth(cv::Mat& panel, const cv::Size& source, double s,
                     const std::vector<DrawnObject>& gt, const std::vector<bool>& missed,
                     const std::vector<std::string>& class_names, const Font& font) {
  for (size_t i = 0; i < gt.size(); ++i) {
    const cv::Scalar color = gt[i].crowd ? kCrowdBgr : ClassColorBgr(gt[i].label);
    const cv::Rect r = ScaledBox(gt[i].box_xyxy, s, panel.size());
    cv::Mat m = ScaledMask(gt[i], source, panel.size());
    if (m.empty()) {
      cv::rectangle(panel, r, color, 2);
      continue;
    }
    std::vector<std::vector<cv::Point>> contours;
    cv::findContours(m, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
    cv::drawContours(panel, contours, -1, color, 2, cv::LINE_AA);
    cv::rectangle(panel, r, color, 1);
  }
  LabelPlacer labels;
  for (size_t i = 0; i < gt.size(); ++i) {
    const cv::Rect r = ScaledBox(gt[i].box_xyxy, s, panel.size());
    if (gt[i].crowd) {
      labels.Draw(panel, "crowd", r, kCrowdBgr, font);
    } else if (missed[i]) {
      labels.Draw(panel, ClassName(class_names, gt[i].label) + " MISSED", r, kMissedBgr, font);
    } else {
      labels.Draw(panel, ClassName(class_names, gt[i].label), r, ClassColorBgr(gt[i].label), font);
    }
  }
}

}  // namespace

cv::Scalar ClassColorBgr(int64_t label) {
  const int i = static_cast<int>(((label % kPaletteSize) + kPaletteSize) % kPaletteSize);
  return cv::Scalar(kPalette[i][2], kPalette[i][1], kPalette[i][0]);
}

std::string ClassName(const std::vector<std::string>& class_names, int64_t label) {
  if (label >= 0 && label < static_cast<int64_t>(class_names.size()) &&
      !class_names[label].empty()) {
    return class_names[label];
  }
  return absl::StrFormat("class %d", label + 1);
}

cv::Mat RenderDetections(const cv::Mat& image_rgb, const std::vector<DrawnObject>& predictions,
                         const std::vector<DrawnObject>* ground_truth, const std::string& title,
                         const std::vector<std::string>& class_names, const RenderOptions& options,
                         RenderSummary* summary) {
  const cv::Size source = image_rgb.size();
  const int short_side = std::max(1, std::min(source.width, source.height));
  const int long_side = std::max(1, std::max(source.width, source.height));
  double s = std::max(1.0, static_cast<double>(options.min_short_side) / short_side);
  if (long_side * s > options.max_long_side) {
    s = static_cast<double>(options.max_long_side) / long_side;
  }
  const cv::Size panel_size(std::max(1, static_cast<int>(std::lround(source.width * s))),
                            std::max(1, static_cast<int>(std::lround(source.height * s))));
  cv::Mat base;
  cv::cvtColor(image_rgb, base, cv::COLOR_RGB2BGR);
  cv::resize(base, base, panel_size, 0, 0, s >= 1 ? cv::INTER_LINEAR : cv::INTER_AREA);
  Font font;
  font.scale = std::clamp(std::min(panel_size.width, panel_size.height) / 768.0, 0.5, 1.0);
  font.thickness = font.scale >= 0.8 ? 2 : 1;

  RenderSummary counts;
  counts.detections = static_cast<int>(predictions.size());
  cv::Mat pred_panel = base.clone();
  DrawPredictions(pred_panel, source, s, predictions, class_names, options, font);
  cv::Mat body = pred_panel;
  std::string header = title;
  std::string pred_caption, gt_caption;
  if (ground_truth != nullptr) {
    std::vector<bool> missed;
    counts.false_positives = MatchGreedy(predictions, *ground_truth, options.match_iou, &missed);
    for (size_t g = 0; g < ground_truth->size(); ++g) {
      counts.ground_truth += (*ground_truth)[g].crowd ? 0 : 1;
      counts.missed += missed[g] ? 1 : 0;
    }
    cv::Mat gt_panel = base.clone();
    DrawGroundTruth(gt_panel, source, s, *ground_truth, missed, class_names, font);
    body = cv::Mat(panel_size.height, 2 * panel_size.width + kGap, CV_8UC3, kHeaderBgr);
    pred_panel.copyTo(body(cv::Rect(0, 0, panel_size.width, panel_size.height)));
    gt_panel.copyTo(
        body(cv::Rect(panel_size.width + kGap, 0, panel_size.width, panel_size.height)));
    pred_caption = absl::StrFormat("prediction: %d detection%s, %d false pos.", counts.detections,
                                   counts.detections == 1 ? "" : "s", counts.false_positives);
    gt_caption =
        absl::StrFormat("ground truth: %d object%s, %d missed (box IoU %.2g)", counts.ground_truth,
                        counts.ground_truth == 1 ? "" : "s", counts.missed, options.match_iou);
  } else {
    header +=
        absl::StrFormat(" | %d detection%s", counts.detections, counts.detections == 1 ? "" : "s");
  }
  // Header: the title, then (with ground truth) one caption with the counts per panel.
  int baseline = 0;
  const int line_h =
      cv::getTextSize("Ag", kFont, font.scale, font.thickness, &baseline).height + baseline + 8;
  const int header_h = ground_truth != nullptr ? 2 * line_h : line_h;
  cv::Mat out(body.rows + header_h, body.cols, CV_8UC3, kHeaderBgr);
  body.copyTo(out(cv::Rect(0, header_h, body.cols, body.rows)));
  const cv::Scalar white(255, 255, 255), light(210, 210, 210);
  DrawHeaderText(out, header, cv::Point(4, line_h - baseline - 4), out.cols - 8, white, font);
  if (ground_truth != nullptr) {
    const int y = 2 * line_h - baseline - 4;
    DrawHeaderText(out, pred_caption, cv::Point(4, y), panel_size.width - 8, light, font);
    DrawHeaderText(out, gt_caption, cv::Point(panel_size.width + kGap + 4, y), panel_size.width - 8,
                   light, font);
  }
  if (summary != nullptr) *summary = counts;
  return out;
}

StatusOr<std::string> EncodeJpeg(const cv::Mat& bgr, int quality) {
  std::vector<uint8_t> bytes;
  try {
    if (!cv::imencode(".jpg", bgr, bytes, {cv::IMWRITE_JPEG_QUALITY, quality})) {
      return absl::InternalError("OpenCV could not encode a JPEG");
    }
  } catch (const cv::Exception& e) {
    return absl::InternalError(std::string("OpenCV could not encode a JPEG: ") + e.what());
  }
  return std::string(bytes.begin(), bytes.end());
}

std::vector<int64_t> SelectGalleryImageIds(std::vector<int64_t> image_ids, int count,
                                           uint64_t seed) {
  std::sort(image_ids.begin(), image_ids.end());
  image_ids.erase(std::unique(image_ids.begin(), image_ids.end()), image_ids.end());
  if (count <= 0) return {};
  const uint64_t salt = SplitMix64(seed);
  auto key = [salt](int64_t id) {
    return std::make_pair(SplitMix64(salt ^ static_cast<uint64_t>(id)), id);
  };
  const size_t n = std::min(image_ids.size(), static_cast<size_t>(count));
  std::partial_sort(image_ids.begin(), image_ids.begin() + n, image_ids.end(),
                    [&](int64_t a, int64_t b) { return key(a) < key(b); });
  image_ids.resize(n);
  std::sort(image_ids.begin(), image_ids.end());
  return image_ids;
}

}  // namespace ablate::detector
