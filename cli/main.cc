// `ablate`: the command-line front end. Each command group registers itself (cli/commands.h).
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "coco/tool/coco_eval_command.h"
#include "worker/worker_command.h"

int main(int argc, char** argv) {
  CLI::App app{"ablate: tune YOLACT-style instance-segmentation detectors"};
  app.require_subcommand(1);
  ablate::cli::RegisterServerCommand(app);
  ablate::cli::RegisterHealthCommand(app);
  ablate::cli::RegisterRunCommands(app);
  ablate::cli::RegisterLeaderboardCommand(app);
  ablate::cli::RegisterCompareCommand(app);
  ablate::cli::RegisterImportLogCommand(app);
  ablate::cli::RegisterReplayCommand(app);
  ablate::cli::RegisterSweepCommands(app);
  ablate::cli::RegisterRetentionCommands(app);
  ablate::worker::RegisterWorkerCommand(app);
  ablate::coco::RegisterCocoEvalCommand(app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
