#include "detector/train.h"

#include <fcntl.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numbers>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "coco/evaluator.h"
#include "coco/results.h"
#include "common/atomic_file.h"
#include "common/sha256.h"
#include "detector/config/model_knobs.h"
#include "detector/detect.h"
#include "detector/losses.h"
#include "detector/predict.h"
#include "detector/weights.h"
#include "detector/weights_file.h"

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

torch::Tensor JsonToTensor(const json& j) {
  const std::string s = j.dump();
  return torch::from_blob(const_cast<char*>(s.data()), {static_cast<int64_t>(s.size())},
                          torch::kUInt8)
      .clone();
}

std::unique_ptr<torch::optim::Optimizer> MakeOptimizer(const TrainConfig& c,
                                                       std::vector<torch::Tensor> params) {
  if (c.optimizer == OptimizerType::kAdamW) {
    return std::make_unique<torch::optim::AdamW>(
        params, torch::optim::AdamWOptions(c.lr).weight_decay(c.weight_decay));
  }
  return std::make_unique<torch::optim::SGD>(
      params, torch::optim::SGDOptions(c.lr).momentum(c.momentum).weight_decay(c.weight_decay));
}

void SetLearningRate(torch::optim::Optimizer& opt, const TrainConfig& c, double lr) {
  for (auto& group : opt.param_groups()) {
    if (c.optimizer == OptimizerType::kAdamW) {
      static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    } else {
      static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
    }
  }
}

Status SaveCheckpoint(const std::filesystem::path& path, YolactImpl& model,
                      torch::optim::Optimizer& optimizer, const CheckpointMeta& meta) {
  try {
    torch::serialize::OutputArchive archive;
    for (const auto& [name, t] : StateDict(model)) {
      archive.write("model/" + name, t.detach().to(torch::kCPU), /*is_buffer=*/true);
    }
    torch::serialize::OutputArchive opt_archive;
    optimizer.save(opt_archive);
    archive.write("optimizer", opt_archive);
    json j = {{"step", meta.step},
              {"epoch", meta.epoch},
              {"loss", meta.loss},
              {"schedule_offset", meta.schedule_offset},
              {"config", TrainConfigToJson(meta.config)},
              {"class_names", meta.class_names},
              {"format", "ablate-detector-checkpoint/1"}};
    archive.write("meta", JsonToTensor(j), /*is_buffer=*/true);
    std::filesystem::path temp = path;
    temp += ".tmp";
    // Written through our own descriptor: LibTorch's file writer throws from its destructor on
    // a short write (a full disk), which ends the process. Here a failed write is remembered,
    // the rest is swallowed, and the error (with errno's text) returned.
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      return absl::FailedPreconditionError("writing checkpoint " + temp.string() + ": " +
                                           std::strerror(errno));
    }
    int write_errno = 0;
    archive.save_to([&](const void* data, size_t n) -> size_t {
      const char* p = static_cast<const char*>(data);
      for (size_t done = 0; write_errno == 0 && done < n;) {
        const ssize_t w = ::write(fd, p + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) write_errno = w < 0 ? errno : EIO;
        if (w > 0) done += static_cast<size_t>(w);
      }
      return n;
    });
    if (::close(fd) != 0 && write_errno == 0) write_errno = errno;
    if (write_errno != 0) {
      ::unlink(temp.c_str());
      const std::string message =
          "writing checkpoint " + path.string() + ": " + std::strerror(write_errno);
      return write_errno == ENOSPC || write_errno == EDQUOT ? absl::ResourceExhaustedError(message)
                                                            : absl::InternalError(message);
    }
    return CommitFileAtomically(temp, path);
  } catch (const std::exception& e) {
    return absl::InternalError("writing checkpoint " + path.string() + ": " + e.what());
  }
}

StatusOr<CheckpointMeta> ReadMeta(torch::serialize::InputArchive& archive) {
  torch::Tensor meta_t;
  archive.read("meta", meta_t, /*is_buffer=*/true);
  meta_t = meta_t.contiguous();
  const std::string text(reinterpret_cast<const char*>(meta_t.data_ptr<uint8_t>()),
                         static_cast<size_t>(meta_t.numel()));
  CheckpointMeta meta;
  try {
    json j = json::parse(text);
    meta.step = j.at("step").get<int64_t>();
    meta.epoch = j.at("epoch").get<int64_t>();
    meta.loss = j.at("loss").get<double>();
    meta.schedule_offset = j.value("schedule_offset", int64_t{0});
    meta.class_names = j.value("class_names", std::vector<std::string>{});
    ABLATE_ASSIGN_OR_RETURN(meta.config, TrainConfigFromJson(j.at("config")));
  } catch (const json::exception& e) {
    return absl::DataLossError(std::string("checkpoint meta: ") + e.what());
  }
  return meta;
}

// Keeps the newest `keep` checkpoints (by step) in `dir`, never `protect`.
void PruneCheckpoints(const std::filesystem::path& dir, int keep,
                      const std::filesystem::path& protect) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("step", 0) == 0 && e.path().extension() == ".pt") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (size_t i = 0; i + keep < files.size(); ++i) {
    if (files[i] != protect) std::filesystem::remove(files[i]);
  }
}

}  // namespace

torch::Device DefaultDevice() {
  return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
}

double LearningRate(const TrainConfig& c, int64_t step) {
  return LearningRate(c, step, c.max_steps);
}

double LearningRate(const TrainConfig& c, int64_t step, int64_t total_steps) {
  if (step < c.warmup_steps) {
    return c.lr * (c.warmup_factor + (1 - c.warmup_factor) * step / c.warmup_steps);
  }
  if (c.lr_schedule == LrSchedule::kCosine) {
    const double span = std::max<int64_t>(1, total_steps - c.warmup_steps);
    const double progress = std::clamp((step - c.warmup_steps) / span, 0.0, 1.0);
    const double lr_min = c.lr * c.lr_final_factor;
    return lr_min + (c.lr - lr_min) * 0.5 * (1 + std::cos(std::numbers::pi * progress));
  }
  double lr = c.lr;
  for (int s : c.lr_steps) {
    if (step >= s) lr *= c.lr_gamma;
  }
  return lr;
}

std::string CheckpointName(int64_t step, int64_t epoch, double loss) {
  return absl::StrFormat("step%07d-ep%03d-loss%.3f", step, epoch, loss);
}

StatusOr<LoadedCheckpoint> LoadCheckpoint(const std::filesystem::path& path, torch::Device device) {
  if (!std::filesystem::exists(path)) return absl::NotFoundError("no checkpoint " + path.string());
  LoadedCheckpoint out;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path.string());
    ABLATE_ASSIGN_OR_RETURN(out.meta, ReadMeta(archive));
    out.model = Yolact(out.meta.config.model);
    NamedTensors tensors;
    for (auto& [name, t] : StateDict(*out.model)) {
      torch::Tensor v;
      if (!archive.try_read("model/" + name, v, /*is_buffer=*/true)) {
        return absl::DataLossError(path.string() + ": missing tensor " + name);
      }
      tensors.emplace_back(name, v);
    }
    ABLATE_RETURN_IF_ERROR(LoadStateDict(*out.model, tensors));
    out.model->to(device);
  } catch (const std::exception& e) {
    return absl::DataLossError("reading checkpoint " + path.string() + ": " + e.what());
  }
  return out;
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

json TrainResult::ToJson() const {
  json j = {{"status", status},
            {"step", step},
            {"epoch", epoch},
            {"loss", last_loss},
            {"checkpoint", checkpoint},
            {"checkpoint_path", checkpoint_path.string()},
            {"images_per_s", images_per_s},
            {"loader_wait_fraction", loader_wait_fraction},
            {"restored", restored},
            {"reset", reset}};
  if (init) j["init"] = init->ToJson();
  if (eval) {
    json e = eval->ToJson();
    j["bbox"] = e["bbox"];
    j["segm"] = e["segm"];
    j["eval_images_per_s"] = e["eval_images_per_s"];
    for (const char* key : {"num_detections", "detections_per_image_max", "results_bytes",
                            "gallery", "gallery_error"}) {
      if (e.contains(key)) j[key] = e[key];
    }
  }
  return j;
}

StatusOr<EvalResult> Evaluate(YolactImpl& model, const TrainConfig& config,
                              std::shared_ptr<const CocoDetectionDataset> dataset,
                              const EvalOptions& options, torch::Device device) {
  torch::NoGradGuard no_grad;
  model.eval();
  LoaderOptions lo;
  lo.batch_size = options.batch_size;
  lo.size = config.model.image_size;
  lo.num_workers = options.num_workers;
  lo.shuffle = false;
  lo.drop_last = false;
  lo.augment_enabled = false;
  BatchLoader loader(dataset, lo, 0, /*infinite=*/false);
  std::vector<coco::Detection> bbox_dets, segm_dets;
  EvalResult result;
  // Gallery: a fixed sample of image ids -> dataset index.
  std::map<int64_t, size_t> gallery_index;
  const bool want_gallery = !options.gallery.dir.empty() && options.gallery.count > 0;
  if (want_gallery) {
    std::vector<int64_t> ids;
    std::map<int64_t, size_t> index_of;
    for (size_t i = 0; i < dataset->size(); ++i) {
      ids.push_back(dataset->image_info(i).id);
      index_of[dataset->image_info(i).id] = i;
    }
    for (int64_t id : SelectGalleryImageIds(ids, options.gallery.count, options.gallery.seed)) {
      gallery_index[id] = index_of.at(id);
    }
    result.gallery.emplace();
    result.gallery->dir = std::filesystem::absolute(options.gallery.dir);
    result.gallery->seed = options.gallery.seed;
  }
  const double gallery_min_score = std::max(options.gallery.min_score, config.score_threshold);
  const auto start = Clock::now();
  try {
    while (true) {
      ABLATE_ASSIGN_OR_RETURN(std::optional<Batch> batch, loader.Next());
      if (!batch) break;
      std::vector<ImageDetections> per_image =
          Infer(model, config, batch->images, batch->sizes, device);
      for (size_t i = 0; i < per_image.size(); ++i) {
        const ImageDetections& img = per_image[i];
        const int height = batch->sizes[i].second, width = batch->sizes[i].first;
        torch::Tensor boxes = img.boxes;
        torch::Tensor classes = img.classes;
        torch::Tensor sc = img.scores.to(torch::kFloat64);
        torch::Tensor sc_segm =
            img.scores_rescored.defined() ? img.scores_rescored.to(torch::kFloat64) : sc;
        torch::Tensor masks = img.masks.contiguous();
        ++result.num_images;
        result.detections_per_image_max = std::max(result.detections_per_image_max, boxes.size(0));
        auto in_gallery = gallery_index.find(batch->image_ids[i]);
        if (in_gallery != gallery_index.end() && result.gallery && result.gallery_error.empty()) {
          auto written = WriteGalleryImage(result.gallery->dir, *dataset, in_gallery->second, img,
                                           gallery_min_score);
          if (written.ok()) {
            result.gallery->images.push_back(std::move(*written));
          } else {
            result.gallery_error = std::string(written.status().message());
          }
        }
        for (int64_t j = 0; j < boxes.size(0); ++j) {
          coco::Detection d;
          d.image_id = batch->image_ids[i];
          d.category_id = dataset->CategoryIdOf(classes[j].item<int64_t>());
          const double x1 = boxes[j][0].item<int64_t>(), y1 = boxes[j][1].item<int64_t>();
          const double x2 = boxes[j][2].item<int64_t>(), y2 = boxes[j][3].item<int64_t>();
          d.bbox = {x1, y1, x2 - x1, y2 - y1};
          d.score = sc[j].item<double>();
          bbox_dets.push_back(d);
          d.score = sc_segm[j].item<double>();
          d.segmentation = MaskToRle(masks[j].data_ptr<uint8_t>(), height, width);
          segm_dets.push_back(std::move(d));
        }
      }
    }
  } catch (const std::exception& e) {
    return absl::InternalError(std::string("evaluation failed in LibTorch: ") + e.what());
  }
  result.images_per_s = result.num_images / std::max(1e-9, Seconds(start, Clock::now()));
  result.num_detections = static_cast<int64_t>(bbox_dets.size());
  if (!result.gallery_error.empty()) result.gallery.reset();
  if (result.gallery) {
    std::sort(result.gallery->images.begin(), result.gallery->images.end(),
              [](const auto& a, const auto& b) { return a.image_id < b.image_id; });
  }
  if (!options.results_json.empty()) {
    const std::string results = coco::WriteResultsJson(segm_dets);
    ABLATE_RETURN_IF_ERROR(WriteFileAtomically(options.results_json, results));
    result.results_bytes = static_cast<int64_t>(results.size());
  }
  if (bbox_dets.empty()) return result;  // pycocotools cannot load an empty list: stats stay 0
  for (const bool segm : {false, true}) {
    ABLATE_ASSIGN_OR_RETURN(
        coco::CocoResults res,
        coco::CocoResults::FromDetections(segm ? segm_dets : bbox_dets, dataset->gt()));
    coco::CocoEvalParams params;
    params.iou_type = segm ? coco::IouType::kSegm : coco::IouType::kBbox;
    ABLATE_ASSIGN_OR_RETURN(coco::CocoEvalResult r, coco::EvaluateCoco(dataset->gt(), res, params));
    (segm ? result.segm : result.bbox) = r.stats;
    auto& categories = segm ? result.segm_categories : result.bbox_categories;
    for (const coco::CategoryMetrics& m : r.per_category) {
      EvalResult::CategoryAp c{m.category_id, "", m.ap};
      for (const auto& info : dataset->gt().categories()) {
        if (info.id == m.category_id) c.name = info.name;
      }
      categories.push_back(std::move(c));
    }
    (segm ? result.segm_summary : result.bbox_summary) = r.summary_text;
  }
  return result;
}

StatusOr<TrainResult> Train(const TrainConfig& config_in, const TrainOptions& options) {
  auto log = [&](const std::string& line) {
    if (options.log) options.log(line);
  };
  const torch::Device device = DefaultDevice();
  ABLATE_ASSIGN_OR_RETURN(auto train_set, CocoDetectionDataset::Load(
                                              options.train_json, options.train_image_dir, true));
  if (train_set->size() == 0) {
    return absl::InvalidArgumentError(options.train_json.string() + ": no annotated images");
  }
  ABLATE_RETURN_IF_ERROR(train_set->CheckImagesExist());
  // The validation set is opened now, so a wrong folder fails before training, not after it.
  std::shared_ptr<const CocoDetectionDataset> val_set;
  if (!options.val_json.empty() && (options.evaluate || options.eval_every > 0)) {
    ABLATE_ASSIGN_OR_RETURN(
        auto loaded, CocoDetectionDataset::Load(options.val_json, options.val_image_dir, false));
    ABLATE_RETURN_IF_ERROR(loaded->CheckImagesExist());
    const std::vector<coco::CategoryId> val_ids = loaded->gt().SortedCategoryIds(),
                                        train_ids = train_set->gt().SortedCategoryIds();
    if (val_ids != train_ids) {
      return absl::InvalidArgumentError(
          absl::StrCat(options.val_json.string(), " has category ids [",
                       absl::StrJoin(val_ids, ", "), "], ", options.train_json.string(), " [",
                       absl::StrJoin(train_ids, ", "), "]: labels would not match"));
    }
    val_set = std::move(loaded);
  }
  TrainConfig config = config_in;
  config.model.num_classes = train_set->num_classes() + 1;
  const std::vector<std::string> class_names = ClassNamesOf(*train_set);
  ABLATE_RETURN_IF_ERROR(config.Validate());
  torch::manual_seed(config.seed);

  TrainResult result;
  Yolact model{nullptr};
  int64_t step = 0, schedule_offset = 0;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::filesystem::path resume = options.resume;
  if (!resume.empty() && std::filesystem::exists(resume)) {
    ABLATE_ASSIGN_OR_RETURN(WeightsFileKind kind, DetectWeightsFile(resume));
    if (kind != WeightsFileKind::kAblateCheckpoint) {
      if (!config.init_from.empty() && config.init_from != resume.string()) {
        return absl::InvalidArgumentError("resume: " + resume.string() +
                                          " is a weights file, not a checkpoint, and init_from " +
                                          config.init_from + " is given too");
      }
      log("resume: " + resume.string() +
          " is a torch.save weights file, not a checkpoint: starting from its weights");
      config.init_from = resume.string();
      config.init_sha256.clear();
      resume.clear();
    } else if (!config.init_from.empty()) {
      log("resume: the weights come from the checkpoint; init_from " + config.init_from +
          " is only recorded");
    }
  }
  if (!resume.empty()) {
    ABLATE_ASSIGN_OR_RETURN(LoadedCheckpoint ckpt, LoadCheckpoint(resume, device));
    if (ckpt.meta.config.model.num_classes != config.model.num_classes) {
      return absl::InvalidArgumentError(
          absl::StrCat("resume: checkpoint has ", ckpt.meta.config.model.num_classes - 1,
                       " classes, the training set ", config.model.num_classes - 1));
    }
    // The network comes from the checkpoint: model knobs asked for with a resume cannot apply
    // to its weights, so say which ones are ignored rather than drop them silently.
    for (const std::string& key : ModelKnobKeys()) {
      const auto asked = GetModelKnob(config.model, key),
                 kept = GetModelKnob(ckpt.meta.config.model, key);
      if (asked != kept) {
        log(absl::StrCat("resume: the network comes from the checkpoint; ignoring ", key, "=",
                         asked.dump(), " (checkpoint: ", kept.dump(), ")"));
      }
    }
    config.model = ckpt.meta.config.model;
    model = ckpt.model;
    step = ckpt.meta.step;
    result.restored = {"weights", "step", "epoch"};
    schedule_offset = ckpt.meta.schedule_offset;
    if (options.reset_schedule) {
      schedule_offset = step;
      result.reset.push_back("schedule");
    } else {
      result.restored.push_back("schedule");
    }
  } else {
    model = Yolact(config.model);
    const bool focal = config.conf_loss == ConfLoss::kFocalSigmoid ||
                       config.conf_loss == ConfLoss::kFocalSoftmax ||
                       config.conf_loss == ConfLoss::kGhmC;
    model->InitWeights(focal ? config.focal_init_pi : 0, UsesSigmoidScores(config.conf_loss));
    if (!config.init_from.empty()) {
      ABLATE_ASSIGN_OR_RETURN(InitReport init,
                              LoadInitWeights(*model, config.init_from, InitMode::kFineTune));
      if (!config.init_sha256.empty() && config.init_sha256 != init.sha256) {
        return absl::FailedPreconditionError(absl::StrCat(
            "init_from ", config.init_from, " has sha256 ", init.sha256, ", the config records ",
            config.init_sha256, " (the file changed after the run was configured)"));
      }
      config.init_sha256 = init.sha256;  // recorded in every checkpoint's config
      log(init.ToText());
      result.init = std::move(init);
    }
    model->to(device);
  }
  std::vector<torch::Tensor> params;
  for (auto& p : model->parameters()) {
    if (p.requires_grad()) params.push_back(p);
  }
  optimizer = MakeOptimizer(config, params);
  if (!resume.empty()) {
    if (options.reset_optimizer) {
      result.reset.push_back("optimizer");
    } else {
      try {
        torch::serialize::InputArchive archive;
        archive.load_from(resume.string(), device);
        torch::serialize::InputArchive opt_archive;
        archive.read("optimizer", opt_archive);
        optimizer->load(opt_archive);
        result.restored.push_back("optimizer");
      } catch (const std::exception& e) {
        return absl::DataLossError("resume: optimizer state of " + resume.string() +
                                   " (use a fork with reset_optimizer): " + e.what());
      }
    }
  }

  std::error_code ec;
  std::filesystem::create_directories(options.out_dir, ec);
  if (ec) return absl::InternalError("cannot create " + options.out_dir.string());

  LoaderOptions lo;
  lo.batch_size = config.batch_size;
  lo.size = config.model.image_size;
  lo.num_workers = config.num_workers;
  lo.prefetch_batches = config.prefetch_batches;
  lo.seed = static_cast<uint64_t>(config.seed);
  lo.augment.mode = config.augment;
  BatchLoader loader(train_set, lo, /*first_batch=*/step, /*infinite=*/true);
  YolactLoss loss_fn(config);

  const auto start = Clock::now();
  double wait_s = 0;
  int64_t images = 0, epoch = step / std::max<int64_t>(1, loader.batches_per_epoch());
  double last_finite = 0, ema = -1;
  result.status = "finished";
  auto checkpoint = [&](double loss) -> Status {
    CheckpointMeta meta{step, epoch, loss, schedule_offset, config, class_names};
    const std::string name = CheckpointName(step, epoch, loss);
    const auto path = options.out_dir / (name + ".pt");
    ABLATE_RETURN_IF_ERROR(SaveCheckpoint(path, *model, *optimizer, meta));
    result.checkpoint = name;
    result.checkpoint_path = path;
    if (options.prune_checkpoints) PruneCheckpoints(options.out_dir, config.keep_checkpoints, path);
    log("checkpoint " + name);
    if (options.on_event) {
      ABLATE_ASSIGN_OR_RETURN(std::string sha256, Sha256HexOfFile(path));
      protocol::CheckpointEvent event;
      event.name = name;
      event.path = std::filesystem::absolute(path).string();
      event.step = step;
      event.epoch = epoch;
      event.loss = loss;
      event.sha256 = sha256;
      event.bytes = static_cast<int64_t>(std::filesystem::file_size(path));
      options.on_event(event);
    }
    return absl::OkStatus();
  };
  auto evaluate = [&]() -> StatusOr<EvalResult> {
    if (!val_set) return absl::InternalError("evaluation without a validation set");
    EvalOptions eo;
    eo.batch_size = config.batch_size;
    eo.num_workers = config.num_workers;
    eo.results_json = options.out_dir / "results.json";
    eo.gallery.dir = options.out_dir / "gallery" / result.checkpoint;
    eo.gallery.count = options.gallery_images;
    ABLATE_ASSIGN_OR_RETURN(EvalResult er, Evaluate(*model, config, val_set, eo, device));
    if (options.on_evaluation) options.on_evaluation(result.checkpoint, er);
    return er;
  };
  if (options.on_event) {
    auto restored = [&](const char* what) {
      return std::find(result.restored.begin(), result.restored.end(), what) !=
             result.restored.end();
    };
    protocol::StartedEvent event;
    event.step = step;
    event.total_steps = config.max_steps;
    event.restored_weights = restored("weights");
    event.restored_optimizer = restored("optimizer");
    event.restored_schedule = restored("schedule");
    if (result.init) event.init = result.init->ToJson();
    options.on_event(event);
  }
  model->train(true);
  const bool with_segm = config.semantic_weight > 0;
  try {
    while (step < config.max_steps) {
      if (options.max_seconds > 0 && Seconds(start, Clock::now()) > options.max_seconds) break;
      const auto wait_start = Clock::now();
      ABLATE_ASSIGN_OR_RETURN(std::optional<Batch> batch, loader.Next());
      wait_s += Seconds(wait_start, Clock::now());
      epoch = batch->epoch;
      std::vector<ImageTargets> targets = batch->targets;
      for (auto& t : targets) {
        t.boxes = t.boxes.to(device);
        t.labels = t.labels.to(device);
        t.masks = t.masks.to(device);
        t.crowd_boxes = t.crowd_boxes.to(device);
      }
      SetLearningRate(
          *optimizer, config,
          LearningRate(config, step - schedule_offset, config.max_steps - schedule_offset));
      YolactOutput out = model->forward(batch->images.to(device), with_segm);
      // A diverged network yields non-finite outputs, on which some loss ops throw (BCE
      // checks its input range): treat that as a non-finite loss too.
      StatusOr<LossTerms> loss_or = absl::InternalError("loss not computed");
      try {
        loss_or = loss_fn(out, targets, *model);
      } catch (const c10::Error& e) {
        const bool finite = torch::isfinite(out.loc).all().item<bool>() &&
                            torch::isfinite(out.conf).all().item<bool>() &&
                            torch::isfinite(out.mask_coeff).all().item<bool>() &&
                            torch::isfinite(out.proto).all().item<bool>();
        if (finite) throw;
        loss_or = LossTerms{torch::full({}, NAN), {}, 0};
      }
      if (!loss_or.ok()) return loss_or.status();
      LossTerms& loss = *loss_or;
      const double value = loss.total.item<double>();
      if (!std::isfinite(value)) {
        result.status = "diverged";
        log(absl::StrFormat("step %d: non-finite loss, stopping (diverged)", step));
        if (result.checkpoint.empty()) ABLATE_RETURN_IF_ERROR(checkpoint(last_finite));
        if (options.on_event) {
          protocol::DivergedEvent event;
          event.step = step;
          event.reason = absl::StrFormat("non-finite loss at step %d", step);
          if (!result.checkpoint.empty()) event.last_checkpoint = result.checkpoint;
          options.on_event(event);
        }
        break;
      }
      optimizer->zero_grad();
      loss.total.backward();
      if (config.grad_clip > 0) torch::nn::utils::clip_grad_norm_(params, config.grad_clip);
      optimizer->step();
      ++step;
      images += batch->images.size(0);
      last_finite = value;
      ema = ema < 0 ? value : 0.95 * ema + 0.05 * value;
      if (options.log_every > 0 && step % options.log_every == 0) {
        std::string terms;
        for (const auto& [k, v] : loss.terms) {
          absl::StrAppendFormat(&terms, " %s %.3f", k, v.item<double>());
        }
        log(absl::StrFormat(
            "step %d ep %d loss %.3f (avg %.3f)%s lr %.2g %.1f img/s", step, epoch, value, ema,
            terms, LearningRate(config, step - schedule_offset, config.max_steps - schedule_offset),
            images / Seconds(start, Clock::now())));
        if (options.on_event) {
          protocol::MetricsEvent event;
          event.step = step;
          event.values = {{"loss", value},
                          {"loss_avg", ema},
                          {"lr", LearningRate(config, step - schedule_offset,
                                              config.max_steps - schedule_offset)},
                          {"images_per_s", images / Seconds(start, Clock::now())}};
          for (const auto& [k, v] : loss.terms) event.values["loss_" + k] = v.item<double>();
          options.on_event(event);
        }
      }
      const bool eval_now = options.eval_every > 0 && step % options.eval_every == 0 &&
                            step < config.max_steps && !options.val_json.empty();
      if ((config.checkpoint_every > 0 && step % config.checkpoint_every == 0) || eval_now) {
        ABLATE_RETURN_IF_ERROR(checkpoint(ema));
      }
      if (eval_now) {
        ABLATE_RETURN_IF_ERROR(evaluate().status());
        model->train(true);
      }
    }
  } catch (const std::exception& e) {
    return absl::InternalError(std::string("training failed in LibTorch: ") + e.what());
  }
  const double total_s = Seconds(start, Clock::now());
  result.images_per_s = images / std::max(1e-9, total_s);
  result.loader_wait_fraction = wait_s / std::max(1e-9, total_s);
  result.step = step;
  result.epoch = epoch;
  result.last_loss = last_finite;
  if (result.status == "finished" && images > 0) {
    ABLATE_RETURN_IF_ERROR(checkpoint(ema));
  }
  if (options.evaluate && !options.val_json.empty() && result.status == "finished") {
    ABLATE_ASSIGN_OR_RETURN(result.eval, evaluate());
  }
  return result;
}

}  // namespace ablate::detector
