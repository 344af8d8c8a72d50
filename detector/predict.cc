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

// The images of a folder (sorted by name), each written as <stem>.jpg (<stem>_<ext>.jpg when two
// share a stem).
StatusOr<std::vector<PredictInput>> ListImageFolder(const fs::path& dir) {
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file() && IsImageFile(e.path())) files.push_back(e.path());
  }
  if (ec) return absl::InternalError("cannot list " + dir.string());
  std::sort(files.begin(), files.end());
  std::set<std::string> names;
  std::vector<PredictInput> inputs;
  for (const fs::path& f : files) {
    std::string name = f.stem().string() + ".jpg";
    if (!names.insert(name).second) {  // a.png next to a.jpg
      name = f.stem().string() + "_" + f.extension().string().substr(1) + ".jpg";
      names.insert(name);
    }
    inputs.push_back({f, 0, name});
  }
  return inputs;
}

// The inputs of options.images, a folder or a COCO file (then *dataset is set to it and its
// class count checked against the model's).
StatusOr<std::vector<PredictInput>> ListInputs(const PredictOptions& options,
                                               const TrainConfig& config,
                                               std::shared_ptr<CocoDetectionDataset>* dataset) {
  std::vector<PredictInput> inputs;
  if (fs::is_directory(options.images)) {
    ABLATE_ASSIGN_OR_RETURN(inputs, ListImageFolder(options.images));
  } else if (Lower(options.images.extension().string()) == ".json") {
    ABLATE_ASSIGN_OR_RETURN(*dataset, CocoDetectionDataset::Load(options.images, "", false));
    if ((*dataset)->num_classes() + 1 != config.model.num_classes) {
      return absl::InvalidArgumentError(
          absl::StrCat(options.images.string(), " has ", (*dataset)->num_classes(),
                       " categories, the checkpoint ", config.model.num_classes - 1));
    }
    for (size_t i = 0; i < (*dataset)->size(); ++i) {
      const coco::ImageInfo& info = (*dataset)->image_info(i);
      inputs.push_back({(*dataset)->image_path(i), i, absl::StrFormat("%06d.jpg", info.id)});
    }
  } else {
    return absl::InvalidArgumentError("--images must be a folder of images or a COCO .json file: " +
                                      options.images.string());
  }
  if (options.limit > 0 && inputs.size() > static_cast<size_t>(options.limit)) {
    inputs.resize(static_cast<size_t>(options.limit));
  }
  return inputs;
}

// Decodes one input into *raw and its picture title; false (with the reason) when it cannot.
bool ReadInput(const PredictInput& in, const CocoDetectionDataset* dataset, RawSample* raw,
               std::string* title, std::string* skip_reason) {
  if (dataset != nullptr) {
    auto sample = dataset->Get(in.dataset_index);
    if (!sample.ok()) {
      *skip_reason = std::string(sample.status().message());
      return false;
    }
    *raw = std::move(*sample);
    *title = absl::StrCat("image ", raw->image_id, " (", in.path.filename().string(), ")");
    return true;
  }
  cv::Mat bgr = cv::imread(in.path.string(), cv::IMREAD_COLOR);
  if (bgr.empty()) {
    *skip_reason = "cannot decode image";
    return false;
  }
  cv::cvtColor(bgr, raw->image, cv::COLOR_BGR2RGB);
  *title = in.path.filename().string();
  return true;
}

// What every image of one predict run shares.
struct PredictContext {
  YolactImpl& model;
  const TrainConfig& config;  // the checkpoint's, with the run's score threshold and top-k
  const std::vector<std::string>& class_names;
  const PredictOptions& options;
  torch::Device device;
};

// Infers, draws (with the ground truth when `with_gt`) and writes one image.
StatusOr<PredictResult::Written> WritePrediction(const PredictContext& ctx, const PredictInput& in,
                                                 const std::string& title, RawSample raw,
                                                 bool with_gt) {
  std::vector<DrawnObject> gt;
  if (with_gt) gt = GroundTruthToDrawn(raw);
  const cv::Mat rgb = raw.image.clone();  // PrepareSample consumes `raw`
  ImageDetections dets;
  try {
    dets = InferOne(ctx.model, ctx.config, std::move(raw), ctx.device);
  } catch (const std::exception& e) {
    return absl::InternalError(std::string("inference failed in LibTorch: ") + e.what());
  }
  const std::vector<DrawnObject> preds = DetectionsToDrawn(dets, ctx.options.score_threshold);
  const cv::Mat drawn =
      RenderDetections(rgb, preds, with_gt ? &gt : nullptr,
                       absl::StrFormat("%s | score >= %.2f", title, ctx.options.score_threshold),
                       ctx.class_names, ctx.options.render);
  ABLATE_ASSIGN_OR_RETURN(std::string jpeg, EncodeJpeg(drawn, ctx.options.render.jpeg_quality));
  const fs::path out = ctx.options.out_dir / in.out_name;
  ABLATE_RETURN_IF_ERROR(WriteFileAtomically(out, jpeg));
  return PredictResult::Written{in.path.string(), out.string(), static_cast<int64_t>(jpeg.size()),
                                static_cast<int64_t>(preds.size())};
}

}  // namespace

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
  std::shared_ptr<CocoDetectionDataset> dataset;
  ABLATE_ASSIGN_OR_RETURN(std::vector<PredictInput> inputs, ListInputs(options, config, &dataset));
  std::vector<std::string> class_names = meta.class_names;
  if (dataset && class_names.empty()) class_names = ClassNamesOf(*dataset);
  fs::create_directories(options.out_dir, ec);
  if (ec) return absl::InternalError("cannot create " + options.out_dir.string());

  PredictResult result;
  torch::NoGradGuard no_grad;
  model.eval();
  const PredictContext ctx{model, config, class_names, options, device};
  for (const PredictInput& in : inputs) {
    RawSample raw;
    std::string title, skip_reason;
    if (!ReadInput(in, dataset.get(), &raw, &title, &skip_reason)) {
      result.skipped.push_back({in.path.string(), skip_reason});
      if (options.log) options.log("skipped " + in.path.string() + ": " + skip_reason);
      continue;
    }
    ABLATE_ASSIGN_OR_RETURN(PredictResult::Written written,
                            WritePrediction(ctx, in, title, std::move(raw), dataset != nullptr));
    result.detections += written.detections;
    result.bytes += written.bytes;
    result.written.push_back(std::move(written));
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace ablate::detector
