// ablate-train: runs one detector training / evaluation / fidelity check directly, without the
// coordinator (debugging and demos). Subcommands: shapes, run, eval, predict, reference-check.
// Exit codes: 0 success, 1 reference mismatch, diverged training, or predict wrote no image
// (every input skipped or none found), 2 error (bad arguments, unreadable checkpoint, missing
// --images path, ...).
#include <torch/torch.h>

#include <iostream>
#include <string>
#include <thread>

#include "CLI/CLI.hpp"
#include "common/sha256.h"
#include "detector/config/train_config.h"
#include "detector/cpu_threads.h"
#include "detector/data.h"
#include "detector/predict.h"
#include "detector/reference_check.h"
#include "detector/shapes.h"
#include "detector/tools/event_stream.h"
#include "detector/train.h"
#include "detector/weights_file.h"
#include "nlohmann/json.hpp"

namespace {

using namespace ablate::detector;  // NOLINT: a tool's main
namespace protocol = ablate::protocol;

int Fail(const absl::Status& status) {
  std::cerr << "ablate-train: " << status.ToString() << "\n";
  return 2;
}

// --device cpu | cuda:N, applied before LibTorch touches CUDA: "cpu" hides every GPU, "cuda:N"
// shows only GPU N (which LibTorch then calls cuda:0). Empty: CUDA when available.
absl::Status SelectDevice(const std::string& device) {
  if (device.empty()) return absl::OkStatus();
  if (device == "cpu") {
    ::setenv("CUDA_VISIBLE_DEVICES", "", 1);
    return absl::OkStatus();
  }
  if (device.rfind("cuda:", 0) == 0 && device.size() > 5 &&
      device.find_first_not_of("0123456789", 5) == std::string::npos) {
    ::setenv("CUDA_VISIBLE_DEVICES", device.substr(5).c_str(), 1);
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError("--device must be cpu or cuda:N, got '" + device + "'");
}

absl::StatusOr<std::string> DatasetFingerprint(const std::string& path) {
  auto hex = ablate::Sha256HexOfFile(path);
  if (!hex.ok()) return hex.status();
  return "sha256:" + *hex;
}

void PrintEval(const EvalResult& r) {
  std::cout << "bbox:\n" << r.bbox_summary << "segm:\n" << r.segm_summary;
  std::cout << r.num_detections << " detections on " << r.num_images << " images (max "
            << r.detections_per_image_max << " per image)";
  if (r.results_bytes > 0) std::cout << ", results " << r.results_bytes << " bytes";
  if (r.gallery) {
    std::cout << ", gallery " << r.gallery->images.size() << " images in "
              << r.gallery->dir.string();
  }
  std::cout << "\n";
}

void WarnGallery(const EvalResult& r) {
  if (!r.gallery_error.empty())
    std::cerr << "ablate-train: no gallery: " << r.gallery_error << "\n";
}

// A reference checkpoint (a torch.save state dict) as a checkpoint to evaluate: the network of
// `preset` + `sets` with the class count of the --val set, whose every tensor must be in the file
// with the same shape (InitMode::kExact).
absl::StatusOr<LoadedCheckpoint> LoadReferenceForEval(const std::string& path,
                                                      const std::string& preset,
                                                      const std::vector<std::string>& sets,
                                                      const std::string& val_json,
                                                      const std::string& image_dir) {
  auto config = TrainPreset(preset);
  if (!config.ok()) return config.status();
  for (const std::string& s : sets) {
    if (absl::Status st = config->ParseAssignment(s); !st.ok()) return st;
  }
  auto val = CocoDetectionDataset::Load(val_json, image_dir, false);
  if (!val.ok()) return val.status();
  config->model.num_classes = (*val)->num_classes() + 1;
  if (absl::Status st = config->Validate(); !st.ok()) return st;
  LoadedCheckpoint out;
  out.meta.config = *config;
  out.model = Yolact(config->model);
  auto report = LoadInitWeights(*out.model, path, InitMode::kExact);
  if (!report.ok()) return report.status();
  std::cerr << "ablate-train: " << report->ToText() << "\n";
  out.model->to(DefaultDevice());
  return out;
}

// "0.05" for 0.05: the shortest text that reads back as the same double.
std::string ShortNumber(double v) { return nlohmann::json(v).dump(); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ablate-train: train, evaluate or check the YOLACT detector directly"};
  app.require_subcommand(1);
  app.fallthrough();  // --device / --events / --threads may follow the subcommand
  int threads = 0;
  std::string device;
  bool events = false;
  double nms_iou = -1;
  int max_dets = 100;
  app.add_option("--device", device, "cpu or cuda:N (default: CUDA when available)");
  app.add_flag("--events", events,
               "run/eval: JSON event lines on stdout for the worker (docs/worker-protocol.md)");
  app.add_option("--threads", threads,
                 "intra-op threads (default: number of cores; reference-check: 1, for "
                 "bit-exact results)");

  // shapes
  std::string shapes_out;
  ShapesOptions shapes;
  CLI::App* shapes_cmd = app.add_subcommand("shapes", "write a synthetic COCO shapes dataset");
  shapes_cmd->add_option("--out", shapes_out, "output directory")->required();
  shapes_cmd->add_option("--train", shapes.train_images, "training images");
  shapes_cmd->add_option("--val", shapes.val_images, "validation images");
  shapes_cmd->add_option("--size", shapes.image_size, "image size in pixels");
  shapes_cmd->add_option("--seed", shapes.seed, "random seed");

  // run
  std::string preset = "tiny";
  std::vector<std::string> sets;
  int steps = 0;
  double max_minutes = 0;
  bool run_json = false, fork_reset_optimizer = false, fork_reset_schedule = false;
  TrainOptions train;
  std::string train_json, val_json, out_dir, resume, image_dir, train_image_dir, val_image_dir,
      init_from;
  CLI::App* run = app.add_subcommand("run", "train, write checkpoints, evaluate at the end");
  run->add_option("--train", train_json, "training annotations (COCO JSON)")->required();
  run->add_option("--val", val_json, "validation annotations (COCO JSON)");
  run->add_option("--train-images", train_image_dir,
                  "training image folder, e.g. coco/train2017 (default: --images, else next to "
                  "the JSON or its images/ sub-folder)");
  run->add_option("--val-images", val_image_dir,
                  "validation image folder, e.g. coco/val2017 (default: --images, else next to "
                  "the JSON or its images/ sub-folder)");
  run->add_option("--images", image_dir, "image folder of both sets (when they share one)");
  run->add_option("--preset", preset, "tiny | r50 | r50-dcn | r101");
  run->add_option("--set", sets, "KEY=VALUE overrides (repeatable)");
  run->add_option("--steps", steps, "training steps (overrides max_steps)");
  run->add_option("--max-minutes", max_minutes, "stop after this wall time");
  run->add_option("--out", out_dir, "output directory for checkpoints and results")->required();
  run->add_option("--resume", resume, "checkpoint to continue from");
  run->add_option("--init", init_from,
                  "start from these weights: a torchvision ResNet state dict, a reference YOLACT "
                  "checkpoint or one of ours (same as --set init_from=PATH)");
  run->add_flag("--reset-optimizer", fork_reset_optimizer, "fork: fresh optimiser state");
  run->add_flag("--reset-schedule", fork_reset_schedule, "fork: restart warmup/lr steps");
  run->add_flag("--json", run_json, "print the result as JSON");
  int eval_every = 0, checkpoint_every = -1, gallery = 8;
  run->add_option("--eval-every", eval_every, "evaluate on --val every N steps (0: at the end)");
  run->add_option("--checkpoint-every", checkpoint_every, "checkpoint every N steps");

  // eval
  std::string ckpt_path, eval_val;
  double score_threshold = -1;
  int top_k = -1;
  bool eval_json = false;
  std::string eval_results, eval_out;
  CLI::App* eval = app.add_subcommand("eval", "evaluate a checkpoint (bbox and segm AP)");
  eval->add_option("--checkpoint", ckpt_path,
                   "checkpoint file: ours, or a reference YOLACT checkpoint with --preset")
      ->required();
  eval->add_option("--preset", preset,
                   "network of a reference YOLACT checkpoint (tiny | r50 | r50-dcn | r101); the "
                   "file must match it exactly");
  eval->add_option("--set", sets, "KEY=VALUE overrides of the --preset network (repeatable)");
  eval->add_option("--val", eval_val, "annotations (COCO JSON)")->required();
  eval->add_option("--val-images", val_image_dir,
                   "image folder, e.g. coco/val2017 (default: --images, else next to the JSON or "
                   "its images/ sub-folder)");
  eval->add_option("--images", image_dir, "same as --val-images");
  eval->add_option("--score-threshold", score_threshold, "Detect confidence threshold");
  eval->add_option("--top-k", top_k, "maximum detections per image");
  eval->add_option("--results", eval_results, "write COCO results JSON here");
  eval->add_flag("--json", eval_json, "print the result as JSON");
  eval->add_option("--out", eval_out,
                   "run folder for the gallery (default: the checkpoint's folder); the gallery "
                   "goes to OUT/gallery/<checkpoint>-st<score threshold>/");
  for (CLI::App* cmd : {run, eval}) {
    if (cmd == run) {
      cmd->add_option("--score-threshold", score_threshold, "Detect confidence threshold");
      cmd->add_option("--top-k", top_k, "maximum detections per image");
    }
    cmd->add_option("--nms-iou", nms_iou, "NMS IoU threshold");
    cmd->add_option("--max-dets", max_dets, "COCO maxDets of the summary (only 100)");
    cmd->add_option("--gallery", gallery,
                    "annotated validation images per evaluation (a fixed sample; 0 = none)");
  }

  // predict
  PredictOptions predict;
  std::string predict_ckpt, predict_images, predict_out;
  bool predict_json = false;
  CLI::App* predict_cmd = app.add_subcommand(
      "predict", "draw a checkpoint's detections on images (JPEGs; ground truth beside them)");
  predict_cmd->add_option("--checkpoint", predict_ckpt, "checkpoint file")->required();
  predict_cmd
      ->add_option("--images", predict_images,
                   "folder of .jpg/.png images, or a COCO JSON (ground truth drawn beside)")
      ->required();
  predict_cmd->add_option("--out", predict_out, "output folder for the JPEGs")->required();
  predict_cmd->add_option("--score-threshold", predict.score_threshold,
                          "draw detections with at least this score (default 0.3)");
  predict_cmd->add_option("--top-k", predict.top_k,
                          "most detections per image (default: the checkpoint's)");
  predict_cmd->add_option("--limit", predict.limit, "only the first N images (0 = all)");
  predict_cmd->add_flag("--json", predict_json,
                        "print {images_written, skipped: [{file, reason}], detections, bytes, "
                        "...} as JSON");

  // reference-check
  std::string ref_dir;
  bool ref_json = false;
  int ref_rows = 20;
  CLI::App* ref = app.add_subcommand(
      "reference-check", "compare the model with a yolact-vectors directory; exit 1 on mismatch");
  ref->add_option("DIR", ref_dir, "vector directory (manifest.json, weights.pt, ...)")->required();
  ref->add_flag("--json", ref_json, "print the full comparison as JSON");
  ref->add_option("--rows", ref_rows, "rows of the text table (0 = all)");

  CLI11_PARSE(app, argc, argv);
  if (absl::Status s = SelectDevice(device); !s.ok()) return Fail(s);
  if (max_dets != 100) {
    return Fail(absl::InvalidArgumentError("--max-dets: only COCO's 100 is supported"));
  }
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  if (*ref) {
    SetCpuThreads(threads > 0 ? threads : 1);
    auto report = RunReferenceCheck(ref_dir);
    if (!report.ok()) return Fail(report.status());
    if (ref_json) {
      std::cout << report->ToJson().dump(2) << "\n";
    } else {
      std::cout << report->ToText(static_cast<size_t>(ref_rows));
    }
    return report->ok() ? 0 : 1;
  }
  SetCpuThreads(threads > 0 ? threads : cores);
  if (*shapes_cmd) {
    absl::Status s = WriteShapesDataset(shapes_out, shapes);
    if (!s.ok()) return Fail(s);
    std::cout << "wrote " << shapes_out << "/train.json (" << shapes.train_images << " images), "
              << shapes_out << "/val.json (" << shapes.val_images << " images)\n";
    return 0;
  }
  if (*run) {
    auto config = TrainPreset(preset);
    if (!config.ok()) return Fail(config.status());
    for (const std::string& s : sets) {
      absl::Status st = config->ParseAssignment(s);
      if (!st.ok()) return Fail(st);
    }
    if (!init_from.empty()) {
      config->init_from = init_from;
      config->init_sha256.clear();
    }
    if (steps > 0) config->max_steps = steps;
    if (checkpoint_every >= 0) config->checkpoint_every = checkpoint_every;
    if (score_threshold >= 0) config->score_threshold = score_threshold;
    if (top_k > 0) config->max_detections = top_k;
    if (nms_iou > 0) config->nms_iou = nms_iou;
    absl::Status valid = config->Validate();
    if (!valid.ok()) return Fail(valid);
    train.train_json = train_json;
    train.val_json = val_json;
    train.train_image_dir = train_image_dir.empty() ? image_dir : train_image_dir;
    train.val_image_dir = val_image_dir.empty() ? image_dir : val_image_dir;
    train.out_dir = out_dir;
    train.resume = resume;
    train.reset_optimizer = fork_reset_optimizer;
    train.reset_schedule = fork_reset_schedule;
    train.max_seconds = max_minutes * 60;
    train.log = [&](const std::string& line) { std::cerr << line << "\n"; };
    train.eval_every = eval_every;
    train.gallery_images = std::max(0, gallery);
    train.on_evaluation = [](const std::string&, const EvalResult& r) { WarnGallery(r); };
    if (events) {
      EvalSettingsForEvents settings{"", config->score_threshold, config->max_detections,
                                     config->nms_iou, 100};
      if (!val_json.empty()) {
        auto fp = DatasetFingerprint(val_json);
        if (!fp.ok()) return Fail(fp.status());
        settings.dataset_fingerprint = *fp;
      }
      train.log_every = std::min(train.log_every, 10);
      train.prune_checkpoints = false;  // the coordinator owns retention
      train.on_event = [](const protocol::TrialEvent& e) { protocol::EmitTrialEvent(e); };
      train.on_evaluation = [settings](const std::string& ck, const EvalResult& r) {
        WarnGallery(r);
        EmitEvaluation(ck, r, settings);
      };
    }
    auto result = Train(*config, train);
    if (!result.ok()) return Fail(result.status());
    if (events) {
      protocol::FinishedEvent finished;
      finished.status = result->status == "diverged" ? "diverged" : "succeeded";
      if (!result->checkpoint.empty()) finished.checkpoint = result->checkpoint;
      finished.images_per_s = result->images_per_s;
      protocol::EmitTrialEvent(finished);
      return 0;  // the outcome is in the event; non-zero means the process failed
    }
    if (run_json) {
      std::cout << result->ToJson().dump(2) << "\n";
    } else {
      if (result->init) std::cout << result->init->ToText() << "\n";
      std::cout << "status " << result->status << ", step " << result->step << ", checkpoint "
                << result->checkpoint << ", " << result->images_per_s << " images/s (loader wait "
                << 100 * result->loader_wait_fraction << "%)\n";
      if (result->eval) PrintEval(*result->eval);
    }
    return result->status == "diverged" ? 1 : 0;
  }
  if (*eval) {
    auto kind = DetectWeightsFile(ckpt_path);
    if (!kind.ok()) return Fail(kind.status());
    const bool reference = *kind != WeightsFileKind::kAblateCheckpoint;
    if (reference && eval->count("--preset") == 0) {
      return Fail(absl::InvalidArgumentError(
          ckpt_path +
          " is a torch.save weights file, not an ablate checkpoint: give --preset "
          "(and --set for model knobs) to describe its network"));
    }
    if (!reference && (eval->count("--preset") > 0 || !sets.empty())) {
      return Fail(absl::InvalidArgumentError(
          "--preset / --set describe a reference checkpoint's network; " + ckpt_path +
          " is an ablate checkpoint, which records its own"));
    }
    auto ckpt = reference ? LoadReferenceForEval(ckpt_path, preset, sets, eval_val, image_dir)
                          : LoadCheckpoint(ckpt_path, DefaultDevice());
    if (!ckpt.ok()) return Fail(ckpt.status());
    TrainConfig config = ckpt->meta.config;
    if (score_threshold >= 0) config.score_threshold = score_threshold;
    if (top_k > 0) config.max_detections = top_k;
    if (nms_iou > 0) config.nms_iou = nms_iou;
    auto val =
        CocoDetectionDataset::Load(eval_val, val_image_dir.empty() ? image_dir : val_image_dir,
                                   /*for_training=*/false);
    if (!val.ok()) return Fail(val.status());
    if (absl::Status s = (*val)->CheckImagesExist(); !s.ok()) return Fail(s);
    if ((*val)->num_classes() + 1 != config.model.num_classes) {
      return Fail(
          absl::InvalidArgumentError("--val has a different class count than the checkpoint"));
    }
    EvalOptions eo;
    eo.num_workers = config.num_workers;
    eo.results_json = eval_results;
    const std::string ckpt_name = std::filesystem::path(ckpt_path).stem().string();
    // Eval jobs at different score thresholds must not overwrite each other's gallery.
    const std::filesystem::path run_dir = eval_out.empty()
                                              ? std::filesystem::path(ckpt_path).parent_path()
                                              : std::filesystem::path(eval_out);
    eo.gallery.dir =
        run_dir / "gallery" / (ckpt_name + "-st" + ShortNumber(config.score_threshold));
    eo.gallery.count = std::max(0, gallery);
    if (events) {
      protocol::StartedEvent started;
      started.step = ckpt->meta.step;
      started.total_steps = ckpt->meta.step;
      started.restored_weights = true;
      protocol::EmitTrialEvent(started);
    }
    auto r = Evaluate(*ckpt->model, config, *val, eo, DefaultDevice());
    if (!r.ok()) return Fail(r.status());
    WarnGallery(*r);
    if (events) {
      auto fp = DatasetFingerprint(eval_val);
      if (!fp.ok()) return Fail(fp.status());
      EmitEvaluation(ckpt_name, *r,
                     {*fp, config.score_threshold, config.max_detections, config.nms_iou, 100});
      protocol::EmitTrialEvent(protocol::FinishedEvent{"succeeded", ckpt_name, std::nullopt});
      return 0;
    }
    if (eval_json) {
      nlohmann::json j = r->ToJson();
      j["checkpoint"] = std::filesystem::path(ckpt_path).stem().string();
      std::cout << j.dump(2) << "\n";
    } else {
      PrintEval(*r);
    }
    return 0;
  }
  if (*predict_cmd) {
    auto ckpt = LoadCheckpoint(predict_ckpt, DefaultDevice());
    if (!ckpt.ok()) return Fail(ckpt.status());
    predict.images = predict_images;
    predict.out_dir = predict_out;
    predict.log = [](const std::string& line) { std::cerr << "ablate-train: " << line << "\n"; };
    auto r = Predict(*ckpt->model, ckpt->meta, predict, DefaultDevice());
    if (!r.ok()) return Fail(r.status());
    if (predict_json) {
      std::cout << r->ToJson(predict_out).dump(2) << "\n";
    } else {
      std::cout << "wrote " << r->written.size() << " images (" << r->bytes << " bytes, "
                << r->detections << " detections) to " << predict_out << " in " << r->seconds
                << " s; skipped " << r->skipped.size() << "\n";
    }
    if (r->written.empty()) {
      std::cerr << "ablate-train: predict wrote no image\n";
      return 1;
    }
    return 0;
  }
  return 0;
}
