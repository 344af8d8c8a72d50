#include "detector/evaluate.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "coco/evaluator.h"
#include "coco/results.h"
#include "common/atomic_file.h"

namespace ablate::detector {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

json StatsJson(const CocoStats& stats) {
  json j = json::object();
  for (int i = 0; i < kNumCocoStats; ++i) j[std::string(kCocoStatNames[i])] = stats[i];
  return j;
}

LoaderOptions EvalLoaderOptions(const TrainConfig& config, const EvalOptions& options) {
  LoaderOptions lo;
  lo.batch_size = options.batch_size;
  lo.size = config.model.image_size;
  lo.num_workers = options.num_workers;
  lo.shuffle = false;
  lo.drop_last = false;
  lo.augment_enabled = false;
  return lo;
}

// The gallery's fixed sample of image ids -> their dataset index.
std::map<int64_t, size_t> GalleryImageIndex(const CocoDetectionDataset& dataset,
                                            const GalleryOptions& options) {
  std::vector<int64_t> ids;
  std::map<int64_t, size_t> index_of;
  for (size_t i = 0; i < dataset.size(); ++i) {
    ids.push_back(dataset.image_info(i).id);
    index_of[dataset.image_info(i).id] = i;
  }
  std::map<int64_t, size_t> gallery_index;
  for (int64_t id : SelectGalleryImageIds(ids, options.count, options.seed)) {
    gallery_index[id] = index_of.at(id);
  }
  return gallery_index;
}

// Draws one gallery image into result->gallery; the first failure is kept in
// result->gallery_error (and ends the gallery: the caller writes no more).
void AddGalleryImage(const CocoDetectionDataset& dataset, size_t index,
                     const ImageDetections& detections, double min_score, EvalResult* result) {
  auto written = WriteGalleryImage(result->gallery->dir, dataset, index, detections, min_score);
  if (written.ok()) {
    result->gallery->images.push_back(std::move(*written));
  } else {
    result->gallery_error = std::string(written.status().message());
  }
}

// A failed gallery is dropped (gallery_error says why); a written one is sorted by image id.
void FinishGallery(EvalResult* result) {
  if (!result->gallery_error.empty()) result->gallery.reset();
  if (result->gallery) {
    std::sort(result->gallery->images.begin(), result->gallery->images.end(),
              [](const auto& a, const auto& b) { return a.image_id < b.image_id; });
  }
}

// Every detection of an evaluation in COCO's form: `bbox` scored by the class score, `segm` with
// RLE masks and the mask-IoU rescored score when the network has that head.
struct CocoDetections {
  std::vector<coco::Detection> bbox, segm;
};

// Appends one image's detections; `size_wh` = (width, height) of the image (boxes and masks are
// at that size).
void AppendCocoDetections(const ImageDetections& img, int64_t image_id, std::pair<int, int> size_wh,
                          const CocoDetectionDataset& dataset, CocoDetections* out) {
  const int height = size_wh.second, width = size_wh.first;
  torch::Tensor boxes = img.boxes;
  torch::Tensor classes = img.classes;
  torch::Tensor sc = img.scores.to(torch::kFloat64);
  torch::Tensor sc_segm =
      img.scores_rescored.defined() ? img.scores_rescored.to(torch::kFloat64) : sc;
  torch::Tensor masks = img.masks.contiguous();
  for (int64_t j = 0; j < boxes.size(0); ++j) {
    coco::Detection d;
    d.image_id = image_id;
    d.category_id = dataset.CategoryIdOf(classes[j].item<int64_t>());
    const double x1 = boxes[j][0].item<int64_t>(), y1 = boxes[j][1].item<int64_t>();
    const double x2 = boxes[j][2].item<int64_t>(), y2 = boxes[j][3].item<int64_t>();
    d.bbox = {x1, y1, x2 - x1, y2 - y1};
    d.score = sc[j].item<double>();
    out->bbox.push_back(d);
    d.score = sc_segm[j].item<double>();
    d.segmentation = MaskToRle(masks[j].data_ptr<uint8_t>(), height, width);
    out->segm.push_back(std::move(d));
  }
}

// COCOeval of the bbox and the segm detections against `gt` into result's stats, per-category
// AP and summary texts. `detections` must not be empty (pycocotools cannot load an empty list).
Status ScoreWithCoco(const CocoDetections& detections, const coco::CocoDataset& gt,
                     EvalResult* result) {
  for (const bool segm : {false, true}) {
    ABLATE_ASSIGN_OR_RETURN(
        coco::CocoResults res,
        coco::CocoResults::FromDetections(segm ? detections.segm : detections.bbox, gt));
    coco::CocoEvalParams params;
    params.iou_type = segm ? coco::IouType::kSegm : coco::IouType::kBbox;
    ABLATE_ASSIGN_OR_RETURN(coco::CocoEvalResult r, coco::EvaluateCoco(gt, res, params));
    (segm ? result->segm : result->bbox) = r.stats;
    auto& categories = segm ? result->segm_categories : result->bbox_categories;
    for (const coco::CategoryMetrics& m : r.per_category) {
      EvalResult::CategoryAp c{m.category_id, "", m.ap};
      for (const auto& info : gt.categories()) {
        if (info.id == m.category_id) c.name = info.name;
      }
      categories.push_back(std::move(c));
    }
    (segm ? result->segm_summary : result->bbox_summary) = r.summary_text;
  }
  return absl::OkStatus();
}

}  // namespace

DetectOptions DetectOptionsFor(const TrainConfig& config) {
  DetectOptions det;
  det.conf_thresh = config.score_threshold;
  det.nms_thresh = config.nms_iou;
  det.top_k = config.nms_top_k;
  det.max_num_detections = config.max_detections;
  det.fast_nms = config.nms == NmsType::kFast;
  det.cross_class_nms = config.cross_class_nms;
  return det;
}

std::vector<ImageDetections> Infer(YolactImpl& model, const TrainConfig& config,
                                   const torch::Tensor& images,
                                   const std::vector<std::pair<int, int>>& sizes_wh,
                                   torch::Device device) {
  YolactOutput out = model.forward(images.to(device));
  torch::Tensor scores =
      UsesSigmoidScores(config.conf_loss) ? torch::sigmoid(out.conf) : torch::softmax(out.conf, -1);
  std::vector<Detections> dets =
      Detect(out.loc, scores, out.mask_coeff, out.priors, DetectOptionsFor(config));
  std::vector<ImageDetections> result;
  result.reserve(dets.size());
  auto cpu = [](const torch::Tensor& t) { return t.defined() ? t.to(torch::kCPU) : t; };
  for (size_t i = 0; i < dets.size(); ++i) {
    PostprocessOptions post;
    post.width = sizes_wh.at(i).first;
    post.height = sizes_wh.at(i).second;
    ImageDetections img = Postprocess(dets[i], out.proto[static_cast<int64_t>(i)], post,
                                      model.has_maskiou() ? model.maskiou_net().get() : nullptr);
    img.classes = cpu(img.classes);
    img.scores = cpu(img.scores);
    img.boxes = cpu(img.boxes);
    img.masks_lowres = cpu(img.masks_lowres);
    img.masks = cpu(img.masks);
    img.maskiou = cpu(img.maskiou);
    img.scores_rescored = cpu(img.scores_rescored);
    result.push_back(std::move(img));
  }
  return result;
}

json GalleryToJson(const EvalResult::Gallery& gallery) {
  json images = json::array();
  for (const EvalResult::GalleryImage& g : gallery.images) {
    images.push_back({{"image_id", g.image_id},
                      {"file", g.file},
                      {"bytes", g.bytes},
                      {"detections", g.detections}});
  }
  return {{"dir", gallery.dir.string()}, {"images", images}, {"seed", gallery.seed}};
}

json EvalResult::ToJson() const {
  json j = {{"bbox", {{"stats", StatsJson(bbox)}}},
            {"segm", {{"stats", StatsJson(segm)}}},
            {"num_images", num_images},
            {"num_detections", num_detections},
            {"detections_per_image_max", detections_per_image_max},
            {"results_bytes", results_bytes},
            {"eval_images_per_s", images_per_s}};
  if (gallery) j["gallery"] = GalleryToJson(*gallery);
  if (!gallery_error.empty()) j["gallery_error"] = gallery_error;
  return j;
}

StatusOr<EvalResult> Evaluate(YolactImpl& model, const TrainConfig& config,
                              std::shared_ptr<const CocoDetectionDataset> dataset,
                              const EvalOptions& options, torch::Device device) {
  torch::NoGradGuard no_grad;
  model.eval();
  BatchLoader loader(dataset, EvalLoaderOptions(config, options), 0, /*infinite=*/false);
  EvalResult result;
  std::map<int64_t, size_t> gallery_index;
  if (!options.gallery.dir.empty() && options.gallery.count > 0) {
    gallery_index = GalleryImageIndex(*dataset, options.gallery);
    result.gallery.emplace();
    result.gallery->dir = std::filesystem::absolute(options.gallery.dir);
    result.gallery->seed = options.gallery.seed;
  }
  const double gallery_min_score = std::max(options.gallery.min_score, config.score_threshold);
  CocoDetections detections;
  const auto start = Clock::now();
  try {
    while (true) {
      ABLATE_ASSIGN_OR_RETURN(std::optional<Batch> batch, loader.Next());
      if (!batch) break;
      std::vector<ImageDetections> per_image =
          Infer(model, config, batch->images, batch->sizes, device);
      for (size_t i = 0; i < per_image.size(); ++i) {
        const ImageDetections& img = per_image[i];
        ++result.num_images;
        result.detections_per_image_max =
            std::max(result.detections_per_image_max, img.boxes.size(0));
        auto in_gallery = gallery_index.find(batch->image_ids[i]);
        if (in_gallery != gallery_index.end() && result.gallery && result.gallery_error.empty()) {
          AddGalleryImage(*dataset, in_gallery->second, img, gallery_min_score, &result);
        }
        AppendCocoDetections(img, batch->image_ids[i], batch->sizes[i], *dataset, &detections);
      }
    }
  } catch (const std::exception& e) {
    return absl::InternalError(std::string("evaluation failed in LibTorch: ") + e.what());
  }
  result.images_per_s = result.num_images / std::max(1e-9, Seconds(start, Clock::now()));
  result.num_detections = static_cast<int64_t>(detections.bbox.size());
  FinishGallery(&result);
  if (!options.results_json.empty()) {
    const std::string results = coco::WriteResultsJson(detections.segm);
    ABLATE_RETURN_IF_ERROR(WriteFileAtomically(options.results_json, results));
    result.results_bytes = static_cast<int64_t>(results.size());
  }
  // pycocotools cannot load an empty list: the stats stay 0.
  if (detections.bbox.empty()) return result;
  ABLATE_RETURN_IF_ERROR(ScoreWithCoco(detections, dataset->gt(), &result));
  return result;
}

std::vector<DrawnObject> DetectionsToDrawn(const ImageDetections& detections, double min_score) {
  std::vector<DrawnObject> out;
  if (!detections.boxes.defined()) return out;
  const torch::Tensor boxes = detections.boxes.to(torch::kCPU).to(torch::kFloat32).contiguous();
  const torch::Tensor classes = detections.classes.to(torch::kCPU).to(torch::kInt64);
  const torch::Tensor scores = detections.scores.to(torch::kCPU).to(torch::kFloat64);
  const bool has_masks = detections.masks.defined() && detections.masks.dim() == 3;
  const torch::Tensor masks =
      has_masks ? detections.masks.to(torch::kCPU).to(torch::kUInt8).contiguous() : torch::Tensor();
  for (int64_t j = 0; j < boxes.size(0); ++j) {
    const double score = scores[j].item<double>();
    if (score < min_score) continue;
    DrawnObject o;
    o.label = classes[j].item<int64_t>();
    o.score = score;
    const float* b = boxes[j].data_ptr<float>();
    o.box_xyxy = {b[0], b[1], b[2], b[3]};
    if (has_masks) {
      const torch::Tensor m = masks[j].contiguous();
      o.mask = cv::Mat(static_cast<int>(m.size(0)), static_cast<int>(m.size(1)), CV_8UC1,
                       m.data_ptr<uint8_t>())
                   .clone();
    }
    out.push_back(std::move(o));
  }
  return out;
}

std::vector<DrawnObject> GroundTruthToDrawn(const RawSample& sample) {
  std::vector<DrawnObject> out;
  for (size_t i = 0; i < sample.boxes.size(); ++i) {
    DrawnObject o;
    o.label = sample.labels[i];
    o.box_xyxy = sample.boxes[i];
    o.mask = i < sample.masks.size() ? sample.masks[i] : cv::Mat();
    o.crowd = sample.crowd[i];
    out.push_back(std::move(o));
  }
  return out;
}

std::vector<std::string> ClassNamesOf(const CocoDetectionDataset& dataset) {
  std::vector<std::string> names;
  for (int label = 0; label < dataset.num_classes(); ++label) {
    const coco::CategoryId id = dataset.CategoryIdOf(label);
    std::string name;
    for (const auto& c : dataset.gt().categories()) {
      if (c.id == id) name = c.name;
    }
    names.push_back(name);
  }
  return names;
}

StatusOr<EvalResult::GalleryImage> WriteGalleryImage(
    const std::filesystem::path& dir, const CocoDetectionDataset& dataset, size_t index,
    const ImageDetections& detections, double min_score, const RenderOptions& render) {
  ABLATE_ASSIGN_OR_RETURN(RawSample raw, dataset.Get(index));
  const std::vector<DrawnObject> preds = DetectionsToDrawn(detections, min_score);
  const std::vector<DrawnObject> gt = GroundTruthToDrawn(raw);
  const cv::Mat drawn = RenderDetections(
      raw.image, preds, &gt, absl::StrCat("image ", raw.image_id), ClassNamesOf(dataset), render);
  ABLATE_ASSIGN_OR_RETURN(std::string jpeg, EncodeJpeg(drawn, render.jpeg_quality));
  EvalResult::GalleryImage g;
  g.image_id = raw.image_id;
  g.file = absl::StrFormat("%06d.jpg", raw.image_id);
  g.bytes = static_cast<int64_t>(jpeg.size());
  g.detections = static_cast<int64_t>(preds.size());
  ABLATE_RETURN_IF_ERROR(WriteFileAtomically(dir / g.file, jpeg));
  return g;
}

}  // namespace ablate::detector
