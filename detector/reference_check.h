// Fidelity check against a yolact-vectors directory (../shared/yolact-vectors/<name>): builds the
// model its manifest.json describes, loads weights.pt, runs inputs.pt and compares every stored
// output; Detect and postprocess are fed the stored Detect inputs (README of the vectors).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"
#include "nlohmann/json_fwd.hpp"

namespace ablate::detector {

struct ReferenceCheckOptions {
  double forward_tolerance = 1e-4;  // |a-b| <= tol * (1 + |ref|) for forward tensors
  double detect_tolerance = 1e-5;   // absolute, for Detect / postprocess float outputs
  double prior_tolerance = 1e-7;    // absolute, priors
};

struct TensorComparison {
  std::string name;
  double max_abs_diff = 0;  // largest |ours - ref|
  double max_rel_diff = 0;  // largest |ours - ref| / (1 + |ref|)
  int64_t mismatches = 0;   // elements outside tolerance (or differing, for integers)
  bool ok = true;
  std::string note;  // e.g. a shape mismatch
};

struct ReferenceCheckReport {
  std::string vector_name;
  std::vector<TensorComparison> comparisons;
  bool ok() const;
  // {"vector": ..., "ok": bool, "comparisons": [{name, max_abs_diff, max_rel_diff, mismatches, ok,
  // note}], "worst": name}
  nlohmann::json ToJson() const;
  // Human-readable table, largest relative differences first (at most `max_rows`, 0 = all).
  std::string ToText(size_t max_rows) const;
};

// Errors (NotFound, DataLoss, InvalidArgument) only when the directory cannot be read or the model
// cannot be built/loaded; output mismatches are reported in the result (ok() false).
StatusOr<ReferenceCheckReport> RunReferenceCheck(const std::filesystem::path& dir,
                                                 const ReferenceCheckOptions& options = {});

}  // namespace ablate::detector
