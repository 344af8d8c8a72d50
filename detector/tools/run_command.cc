// `ablate-train run`: trains (detector/train.h), writes checkpoints, evaluates at the end; with
// --events, the worker protocol's event lines on stdout (tools/event_stream.h).
#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "detector/tools/commands.h"
#include "detector/tools/event_stream.h"
#include "detector/train.h"
#include "nlohmann/json.hpp"

namespace ablate::detector::tool {
namespace {

struct RunFlags {
  std::string train_json, val_json, out_dir, resume, init_from;
  std::string image_dir, train_image_dir, val_image_dir;
  std::string preset = "tiny";
  std::vector<std::string> sets;
  int steps = 0;
  double max_minutes = 0;
  bool json = false, reset_optimizer = false, reset_schedule = false;
  int eval_every = 0, checkpoint_every = -1;
  EvalFlags eval;
};

// The preset with --set, --init, --steps, --checkpoint-every and the Detect flags applied.
absl::StatusOr<TrainConfig> RunConfig(const RunFlags& flags) {
  auto config = TrainPreset(flags.preset);
  if (!config.ok()) return config.status();
  for (const std::string& s : flags.sets) {
    absl::Status st = config->ParseAssignment(s);
    if (!st.ok()) return st;
  }
  if (!flags.init_from.empty()) {
    config->init_from = flags.init_from;
    config->init_sha256.clear();
  }
  if (flags.steps > 0) config->max_steps = flags.steps;
  if (flags.checkpoint_every >= 0) config->checkpoint_every = flags.checkpoint_every;
  ApplyDetectFlags(flags.eval, &*config);
  absl::Status valid = config->Validate();
  if (!valid.ok()) return valid;
  return config;
}

TrainOptions RunOptions(const RunFlags& flags) {
  TrainOptions train;
  train.train_json = flags.train_json;
  train.val_json = flags.val_json;
  train.train_image_dir = flags.train_image_dir.empty() ? flags.image_dir : flags.train_image_dir;
  train.val_image_dir = flags.val_image_dir.empty() ? flags.image_dir : flags.val_image_dir;
  train.out_dir = flags.out_dir;
  train.resume = flags.resume;
  train.reset_optimizer = flags.reset_optimizer;
  train.reset_schedule = flags.reset_schedule;
  train.max_seconds = flags.max_minutes * 60;
  train.log = [](const std::string& line) { std::cerr << line << "\n"; };
  train.eval_every = flags.eval_every;
  train.gallery_images = std::max(0, flags.eval.gallery);
  train.on_evaluation = [](const std::string&, const EvalResult& r) { WarnGallery(r); };
  return train;
}

// --events: progress, checkpoint and evaluation events instead of pruning and text.
absl::Status UseEvents(const RunFlags& flags, const TrainConfig& config, TrainOptions* train) {
  EvalSettingsForEvents settings{"", config.score_threshold, config.max_detections, config.nms_iou,
                                 100};
  if (!flags.val_json.empty()) {
    auto fp = DatasetFingerprint(flags.val_json);
    if (!fp.ok()) return fp.status();
    settings.dataset_fingerprint = *fp;
  }
  train->log_every = std::min(train->log_every, 10);
  train->prune_checkpoints = false;  // the coordinator owns retention
  train->on_event = [](const protocol::TrialEvent& e) { protocol::EmitTrialEvent(e); };
  train->on_evaluation = [settings](const std::string& ck, const EvalResult& r) {
    WarnGallery(r);
    EmitEvaluation(ck, r, settings);
  };
  return absl::OkStatus();
}

int RunTraining(const RunFlags& flags, const GlobalFlags& global) {
  if (absl::Status s = StartCommand(global, NumCores(), flags.eval.max_dets); !s.ok()) {
    return Fail(s);
  }
  auto config = RunConfig(flags);
  if (!config.ok()) return Fail(config.status());
  TrainOptions train = RunOptions(flags);
  if (global.events) {
    if (absl::Status s = UseEvents(flags, *config, &train); !s.ok()) return Fail(s);
  }
  auto result = Train(*config, train);
  if (!result.ok()) return Fail(result.status());
  if (global.events) {
    protocol::FinishedEvent finished;
    finished.status = result->status == "diverged" ? "diverged" : "succeeded";
    if (!result->checkpoint.empty()) finished.checkpoint = result->checkpoint;
    finished.images_per_s = result->images_per_s;
    protocol::EmitTrialEvent(finished);
    return 0;  // the outcome is in the event; non-zero means the process failed
  }
  if (flags.json) {
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

}  // namespace

void RegisterRunCommand(CLI::App& app, CommandContext& ctx) {
  auto flags = std::make_shared<RunFlags>();
  RunFlags& f = *flags;
  CLI::App* cmd = app.add_subcommand("run", "train, write checkpoints, evaluate at the end");
  cmd->add_option("--train", f.train_json, "training annotations (COCO JSON)")->required();
  cmd->add_option("--val", f.val_json, "validation annotations (COCO JSON)");
  cmd->add_option("--train-images", f.train_image_dir,
                  "training image folder, e.g. coco/train2017 (default: --images, else next to "
                  "the JSON or its images/ sub-folder)");
  cmd->add_option("--val-images", f.val_image_dir,
                  "validation image folder, e.g. coco/val2017 (default: --images, else next to "
                  "the JSON or its images/ sub-folder)");
  cmd->add_option("--images", f.image_dir, "image folder of both sets (when they share one)");
  cmd->add_option("--preset", f.preset, "tiny | r50 | r50-dcn | r101");
  cmd->add_option("--set", f.sets, "KEY=VALUE overrides (repeatable)");
  cmd->add_option("--steps", f.steps, "training steps (overrides max_steps)");
  cmd->add_option("--max-minutes", f.max_minutes, "stop after this wall time");
  cmd->add_option("--out", f.out_dir, "output directory for checkpoints and results")->required();
  cmd->add_option("--resume", f.resume, "checkpoint to continue from");
  cmd->add_option("--init", f.init_from,
                  "start from these weights: a torchvision ResNet state dict, a reference YOLACT "
                  "checkpoint or one of ours (same as --set init_from=PATH)");
  cmd->add_flag("--reset-optimizer", f.reset_optimizer, "fork: fresh optimiser state");
  cmd->add_flag("--reset-schedule", f.reset_schedule, "fork: restart warmup/lr steps");
  cmd->add_flag("--json", f.json, "print the result as JSON");
  cmd->add_option("--eval-every", f.eval_every, "evaluate on --val every N steps (0: at the end)");
  cmd->add_option("--checkpoint-every", f.checkpoint_every, "checkpoint every N steps");
  AddDetectFlags(cmd, f.eval);
  AddEvaluationFlags(cmd, f.eval);
  cmd->callback([flags, &ctx] { ctx.exit_code = RunTraining(*flags, ctx.global); });
}

}  // namespace ablate::detector::tool
