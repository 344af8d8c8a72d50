// `ablate-train eval`: COCO bbox and segm evaluation of a checkpoint (ours, or a reference
// YOLACT one described by --preset) on a COCO set (detector/evaluate.h); with --events, the
// worker protocol's event lines on stdout (tools/event_stream.h).
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "detector/tools/commands.h"
#include "detector/tools/event_stream.h"
#include "detector/train.h"
#include "detector/weights_file.h"
#include "nlohmann/json.hpp"

namespace ablate::detector::tool {
namespace {

struct EvalCommandFlags {
  std::string checkpoint, val_json, image_dir, val_image_dir, results, out;
  std::string preset = "tiny";
  bool preset_given = false;  // --preset on the command line (set when the command runs)
  std::vector<std::string> sets;
  bool json = false;
  EvalFlags eval;
};

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

// --checkpoint: one of ours, or a torch.save weights file with --preset (and --set) describing
// its network. InvalidArgument when --preset / --set do not fit the kind of file.
absl::StatusOr<LoadedCheckpoint> LoadCheckpointToEvaluate(const EvalCommandFlags& flags) {
  auto kind = DetectWeightsFile(flags.checkpoint);
  if (!kind.ok()) return kind.status();
  const bool reference = *kind != WeightsFileKind::kAblateCheckpoint;
  if (reference && !flags.preset_given) {
    return absl::InvalidArgumentError(
        flags.checkpoint +
        " is a torch.save weights file, not an ablate checkpoint: give --preset "
        "(and --set for model knobs) to describe its network");
  }
  if (!reference && (flags.preset_given || !flags.sets.empty())) {
    return absl::InvalidArgumentError(
        "--preset / --set describe a reference checkpoint's network; " + flags.checkpoint +
        " is an ablate checkpoint, which records its own");
  }
  return reference ? LoadReferenceForEval(flags.checkpoint, flags.preset, flags.sets,
                                          flags.val_json, flags.image_dir)
                   : LoadCheckpoint(flags.checkpoint, DefaultDevice());
}

// --val with its images, which must exist and have the checkpoint's class count.
absl::StatusOr<std::shared_ptr<CocoDetectionDataset>> OpenValidationSet(
    const EvalCommandFlags& flags, const TrainConfig& config) {
  auto val = CocoDetectionDataset::Load(
      flags.val_json, flags.val_image_dir.empty() ? flags.image_dir : flags.val_image_dir,
      /*for_training=*/false);
  if (!val.ok()) return val.status();
  if (absl::Status s = (*val)->CheckImagesExist(); !s.ok()) return s;
  if ((*val)->num_classes() + 1 != config.model.num_classes) {
    return absl::InvalidArgumentError("--val has a different class count than the checkpoint");
  }
  return val;
}

// "0.05" for 0.05: the shortest text that reads back as the same double.
std::string ShortNumber(double v) { return nlohmann::json(v).dump(); }

EvalOptions EvalOptionsFor(const EvalCommandFlags& flags, const TrainConfig& config) {
  EvalOptions eo;
  eo.num_workers = config.num_workers;
  eo.results_json = flags.results;
  const std::string ckpt_name = std::filesystem::path(flags.checkpoint).stem().string();
  // Eval jobs at different score thresholds must not overwrite each other's gallery.
  const std::filesystem::path run_dir = flags.out.empty()
                                            ? std::filesystem::path(flags.checkpoint).parent_path()
                                            : std::filesystem::path(flags.out);
  eo.gallery.dir = run_dir / "gallery" / (ckpt_name + "-st" + ShortNumber(config.score_threshold));
  eo.gallery.count = std::max(0, flags.eval.gallery);
  return eo;
}

int RunEvaluation(const EvalCommandFlags& flags, const GlobalFlags& global) {
  if (absl::Status s = StartCommand(global, NumCores(), flags.eval.max_dets); !s.ok()) {
    return Fail(s);
  }
  auto ckpt = LoadCheckpointToEvaluate(flags);
  if (!ckpt.ok()) return Fail(ckpt.status());
  TrainConfig config = ckpt->meta.config;
  ApplyDetectFlags(flags.eval, &config);
  auto val = OpenValidationSet(flags, config);
  if (!val.ok()) return Fail(val.status());
  const EvalOptions eo = EvalOptionsFor(flags, config);
  const std::string ckpt_name = std::filesystem::path(flags.checkpoint).stem().string();
  if (global.events) {
    protocol::StartedEvent started;
    started.step = ckpt->meta.step;
    started.total_steps = ckpt->meta.step;
    started.restored_weights = true;
    protocol::EmitTrialEvent(started);
  }
  auto r = Evaluate(*ckpt->model, config, *val, eo, DefaultDevice());
  if (!r.ok()) return Fail(r.status());
  WarnGallery(*r);
  if (global.events) {
    auto fp = DatasetFingerprint(flags.val_json);
    if (!fp.ok()) return Fail(fp.status());
    EmitEvaluation(ckpt_name, *r,
                   {*fp, config.score_threshold, config.max_detections, config.nms_iou, 100});
    protocol::EmitTrialEvent(protocol::FinishedEvent{"succeeded", ckpt_name, std::nullopt});
    return 0;
  }
  if (flags.json) {
    nlohmann::json j = r->ToJson();
    j["checkpoint"] = ckpt_name;
    std::cout << j.dump(2) << "\n";
  } else {
    PrintEval(*r);
  }
  return 0;
}

}  // namespace

void RegisterEvalCommand(CLI::App& app, CommandContext& ctx) {
  auto flags = std::make_shared<EvalCommandFlags>();
  EvalCommandFlags& f = *flags;
  CLI::App* cmd = app.add_subcommand("eval", "evaluate a checkpoint (bbox and segm AP)");
  cmd->add_option("--checkpoint", f.checkpoint,
                  "checkpoint file: ours, or a reference YOLACT checkpoint with --preset")
      ->required();
  cmd->add_option("--preset", f.preset,
                  "network of a reference YOLACT checkpoint (tiny | r50 | r50-dcn | r101); the "
                  "file must match it exactly");
  cmd->add_option("--set", f.sets, "KEY=VALUE overrides of the --preset network (repeatable)");
  cmd->add_option("--val", f.val_json, "annotations (COCO JSON)")->required();
  cmd->add_option("--val-images", f.val_image_dir,
                  "image folder, e.g. coco/val2017 (default: --images, else next to the JSON or "
                  "its images/ sub-folder)");
  cmd->add_option("--images", f.image_dir, "same as --val-images");
  AddDetectFlags(cmd, f.eval);
  cmd->add_option("--results", f.results, "write COCO results JSON here");
  cmd->add_flag("--json", f.json, "print the result as JSON");
  cmd->add_option("--out", f.out,
                  "run folder for the gallery (default: the checkpoint's folder); the gallery "
                  "goes to OUT/gallery/<checkpoint>-st<score threshold>/");
  AddEvaluationFlags(cmd, f.eval);
  cmd->callback([flags, cmd, &ctx] {
    flags->preset_given = cmd->count("--preset") > 0;
    ctx.exit_code = RunEvaluation(*flags, ctx.global);
  });
}

}  // namespace ablate::detector::tool
