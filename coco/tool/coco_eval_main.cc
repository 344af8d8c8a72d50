// ablate-coco-eval: the `coco-eval` subcommand as a stand-alone binary, for machines and tests
// that do not build the full `ablate` CLI. Usage: ablate-coco-eval coco-eval --gt ... --dets ...
#include "CLI/CLI.hpp"
#include "coco/tool/coco_eval_command.h"

int main(int argc, char** argv) {
  CLI::App app{"COCO evaluation (pycocotools-exact)"};
  app.require_subcommand(1);
  ablate::coco::RegisterCocoEvalCommand(app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
