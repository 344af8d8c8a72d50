#include "detector/train.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <numbers>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/sha256.h"
#include "detector/config/model_knobs.h"
#include "detector/losses.h"
#include "detector/weights_file.h"

namespace ablate::detector {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using LogFn = std::function<void(const std::string&)>;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
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

// The training set and, when the run evaluates, the validation set (else null). The validation
// set is opened before training, so that a wrong folder fails now, not after training.
struct TrainData {
  std::shared_ptr<const CocoDetectionDataset> train, val;
};

StatusOr<TrainData> OpenDatasets(const TrainOptions& options) {
  TrainData data;
  ABLATE_ASSIGN_OR_RETURN(auto train_set, CocoDetectionDataset::Load(
                                              options.train_json, options.train_image_dir, true));
  if (train_set->size() == 0) {
    return absl::InvalidArgumentError(options.train_json.string() + ": no annotated images");
  }
  ABLATE_RETURN_IF_ERROR(train_set->CheckImagesExist());
  data.train = train_set;
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
    data.val = std::move(loaded);
  }
  return data;
}

// options.resume when it is one of our checkpoints (or empty). A torch.save weights file there
// becomes config->init_from instead (and the returned path is empty).
StatusOr<std::filesystem::path> ResolveResume(const TrainOptions& options, TrainConfig* config,
                                              const LogFn& log) {
  std::filesystem::path resume = options.resume;
  if (resume.empty() || !std::filesystem::exists(resume)) return resume;
  ABLATE_ASSIGN_OR_RETURN(WeightsFileKind kind, DetectWeightsFile(resume));
  if (kind != WeightsFileKind::kAblateCheckpoint) {
    if (!config->init_from.empty() && config->init_from != resume.string()) {
      return absl::InvalidArgumentError("resume: " + resume.string() +
                                        " is a weights file, not a checkpoint, and init_from " +
                                        config->init_from + " is given too");
    }
    log("resume: " + resume.string() +
        " is a torch.save weights file, not a checkpoint: starting from its weights");
    config->init_from = resume.string();
    config->init_sha256.clear();
    resume.clear();
  } else if (!config->init_from.empty()) {
    log("resume: the weights come from the checkpoint; init_from " + config->init_from +
        " is only recorded");
  }
  return resume;
}

// The network, its optimiser and the step counters: as a run starts, then as it goes.
struct TrainState {
  Yolact model{nullptr};
  std::vector<torch::Tensor> params;  // trainable parameters: optimised and gradient-clipped
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  int64_t step = 0;
  int64_t schedule_offset = 0;  // step at which the lr schedule (warmup) starts
};

// The network, step and schedule of checkpoint `resume`; config->model becomes the checkpoint's.
// Records what was restored or reset in `result`.
Status StartFromCheckpoint(const std::filesystem::path& resume, const TrainOptions& options,
                           torch::Device device, TrainConfig* config, TrainState* start,
                           TrainResult* result, const LogFn& log) {
  ABLATE_ASSIGN_OR_RETURN(LoadedCheckpoint ckpt, LoadCheckpoint(resume, device));
  if (ckpt.meta.config.model.num_classes != config->model.num_classes) {
    return absl::InvalidArgumentError(
        absl::StrCat("resume: checkpoint has ", ckpt.meta.config.model.num_classes - 1,
                     " classes, the training set ", config->model.num_classes - 1));
  }
  // The network comes from the checkpoint: model knobs asked for with a resume cannot apply
  // to its weights, so say which ones are ignored rather than drop them silently.
  for (const std::string& key : ModelKnobKeys()) {
    const auto asked = GetModelKnob(config->model, key),
               kept = GetModelKnob(ckpt.meta.config.model, key);
    if (asked != kept) {
      log(absl::StrCat("resume: the network comes from the checkpoint; ignoring ", key, "=",
                       asked.dump(), " (checkpoint: ", kept.dump(), ")"));
    }
  }
  config->model = ckpt.meta.config.model;
  start->model = ckpt.model;
  start->step = ckpt.meta.step;
  result->restored = {"weights", "step", "epoch"};
  start->schedule_offset = ckpt.meta.schedule_offset;
  if (options.reset_schedule) {
    start->schedule_offset = start->step;
    result->reset.push_back("schedule");
  } else {
    result->restored.push_back("schedule");
  }
  return absl::OkStatus();
}

// A new network: initialised per the config's loss, then config->init_from's weights when set
// (their sha256 checked against, then recorded in, config->init_sha256; the report in `result`).
StatusOr<Yolact> NewNetwork(torch::Device device, TrainConfig* config, TrainResult* result,
                            const LogFn& log) {
  Yolact model(config->model);
  const bool focal = config->conf_loss == ConfLoss::kFocalSigmoid ||
                     config->conf_loss == ConfLoss::kFocalSoftmax ||
                     config->conf_loss == ConfLoss::kGhmC;
  model->InitWeights(focal ? config->focal_init_pi : 0, UsesSigmoidScores(config->conf_loss));
  if (!config->init_from.empty()) {
    ABLATE_ASSIGN_OR_RETURN(InitReport init,
                            LoadInitWeights(*model, config->init_from, InitMode::kFineTune));
    if (!config->init_sha256.empty() && config->init_sha256 != init.sha256) {
      return absl::FailedPreconditionError(absl::StrCat(
          "init_from ", config->init_from, " has sha256 ", init.sha256, ", the config records ",
          config->init_sha256, " (the file changed after the run was configured)"));
    }
    config->init_sha256 = init.sha256;  // recorded in every checkpoint's config
    log(init.ToText());
    result->init = std::move(init);
  }
  model->to(device);
  return model;
}

// The network (resumed or new) and its optimiser, whose state comes from `resume` unless the
// run is a fork with reset_optimizer.
StatusOr<TrainState> PrepareStart(const std::filesystem::path& resume, const TrainOptions& options,
                                  torch::Device device, TrainConfig* config, TrainResult* result,
                                  const LogFn& log) {
  TrainState start;
  if (!resume.empty()) {
    ABLATE_RETURN_IF_ERROR(
        StartFromCheckpoint(resume, options, device, config, &start, result, log));
  } else {
    ABLATE_ASSIGN_OR_RETURN(start.model, NewNetwork(device, config, result, log));
  }
  for (auto& p : start.model->parameters()) {
    if (p.requires_grad()) start.params.push_back(p);
  }
  start.optimizer = MakeOptimizer(*config, start.params);
  if (resume.empty()) return start;
  if (options.reset_optimizer) {
    result->reset.push_back("optimizer");
  } else {
    Status loaded = LoadOptimizerState(resume, device, *start.optimizer);
    if (!loaded.ok()) {
      return absl::DataLossError(
          "resume: optimizer state of " + resume.string() +
          " (use a fork with reset_optimizer): " + std::string(loaded.message()));
    }
    result->restored.push_back("optimizer");
  }
  return start;
}

LoaderOptions TrainLoaderOptions(const TrainConfig& config) {
  LoaderOptions lo;
  lo.batch_size = config.batch_size;
  lo.size = config.model.image_size;
  lo.num_workers = config.num_workers;
  lo.prefetch_batches = config.prefetch_batches;
  lo.seed = static_cast<uint64_t>(config.seed);
  lo.augment.mode = config.augment;
  return lo;
}

// The loop of one run, from its start state to the end: steps, progress lines and metrics
// events, checkpoints, evaluations, divergence. Used once (Run) by one thread.
class TrainLoop {
 public:
  TrainLoop(const TrainConfig& config, const TrainOptions& options, TrainData data,
            std::vector<std::string> class_names, torch::Device device, TrainState start,
            TrainResult result)
      : config_(config),
        options_(options),
        val_set_(std::move(data.val)),
        class_names_(std::move(class_names)),
        device_(device),
        state_(std::move(start)),
        result_(std::move(result)),
        loader_(data.train, TrainLoaderOptions(config_), /*first_batch=*/state_.step,
                /*infinite=*/true),
        loss_fn_(config_) {}

  StatusOr<TrainResult> Run();

 private:
  void Log(const std::string& line) const {
    if (options_.log) options_.log(line);
  }
  double CurrentLr() const {
    return LearningRate(config_, state_.step - state_.schedule_offset,
                        config_.max_steps - state_.schedule_offset);
  }
  void EmitStarted() const;
  // One optimisation step; false when the loss was not finite (the run diverged, handled).
  StatusOr<bool> Step();
  // The loss of `out`. A diverged network yields non-finite outputs, on which some loss ops
  // throw (BCE checks its input range): that gives a NaN loss too.
  StatusOr<LossTerms> ComputeLoss(const YolactOutput& out,
                                  const std::vector<ImageTargets>& targets);
  Status OnDiverged();
  void LogProgress(const LossTerms& loss, double value) const;
  // The checkpoint and evaluation due after the current step (checkpoint_every, eval_every).
  Status CheckpointAndEvaluateIfDue();
  Status Checkpoint(double loss);
  StatusOr<EvalResult> EvaluateNow();

  const TrainConfig config_;
  const TrainOptions& options_;
  const std::shared_ptr<const CocoDetectionDataset> val_set_;
  const std::vector<std::string> class_names_;
  const torch::Device device_;
  TrainState state_;  // state_.step: the current step
  TrainResult result_;
  BatchLoader loader_;
  YolactLoss loss_fn_;
  Clock::time_point start_time_;
  double wait_s_ = 0;  // waiting for the loader
  int64_t images_ = 0, epoch_ = 0;
  double last_finite_ = 0, ema_ = -1;
};

StatusOr<TrainResult> TrainLoop::Run() {
  start_time_ = Clock::now();
  epoch_ = state_.step / std::max<int64_t>(1, loader_.batches_per_epoch());
  result_.status = "finished";
  if (options_.on_event) EmitStarted();
  state_.model->train(true);
  try {
    while (state_.step < config_.max_steps) {
      if (options_.max_seconds > 0 && Seconds(start_time_, Clock::now()) > options_.max_seconds) {
        break;
      }
      ABLATE_ASSIGN_OR_RETURN(const bool go_on, Step());
      if (!go_on) break;
    }
  } catch (const std::exception& e) {
    return absl::InternalError(std::string("training failed in LibTorch: ") + e.what());
  }
  const double total_s = Seconds(start_time_, Clock::now());
  result_.images_per_s = images_ / std::max(1e-9, total_s);
  result_.loader_wait_fraction = wait_s_ / std::max(1e-9, total_s);
  result_.step = state_.step;
  result_.epoch = epoch_;
  result_.last_loss = last_finite_;
  if (result_.status == "finished" && images_ > 0) {
    ABLATE_RETURN_IF_ERROR(Checkpoint(ema_));
  }
  if (options_.evaluate && !options_.val_json.empty() && result_.status == "finished") {
    ABLATE_ASSIGN_OR_RETURN(result_.eval, EvaluateNow());
  }
  return std::move(result_);
}

void TrainLoop::EmitStarted() const {
  auto restored = [&](const char* what) {
    return std::find(result_.restored.begin(), result_.restored.end(), what) !=
           result_.restored.end();
  };
  protocol::StartedEvent event;
  event.step = state_.step;
  event.total_steps = config_.max_steps;
  event.restored_weights = restored("weights");
  event.restored_optimizer = restored("optimizer");
  event.restored_schedule = restored("schedule");
  if (result_.init) event.init = result_.init->ToJson();
  options_.on_event(event);
}

StatusOr<bool> TrainLoop::Step() {
  const auto wait_start = Clock::now();
  ABLATE_ASSIGN_OR_RETURN(std::optional<Batch> batch, loader_.Next());
  wait_s_ += Seconds(wait_start, Clock::now());
  epoch_ = batch->epoch;
  std::vector<ImageTargets> targets = batch->targets;
  for (auto& t : targets) {
    t.boxes = t.boxes.to(device_);
    t.labels = t.labels.to(device_);
    t.masks = t.masks.to(device_);
    t.crowd_boxes = t.crowd_boxes.to(device_);
  }
  SetLearningRate(*state_.optimizer, config_, CurrentLr());
  YolactOutput out =
      state_.model->forward(batch->images.to(device_), /*with_segm=*/config_.semantic_weight > 0);
  ABLATE_ASSIGN_OR_RETURN(LossTerms loss, ComputeLoss(out, targets));
  const double value = loss.total.item<double>();
  if (!std::isfinite(value)) {
    ABLATE_RETURN_IF_ERROR(OnDiverged());
    return false;
  }
  state_.optimizer->zero_grad();
  loss.total.backward();
  if (config_.grad_clip > 0) torch::nn::utils::clip_grad_norm_(state_.params, config_.grad_clip);
  state_.optimizer->step();
  ++state_.step;
  images_ += batch->images.size(0);
  last_finite_ = value;
  ema_ = ema_ < 0 ? value : 0.95 * ema_ + 0.05 * value;
  if (options_.log_every > 0 && state_.step % options_.log_every == 0) LogProgress(loss, value);
  ABLATE_RETURN_IF_ERROR(CheckpointAndEvaluateIfDue());
  return true;
}

StatusOr<LossTerms> TrainLoop::ComputeLoss(const YolactOutput& out,
                                           const std::vector<ImageTargets>& targets) {
  try {
    return loss_fn_(out, targets, *state_.model);
  } catch (const c10::Error& e) {
    const bool finite = torch::isfinite(out.loc).all().item<bool>() &&
                        torch::isfinite(out.conf).all().item<bool>() &&
                        torch::isfinite(out.mask_coeff).all().item<bool>() &&
                        torch::isfinite(out.proto).all().item<bool>();
    if (finite) throw;
    return LossTerms{torch::full({}, NAN), {}, 0};
  }
}

Status TrainLoop::OnDiverged() {
  const int64_t step = state_.step;
  result_.status = "diverged";
  Log(absl::StrFormat("step %d: non-finite loss, stopping (diverged)", step));
  if (result_.checkpoint.empty()) ABLATE_RETURN_IF_ERROR(Checkpoint(last_finite_));
  if (options_.on_event) {
    protocol::DivergedEvent event;
    event.step = step;
    event.reason = absl::StrFormat("non-finite loss at step %d", step);
    if (!result_.checkpoint.empty()) event.last_checkpoint = result_.checkpoint;
    options_.on_event(event);
  }
  return absl::OkStatus();
}

void TrainLoop::LogProgress(const LossTerms& loss, double value) const {
  std::string terms;
  for (const auto& [k, v] : loss.terms) {
    absl::StrAppendFormat(&terms, " %s %.3f", k, v.item<double>());
  }
  Log(absl::StrFormat("step %d ep %d loss %.3f (avg %.3f)%s lr %.2g %.1f img/s", state_.step,
                      epoch_, value, ema_, terms, CurrentLr(),
                      images_ / Seconds(start_time_, Clock::now())));
  if (options_.on_event) {
    protocol::MetricsEvent event;
    event.step = state_.step;
    event.values = {{"loss", value},
                    {"loss_avg", ema_},
                    {"lr", CurrentLr()},
                    {"images_per_s", images_ / Seconds(start_time_, Clock::now())}};
    for (const auto& [k, v] : loss.terms) event.values["loss_" + k] = v.item<double>();
    options_.on_event(event);
  }
}

Status TrainLoop::CheckpointAndEvaluateIfDue() {
  const int64_t step = state_.step;
  const bool eval_now = options_.eval_every > 0 && step % options_.eval_every == 0 &&
                        step < config_.max_steps && !options_.val_json.empty();
  if ((config_.checkpoint_every > 0 && step % config_.checkpoint_every == 0) || eval_now) {
    ABLATE_RETURN_IF_ERROR(Checkpoint(ema_));
  }
  if (eval_now) {
    ABLATE_RETURN_IF_ERROR(EvaluateNow().status());
    state_.model->train(true);
  }
  return absl::OkStatus();
}

Status TrainLoop::Checkpoint(double loss) {
  const int64_t step = state_.step;
  CheckpointMeta meta{step, epoch_, loss, state_.schedule_offset, config_, class_names_};
  const std::string name = CheckpointName(step, epoch_, loss);
  const auto path = options_.out_dir / (name + ".pt");
  ABLATE_RETURN_IF_ERROR(SaveCheckpoint(path, *state_.model, *state_.optimizer, meta));
  result_.checkpoint = name;
  result_.checkpoint_path = path;
  if (options_.prune_checkpoints) {
    PruneCheckpoints(options_.out_dir, config_.keep_checkpoints, path);
  }
  Log("checkpoint " + name);
  if (options_.on_event) {
    ABLATE_ASSIGN_OR_RETURN(std::string sha256, Sha256HexOfFile(path));
    protocol::CheckpointEvent event;
    event.name = name;
    event.path = std::filesystem::absolute(path).string();
    event.step = step;
    event.epoch = epoch_;
    event.loss = loss;
    event.sha256 = sha256;
    event.bytes = static_cast<int64_t>(std::filesystem::file_size(path));
    options_.on_event(event);
  }
  return absl::OkStatus();
}

StatusOr<EvalResult> TrainLoop::EvaluateNow() {
  if (!val_set_) return absl::InternalError("evaluation without a validation set");
  EvalOptions eo;
  eo.batch_size = config_.batch_size;
  eo.num_workers = config_.num_workers;
  eo.results_json = options_.out_dir / "results.json";
  eo.gallery.dir = options_.out_dir / "gallery" / result_.checkpoint;
  eo.gallery.count = options_.gallery_images;
  ABLATE_ASSIGN_OR_RETURN(EvalResult er, Evaluate(*state_.model, config_, val_set_, eo, device_));
  if (options_.on_evaluation) options_.on_evaluation(result_.checkpoint, er);
  return er;
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

StatusOr<TrainResult> Train(const TrainConfig& config_in, const TrainOptions& options) {
  const LogFn log = [&](const std::string& line) {
    if (options.log) options.log(line);
  };
  const torch::Device device = DefaultDevice();
  ABLATE_ASSIGN_OR_RETURN(TrainData data, OpenDatasets(options));
  TrainConfig config = config_in;
  config.model.num_classes = data.train->num_classes() + 1;
  std::vector<std::string> class_names = ClassNamesOf(*data.train);
  ABLATE_RETURN_IF_ERROR(config.Validate());
  torch::manual_seed(config.seed);

  TrainResult result;
  ABLATE_ASSIGN_OR_RETURN(const std::filesystem::path resume, ResolveResume(options, &config, log));
  ABLATE_ASSIGN_OR_RETURN(TrainState start,
                          PrepareStart(resume, options, device, &config, &result, log));
  std::error_code ec;
  std::filesystem::create_directories(options.out_dir, ec);
  if (ec) return absl::InternalError("cannot create " + options.out_dir.string());
  TrainLoop loop(config, options, std::move(data), std::move(class_names), device, std::move(start),
                 std::move(result));
  return loop.Run();
}

}  // namespace ablate::detector
