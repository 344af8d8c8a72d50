// ablate-train: runs one detector training / evaluation / fidelity check directly, without the
// coordinator (debugging and demos). Subcommands: reference-check (more in detector/README.md).
#include <torch/torch.h>

#include <iostream>
#include <string>
#include <thread>

#include "CLI/CLI.hpp"
#include "detector/reference_check.h"
#include "nlohmann/json.hpp"

namespace {

using ablate::detector::ReferenceCheckOptions;
using ablate::detector::RunReferenceCheck;

int Fail(const absl::Status& status) {
  std::cerr << "ablate-train: " << status.ToString() << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ablate-train: train, evaluate or check the YOLACT detector directly"};
  app.require_subcommand(1);
  int threads = 0;
  app.add_option("--threads", threads,
                 "intra-op threads (default: number of cores; "
                 "reference-check: 1, for bit-exact results)");

  std::string ref_dir;
  bool ref_json = false;
  int ref_rows = 20;
  CLI::App* ref = app.add_subcommand(
      "reference-check", "compare the model with a yolact-vectors directory; exit 1 on mismatch");
  ref->add_option("DIR", ref_dir, "vector directory (manifest.json, weights.pt, ...)")->required();
  ref->add_flag("--json", ref_json, "print the full comparison as JSON");
  ref->add_option("--rows", ref_rows, "rows of the text table (0 = all)");

  CLI11_PARSE(app, argc, argv);

  if (*ref) {
    torch::set_num_threads(threads > 0 ? threads : 1);
    auto report = RunReferenceCheck(ref_dir);
    if (!report.ok()) return Fail(report.status());
    if (ref_json) {
      std::cout << report->ToJson().dump(2) << "\n";
    } else {
      std::cout << report->ToText(static_cast<size_t>(ref_rows));
    }
    return report->ok() ? 0 : 1;
  }
  return 0;
}
