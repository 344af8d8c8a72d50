#include "detector/init_weights.h"

#include <torch/torch.h>

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/sha256.h"
#include "detector/weights.h"
#include "detector/weights_file.h"

namespace ablate::detector {
namespace {

bool StartsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

std::string Shape(const torch::Tensor& t) { return c10::str(t.sizes()); }

// Our checkpoints: the "model/<name>" tensors of a torch::serialize archive.
StatusOr<NamedTensors> ReadAblateTensors(const std::filesystem::path& path) {
  NamedTensors out;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path.string());
    for (const std::string& key : archive.keys()) {
      if (!StartsWith(key, "model/")) continue;
      torch::Tensor t;
      archive.read(key, t, /*is_buffer=*/true);
      out.emplace_back(key.substr(6), t);
    }
  } catch (const std::exception& e) {
    return absl::DataLossError("reading checkpoint " + path.string() + ": " + e.what());
  }
  return out;
}

enum class Layout { kTorchvision, kYolact, kUnknown };

Layout LayoutOf(const NamedTensors& tensors) {
  bool torchvision_stem = false, torchvision_stage = false, yolact = false;
  for (const auto& [k, v] : tensors) {
    torchvision_stem |= k == "conv1.weight";
    torchvision_stage |= StartsWith(k, "layer1.");
    for (const char* prefix : {"backbone.", "fpn.", "proto_net.", "prediction_layers."}) {
      yolact |= StartsWith(k, prefix);
    }
  }
  if (yolact) return Layout::kYolact;
  if (torchvision_stem && torchvision_stage) return Layout::kTorchvision;
  return Layout::kUnknown;
}

std::string List(const std::vector<std::string>& names) {
  return "[" + absl::StrJoin(names, ", ") + "]";
}

}  // namespace

nlohmann::json InitReport::ToJson() const {
  return {{"source", source.string()}, {"format", format},        {"container", container},
          {"sha256", sha256},          {"loaded", loaded},        {"reinitialised", reinitialised},
          {"missing", missing},        {"unexpected", unexpected}};
}

std::string InitReport::ToText() const {
  return absl::StrCat("init from ", source.string(), " (", format, ", ", container, "): loaded ",
                      loaded, ", reinitialised ", List(reinitialised), ", missing ", missing.size(),
                      ", unexpected ", unexpected.size());
}

std::vector<std::string> ClassDependentTensorNames(YolactImpl& model) {
  std::vector<std::string> out;
  std::string maskiou_last;
  int maskiou_index = -1;
  for (const auto& p : model.named_parameters(/*recurse=*/true)) {
    const std::string& k = p.key();
    if (StartsWith(k, "prediction_layers.0.conf_layer.") || StartsWith(k, "semantic_seg_conv.")) {
      out.push_back(k);
    }
    const std::string prefix = "maskiou_net.maskiou_net.";
    if (StartsWith(k, prefix)) {
      const int index = std::stoi(k.substr(prefix.size()));
      if (index > maskiou_index) maskiou_index = index;
    }
  }
  if (maskiou_index >= 0) {
    const std::string last = absl::StrCat("maskiou_net.maskiou_net.", maskiou_index, ".");
    for (const auto& p : model.named_parameters(/*recurse=*/true)) {
      if (StartsWith(p.key(), last)) out.push_back(p.key());
    }
  }
  return out;
}

std::string TorchvisionToYolactName(const std::string& key) {
  if (StartsWith(key, "conv1.") || StartsWith(key, "bn1.")) return "backbone." + key;
  if (StartsWith(key, "layer") && key.size() > 7 && key[5] >= '1' && key[5] <= '9' &&
      key[6] == '.') {
    return absl::StrCat("backbone.layers.", key[5] - '1', key.substr(6));
  }
  return "";
}

StatusOr<InitReport> LoadInitWeights(YolactImpl& model, const std::filesystem::path& path,
                                     InitMode mode) {
  InitReport report;
  report.source = path;
  ABLATE_ASSIGN_OR_RETURN(WeightsFileKind kind, DetectWeightsFile(path));
  report.container = WeightsFileKindName(kind);
  NamedTensors file;
  if (kind == WeightsFileKind::kAblateCheckpoint) {
    ABLATE_ASSIGN_OR_RETURN(file, ReadAblateTensors(path));
    report.format = "ablate";
  } else {
    ABLATE_ASSIGN_OR_RETURN(TorchSaveFile saved, ReadTorchSaveFile(path));
    file = std::move(saved.tensors);
    switch (LayoutOf(file)) {
      case Layout::kYolact:
        report.format = "yolact";
        break;
      case Layout::kTorchvision: {
        report.format = "torchvision-resnet";
        NamedTensors mapped;
        for (auto& [k, v] : file) {
          if (StartsWith(k, "fc.")) continue;  // the ImageNet classifier
          const std::string ours = TorchvisionToYolactName(k);
          if (ours.empty()) {
            report.unexpected.push_back(k);
          } else {
            mapped.emplace_back(ours, v);
          }
        }
        file = std::move(mapped);
        break;
      }
      case Layout::kUnknown: {
        std::vector<std::string> first;
        for (size_t i = 0; i < file.size() && i < 3; ++i) first.push_back(file[i].first);
        return absl::InvalidArgumentError(
            absl::StrCat(path.string(),
                         ": neither a torchvision ResNet state dict (conv1.*, "
                         "layer1.* ...) nor a YOLACT one (backbone.*, fpn.* ...); "
                         "its first keys are ",
                         List(first)));
      }
    }
  }
  ABLATE_ASSIGN_OR_RETURN(report.sha256, Sha256HexOfFile(path));

  std::map<std::string, torch::Tensor> by_name;
  for (auto& [k, v] : file) by_name.emplace(k, v);
  const std::vector<std::string> class_names = ClassDependentTensorNames(model);
  const std::set<std::string> class_dependent(class_names.begin(), class_names.end());
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;  // (target, source)
  std::vector<std::string> mismatched;
  std::set<std::string> used;
  for (auto& [name, target] : StateDict(model)) {
    auto found = by_name.find(name);
    if (found == by_name.end()) {
      report.missing.push_back(name);
      continue;
    }
    used.insert(name);
    const torch::Tensor& source = found->second;
    if (source.sizes() == target.sizes()) {
      copies.emplace_back(target, source);
      continue;
    }
    const bool class_dim_only = class_dependent.count(name) && source.dim() == target.dim() &&
                                source.dim() >= 1 &&
                                source.sizes().slice(1) == target.sizes().slice(1);
    if (class_dim_only && mode == InitMode::kFineTune) {
      report.reinitialised.push_back(name);
    } else {
      mismatched.push_back(
          absl::StrCat(name, " (file ", Shape(source), ", model ", Shape(target), ")"));
    }
  }
  for (const auto& [k, v] : file) {
    if (!used.count(k)) report.unexpected.push_back(k);
  }
  if (!mismatched.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path.string(), ": shape mismatch ", List(mismatched),
        mode == InitMode::kExact ? " (the network must match the checkpoint exactly)" : ""));
  }
  if (mode == InitMode::kExact && !report.missing.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path.string(), ": this ", report.format, " file lacks ", report.missing.size(),
                     " tensors of the network ", List(report.missing)));
  }
  if (copies.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path.string(), ": no tensor of this ",
                                                   report.format, " file matches the network"));
  }
  torch::NoGradGuard no_grad;
  for (auto& [target, source] : copies) target.copy_(source);
  report.loaded = static_cast<int64_t>(copies.size());
  return report;
}

}  // namespace ablate::detector
