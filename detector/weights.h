// Reading and writing tensors by name: reference-format weight files (a plain dict saved with
// Python's torch.save, zip format) and our own state dicts.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace ablate::detector {

// Named tensors in file order.
using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Loads a `torch.save`d plain dict {str: Tensor} (zip format) with torch::pickle_load.
// NotFound when the file is missing; DataLoss when it does not unpickle or is not such a dict.
StatusOr<NamedTensors> LoadTensorDict(const std::filesystem::path& path);

// Finds a tensor by name; NotFound naming the key otherwise.
StatusOr<torch::Tensor> FindTensor(const NamedTensors& tensors, const std::string& name);

// Copies tensors into the module's parameters and buffers by their full names. Every parameter
// and buffer of the module must be present with the same shape; every tensor must be used.
// InvalidArgument listing the missing / unexpected / mis-shaped names otherwise.
Status LoadStateDict(torch::nn::Module& module, const NamedTensors& tensors);

// The module's parameters and buffers by full name (registration order).
NamedTensors StateDict(const torch::nn::Module& module);

}  // namespace ablate::detector
