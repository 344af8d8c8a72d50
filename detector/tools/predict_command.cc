// `ablate-train predict`: a checkpoint's detections drawn on images (detector/predict.h).
#include <iostream>
#include <memory>
#include <string>

#include "detector/predict.h"
#include "detector/tools/commands.h"
#include "detector/train.h"

namespace ablate::detector::tool {
namespace {

struct PredictFlags {
  PredictOptions predict;  // score_threshold, top_k, limit
  std::string checkpoint, images, out;
  bool json = false;
};

int RunPredict(const PredictFlags& flags, const GlobalFlags& global) {
  if (absl::Status s = StartCommand(global, NumCores()); !s.ok()) return Fail(s);
  auto ckpt = LoadCheckpoint(flags.checkpoint, DefaultDevice());
  if (!ckpt.ok()) return Fail(ckpt.status());
  PredictOptions predict = flags.predict;
  predict.images = flags.images;
  predict.out_dir = flags.out;
  predict.log = [](const std::string& line) { std::cerr << "ablate-train: " << line << "\n"; };
  auto r = Predict(*ckpt->model, ckpt->meta, predict, DefaultDevice());
  if (!r.ok()) return Fail(r.status());
  if (flags.json) {
    std::cout << r->ToJson(flags.out).dump(2) << "\n";
  } else {
    std::cout << "wrote " << r->written.size() << " images (" << r->bytes << " bytes, "
              << r->detections << " detections) to " << flags.out << " in " << r->seconds
              << " s; skipped " << r->skipped.size() << "\n";
  }
  if (r->written.empty()) {
    std::cerr << "ablate-train: predict wrote no image\n";
    return 1;
  }
  return 0;
}

}  // namespace

void RegisterPredictCommand(CLI::App& app, CommandContext& ctx) {
  auto flags = std::make_shared<PredictFlags>();
  CLI::App* cmd = app.add_subcommand(
      "predict", "draw a checkpoint's detections on images (JPEGs; ground truth beside them)");
  cmd->add_option("--checkpoint", flags->checkpoint, "checkpoint file")->required();
  cmd->add_option("--images", flags->images,
                  "folder of .jpg/.png images, or a COCO JSON (ground truth drawn beside)")
      ->required();
  cmd->add_option("--out", flags->out, "output folder for the JPEGs")->required();
  cmd->add_option("--score-threshold", flags->predict.score_threshold,
                  "draw detections with at least this score (default 0.3)");
  cmd->add_option("--top-k", flags->predict.top_k,
                  "most detections per image (default: the checkpoint's)");
  cmd->add_option("--limit", flags->predict.limit, "only the first N images (0 = all)");
  cmd->add_flag("--json", flags->json,
                "print {images_written, skipped: [{file, reason}], detections, bytes, "
                "...} as JSON");
  cmd->callback([flags, &ctx] { ctx.exit_code = RunPredict(*flags, ctx.global); });
}

}  // namespace ablate::detector::tool
