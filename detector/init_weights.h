// Starting a network from pretrained weights: an ImageNet ResNet (torchvision state dict), a
// reference YOLACT / YOLACT++ checkpoint (dbolya/yolact's save_weights), or one of our own
// checkpoints. docs/detector.md, "Starting from pretrained weights", describes the formats, the
// name mapping and what is re-initialised.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"
#include "detector/model.h"
#include "nlohmann/json.hpp"

namespace ablate::detector {

// What an init loaded.
struct InitReport {
  std::filesystem::path source;  // the file as given
  std::string format;            // "torchvision-resnet", "yolact" or "ablate"
  std::string container;         // "zip", "legacy" or "ablate"
  std::string sha256;            // of the file, lowercase hex
  int64_t loaded = 0;            // model tensors copied from the file
  // Class-dependent model tensors (conf head, semantic-seg head, mask-IoU head's last conv) whose
  // class count differs from the file's: they keep the model's initialisation.
  std::vector<std::string> reinitialised;
  std::vector<std::string> missing;     // model tensors the file lacks (they keep their init)
  std::vector<std::string> unexpected;  // file tensors the model has no use for (ignored)
  // {"source", "format", "container", "sha256", "loaded", "reinitialised", "missing",
  //  "unexpected"} (the `init` object of `run --json` and of the `started` event).
  nlohmann::json ToJson() const;
  // "init from PATH (yolact, legacy): loaded N, reinitialised [..], missing M, unexpected K".
  std::string ToText() const;
};

enum class InitMode {
  // Training: missing tensors keep the model's init; class-dependent tensors with another class
  // count are re-initialised (reported); any other shape mismatch is an error.
  kFineTune,
  // Evaluating a reference checkpoint: every model tensor must be in the file with its shape.
  kExact,
};

// Model tensors whose first dimension depends on the class count.
std::vector<std::string> ClassDependentTensorNames(YolactImpl& model);

// Our name for a torchvision ResNet state-dict key: conv1.* / bn1.* -> backbone.conv1.* /
// backbone.bn1.*, layerN.* -> backbone.layers.{N-1}.*. Empty for fc.* (the ImageNet classifier,
// dropped) and for anything else (unexpected).
std::string TorchvisionToYolactName(const std::string& key);

// Reads `path` (format detected: DetectWeightsFile, then the key names) and copies the matching
// tensors into `model`, whose parameters must already be initialised (InitWeights). Nothing is
// copied unless the whole file checks out. Errors: NotFound / DataLoss / Unimplemented from
// reading (naming the file); InvalidArgument for a shape mismatch (naming the tensor, the file's
// and the model's shape), for a state dict that is neither layout, for a file that matches no
// tensor, and in kExact mode for missing or class-dependent mismatches.
StatusOr<InitReport> LoadInitWeights(YolactImpl& model, const std::filesystem::path& path,
                                     InitMode mode);

}  // namespace ablate::detector
