// `ablate-train reference-check DIR`: the model against a yolact-vectors directory
// (detector/reference_check.h); exit 1 on a mismatch.
#include <iostream>
#include <memory>
#include <string>

#include "detector/reference_check.h"
#include "detector/tools/commands.h"
#include "nlohmann/json.hpp"

namespace ablate::detector::tool {
namespace {

struct ReferenceCheckFlags {
  std::string dir;
  bool json = false;
  int rows = 20;
};

int RunReferenceCheckCommand(const ReferenceCheckFlags& flags, const GlobalFlags& global) {
  // One intra-op thread unless --threads says otherwise: bit-exact results.
  if (absl::Status s = StartCommand(global, /*default_threads=*/1); !s.ok()) return Fail(s);
  auto report = RunReferenceCheck(flags.dir);
  if (!report.ok()) return Fail(report.status());
  if (flags.json) {
    std::cout << report->ToJson().dump(2) << "\n";
  } else {
    std::cout << report->ToText(static_cast<size_t>(flags.rows));
  }
  return report->ok() ? 0 : 1;
}

}  // namespace

void RegisterReferenceCheckCommand(CLI::App& app, CommandContext& ctx) {
  auto flags = std::make_shared<ReferenceCheckFlags>();
  CLI::App* cmd = app.add_subcommand(
      "reference-check", "compare the model with a yolact-vectors directory; exit 1 on mismatch");
  cmd->add_option("DIR", flags->dir, "vector directory (manifest.json, weights.pt, ...)")
      ->required();
  cmd->add_flag("--json", flags->json, "print the full comparison as JSON");
  cmd->add_option("--rows", flags->rows, "rows of the text table (0 = all)");
  cmd->callback([flags, &ctx] { ctx.exit_code = RunReferenceCheckCommand(*flags, ctx.global); });
}

}  // namespace ablate::detector::tool
