// ablate-train: runs one detector training / evaluation / fidelity check directly, without the
// coordinator (debugging and demos). Each subcommand registers itself (detector/tools/commands.h,
// which also lists the exit codes).
#include "CLI/CLI.hpp"
#include "detector/tools/commands.h"

int main(int argc, char** argv) {
  namespace tool = ablate::detector::tool;
  CLI::App app{"ablate-train: train, evaluate or check the YOLACT detector directly"};
  app.require_subcommand(1);
  app.fallthrough();  // --device / --events / --threads may follow the subcommand
  tool::CommandContext ctx;
  app.add_option("--device", ctx.global.device, "cpu or cuda:N (default: CUDA when available)");
  app.add_flag("--events", ctx.global.events,
               "run/eval: JSON event lines on stdout for the worker (docs/worker-protocol.md)");
  app.add_option("--threads", ctx.global.threads,
                 "intra-op threads (default: number of cores; reference-check: 1, for "
                 "bit-exact results)");
  tool::RegisterShapesCommand(app, ctx);
  tool::RegisterRunCommand(app, ctx);
  tool::RegisterEvalCommand(app, ctx);
  tool::RegisterPredictCommand(app, ctx);
  tool::RegisterReferenceCheckCommand(app, ctx);
  CLI11_PARSE(app, argc, argv);
  return ctx.exit_code;
}
