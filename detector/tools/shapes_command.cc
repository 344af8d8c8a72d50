// `ablate-train shapes`: writes the synthetic COCO shapes dataset (detector/shapes.h).
#include <iostream>
#include <memory>
#include <string>

#include "detector/shapes.h"
#include "detector/tools/commands.h"

namespace ablate::detector::tool {
namespace {

struct ShapesFlags {
  std::string out;
  ShapesOptions shapes;
};

int RunShapes(const ShapesFlags& flags, const GlobalFlags& global) {
  if (absl::Status s = StartCommand(global, NumCores()); !s.ok()) return Fail(s);
  absl::Status s = WriteShapesDataset(flags.out, flags.shapes);
  if (!s.ok()) return Fail(s);
  std::cout << "wrote " << flags.out << "/train.json (" << flags.shapes.train_images << " images), "
            << flags.out << "/val.json (" << flags.shapes.val_images << " images)\n";
  return 0;
}

}  // namespace

void RegisterShapesCommand(CLI::App& app, CommandContext& ctx) {
  auto flags = std::make_shared<ShapesFlags>();
  CLI::App* cmd = app.add_subcommand("shapes", "write a synthetic COCO shapes dataset");
  cmd->add_option("--out", flags->out, "output directory")->required();
  cmd->add_option("--train", flags->shapes.train_images, "training images");
  cmd->add_option("--val", flags->shapes.val_images, "validation images");
  cmd->add_option("--size", flags->shapes.image_size, "image size in pixels");
  cmd->add_option("--seed", flags->shapes.seed, "random seed");
  cmd->callback([flags, &ctx] { ctx.exit_code = RunShapes(*flags, ctx.global); });
}

}  // namespace ablate::detector::tool
