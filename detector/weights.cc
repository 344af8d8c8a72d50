#include "detector/weights.h"

#include <torch/torch.h>

#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ablate::detector {

StatusOr<NamedTensors> LoadTensorDict(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot open " + path.string());
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  NamedTensors out;
  try {
    c10::IValue value = torch::pickle_load(bytes);
    if (!value.isGenericDict()) {
      return absl::DataLossError(path.string() + ": top level is not a plain dict");
    }
    for (const auto& entry : value.toGenericDict()) {
      if (!entry.key().isString() || !entry.value().isTensor()) {
        return absl::DataLossError(path.string() + ": entries must be str -> Tensor");
      }
      out.emplace_back(entry.key().toStringRef(), entry.value().toTensor());
    }
  } catch (const std::exception& e) {
    return absl::DataLossError(path.string() + ": cannot unpickle: " + e.what());
  }
  return out;
}

StatusOr<torch::Tensor> FindTensor(const NamedTensors& tensors, const std::string& name) {
  for (const auto& [k, v] : tensors) {
    if (k == name) return v;
  }
  return absl::NotFoundError("no tensor named '" + name + "'");
}

NamedTensors StateDict(const torch::nn::Module& module) {
  NamedTensors out;
  for (const auto& p : module.named_parameters(/*recurse=*/true))
    out.emplace_back(p.key(), p.value());
  for (const auto& b : module.named_buffers(/*recurse=*/true)) out.emplace_back(b.key(), b.value());
  return out;
}

Status LoadStateDict(torch::nn::Module& module, const NamedTensors& tensors) {
  std::vector<std::string> missing, mis_shaped, unexpected;
  std::set<std::string> used;
  torch::NoGradGuard no_grad;
  for (auto& [name, target] : StateDict(module)) {
    auto found = FindTensor(tensors, name);
    if (!found.ok()) {
      missing.push_back(name);
      continue;
    }
    used.insert(name);
    if (found->sizes() != target.sizes()) {
      mis_shaped.push_back(absl::StrCat(name, " (file ", c10::str(found->sizes()), ", model ",
                                        c10::str(target.sizes()), ")"));
      continue;
    }
    target.copy_(*found);
  }
  for (const auto& [k, v] : tensors) {
    if (!used.count(k)) unexpected.push_back(k);
  }
  if (missing.empty() && mis_shaped.empty() && unexpected.empty()) return absl::OkStatus();
  std::string message = "state dict does not match the model:";
  if (!missing.empty()) absl::StrAppend(&message, " missing [", absl::StrJoin(missing, ", "), "]");
  if (!mis_shaped.empty()) {
    absl::StrAppend(&message, " shape mismatch [", absl::StrJoin(mis_shaped, ", "), "]");
  }
  if (!unexpected.empty()) {
    absl::StrAppend(&message, " unexpected [", absl::StrJoin(unexpected, ", "), "]");
  }
  return absl::InvalidArgumentError(message);
}

}  // namespace ablate::detector
