#include "detector/predict.h"

#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/atomic_file.h"

namespace ablate::detector {
namespace {

namespace fs = std::filesystem;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool IsImageFile(const fs::path& p) {
  static const std::set<std::string> kExtensions = {".jpg", ".jpeg", ".png", ".bmp"};
  return kExtensions.count(Lower(p.extension().string())) > 0;
}

// One input of a predict run: a file of a folder, or an image of a COCO dataset.
struct PredictInput {
  fs::path path;
  size_t dataset_index = 0;  // COCO input only
  std::string out_name;
};

// Runs one image through the network (batch of one) at its original size.
ImageDetections InferOne(YolactImpl& model, const TrainConfig& config, RawSample raw,
                         torch::Device device) {
  std::mt19937_64 rng(0);  // unused: mode "none" draws nothing
  AugmentOptions none;
  none.mode = "none";
  Sample s = PrepareSample(std::move(raw), config.model.image_size, none, &rng);
  return Infer(model, config, s.image.unsqueeze(0), {{s.width, s.height}}, device).at(0);
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
    const fs::path& dir, const CocoDetectionDataset& dataset, size_t index,
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

nlohmann::json PredictResult::ToJson(const fs::path& out_dir) const {
  nlohmann::json skipped_json = nlohmann::json::array();
  for (const Skipped& s : skipped) skipped_json.push_back({{"file", s.file}, {"reason", s.reason}});
  nlohmann::json files = nlohmann::json::array();
  for (const Written& w : written) {
    files.push_back(
        {{"source", w.source}, {"file", w.file}, {"bytes", w.bytes}, {"detections", w.detections}});
  }
  return {{"images_written", written.size()},
          {"skipped", skipped_json},
          {"detections", detections},
          {"bytes", bytes},
          {"out_dir", out_dir.string()},
          {"seconds", seconds},
          {"files", files}};
}

StatusOr<PredictResult> Predict(YolactImpl& model, const CheckpointMeta& meta,
                                const PredictOptions& options, torch::Device device) {
  const auto start = std::chrono::steady_clock::now();
  std::error_code ec;
  if (!fs::exists(options.images, ec)) {
    return absl::NotFoundError("--images: no such file or folder " + options.images.string());
  }
  TrainConfig config = meta.config;
  config.score_threshold = options.score_threshold;
  if (options.top_k > 0) config.max_detections = options.top_k;
  std::vector<std::string> class_names = meta.class_names;

  std::shared_ptr<CocoDetectionDataset> dataset;
  std::vector<PredictInput> inputs;
  if (fs::is_directory(options.images)) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(options.images, ec)) {
      if (e.is_regular_file() && IsImageFile(e.path())) files.push_back(e.path());
    }
    if (ec) return absl::InternalError("cannot list " + options.images.string());
    std::sort(files.begin(), files.end());
    std::set<std::string> names;
    for (const fs::path& f : files) {
      std::string name = f.stem().string() + ".jpg";
      if (!names.insert(name).second) {  // a.png next to a.jpg
        name = f.stem().string() + "_" + f.extension().string().substr(1) + ".jpg";
        names.insert(name);
      }
      inputs.push_back({f, 0, name});
    }
  } else if (Lower(options.images.extension().string()) == ".json") {
    ABLATE_ASSIGN_OR_RETURN(dataset, CocoDetectionDataset::Load(options.images, "", false));
    if (dataset->num_classes() + 1 != config.model.num_classes) {
      return absl::InvalidArgumentError(
          absl::StrCat(options.images.string(), " has ", dataset->num_classes(),
                       " categories, the checkpoint ", config.model.num_classes - 1));
    }
    if (class_names.empty()) class_names = ClassNamesOf(*dataset);
    for (size_t i = 0; i < dataset->size(); ++i) {
      const coco::ImageInfo& info = dataset->image_info(i);
      inputs.push_back({dataset->image_path(i), i, absl::StrFormat("%06d.jpg", info.id)});
    }
  } else {
    return absl::InvalidArgumentError("--images must be a folder of images or a COCO .json file: " +
                                      options.images.string());
  }
  if (options.limit > 0 && inputs.size() > static_cast<size_t>(options.limit)) {
    inputs.resize(static_cast<size_t>(options.limit));
  }
  fs::create_directories(options.out_dir, ec);
  if (ec) return absl::InternalError("cannot create " + options.out_dir.string());

  PredictResult result;
  torch::NoGradGuard no_grad;
  model.eval();
  for (const PredictInput& in : inputs) {
    RawSample raw;
    std::string title;
    if (dataset) {
      auto sample = dataset->Get(in.dataset_index);
      if (!sample.ok()) {
        result.skipped.push_back({in.path.string(), std::string(sample.status().message())});
        if (options.log)
          options.log("skipped " + in.path.string() + ": " + result.skipped.back().reason);
        continue;
      }
      raw = std::move(*sample);
      title = absl::StrCat("image ", raw.image_id, " (", in.path.filename().string(), ")");
    } else {
      cv::Mat bgr = cv::imread(in.path.string(), cv::IMREAD_COLOR);
      if (bgr.empty()) {
        result.skipped.push_back({in.path.string(), "cannot decode image"});
        if (options.log) options.log("skipped " + in.path.string() + ": cannot decode image");
        continue;
      }
      cv::cvtColor(bgr, raw.image, cv::COLOR_BGR2RGB);
      title = in.path.filename().string();
    }
    std::vector<DrawnObject> gt;
    if (dataset) gt = GroundTruthToDrawn(raw);
    const cv::Mat rgb = raw.image.clone();  // PrepareSample consumes `raw`
    ImageDetections dets;
    try {
      dets = InferOne(model, config, std::move(raw), device);
    } catch (const std::exception& e) {
      return absl::InternalError(std::string("inference failed in LibTorch: ") + e.what());
    }
    const std::vector<DrawnObject> preds = DetectionsToDrawn(dets, options.score_threshold);
    const cv::Mat drawn =
        RenderDetections(rgb, preds, dataset ? &gt : nullptr,
                         absl::StrFormat("%s | score >= %.2f", title, options.score_threshold),
                         class_names, options.render);
    ABLATE_ASSIGN_OR_RETURN(std::string jpeg, EncodeJpeg(drawn, options.render.jpeg_quality));
    const fs::path out = options.out_dir / in.out_name;
    ABLATE_RETURN_IF_ERROR(WriteFileAtomically(out, jpeg));
    result.written.push_back({in.path.string(), out.string(), static_cast<int64_t>(jpeg.size()),
                              static_cast<int64_t>(preds.size())});
    result.detections += static_cast<int64_t>(preds.size());
    result.bytes += static_cast<int64_t>(jpeg.size());
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace ablate::detector
