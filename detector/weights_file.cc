#include "detector/weights_file.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>

#include <cstring>
#include <fstream>
#include <map>

#include "absl/strings/str_cat.h"
#include "detector/torch_pickle.h"

namespace ablate::detector {
namespace {

StatusOr<std::string> ReadAll(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::NotFoundError("no weights file " + path.string());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot open " + path.string());
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

StatusOr<std::string> ReadHead(const std::filesystem::path& path, size_t n) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::NotFoundError("no weights file " + path.string());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot open " + path.string());
  std::string head(n, '\0');
  in.read(head.data(), static_cast<std::streamsize>(n));
  head.resize(static_cast<size_t>(in.gcount()));
  return head;
}

torch::ScalarType DtypeOf(const std::string& name) {
  static const std::map<std::string, torch::ScalarType> types = {
      {"float32", torch::kFloat32},   {"float64", torch::kFloat64}, {"float16", torch::kFloat16},
      {"bfloat16", torch::kBFloat16}, {"int64", torch::kInt64},     {"int32", torch::kInt32},
      {"int16", torch::kInt16},       {"int8", torch::kInt8},       {"uint8", torch::kUInt8},
      {"bool", torch::kBool}};
  return types.at(name);  // torch_pickle.h only produces these names
}

// The tensor `t` describes, copied out of its storage's bytes [data, data + size).
StatusOr<torch::Tensor> MakeTensor(const std::string& name, const PickledTensor& t,
                                   const char* data, size_t size, const std::string& source) {
  const uint64_t want = static_cast<uint64_t>(t.storage_numel) * t.element_size;
  if (size < want) {
    return absl::DataLossError(absl::StrCat(source, ": storage ", t.storage_key, " of '", name,
                                            "' has ", size, " bytes, needs ", want));
  }
  // Bounds of the view: offset + sum((size_i - 1) * stride_i) < numel.
  int64_t last = t.storage_offset;
  bool empty = false;
  for (size_t i = 0; i < t.sizes.size(); ++i) {
    if (t.sizes[i] < 0 || t.strides[i] < 0) {
      return absl::DataLossError(absl::StrCat(source, ": '", name, "' has a negative size"));
    }
    if (t.sizes[i] == 0) empty = true;
    last += (t.sizes[i] - 1) * t.strides[i];
  }
  if (t.storage_offset < 0 || (!empty && last >= t.storage_numel)) {
    return absl::DataLossError(absl::StrCat(source, ": '", name, "' reaches past its storage (",
                                            t.storage_numel, " elements)"));
  }
  torch::Tensor storage = torch::empty({t.storage_numel}, DtypeOf(t.dtype));
  if (want > 0) std::memcpy(storage.data_ptr(), data, want);
  return storage.as_strided(t.sizes, t.strides, t.storage_offset).clone();
}

StatusOr<TorchSaveFile> ReadZip(const std::filesystem::path& path) {
  const std::string source = path.string();
  TorchSaveFile out;
  out.kind = WeightsFileKind::kTorchSaveZip;
  try {
    caffe2::serialize::PyTorchStreamReader reader(path.string());
    if (!reader.hasRecord("data.pkl")) {
      return absl::DataLossError(source + ": zip archive without data.pkl (not a torch.save file)");
    }
    auto [pkl, pkl_size] = reader.getRecord("data.pkl");
    const std::string_view bytes(static_cast<const char*>(pkl.get()), pkl_size);
    size_t end = 0;
    ABLATE_ASSIGN_OR_RETURN(PickleValuePtr top, ParsePickle(bytes, 0, &end, source + ":data.pkl"));
    ABLATE_ASSIGN_OR_RETURN(auto entries, StateDictEntries(*top, source));
    std::map<std::string, std::pair<at::DataPtr, size_t>> storages;
    for (const auto& [name, t] : entries) {
      auto it = storages.find(t.storage_key);
      if (it == storages.end()) {
        const std::string record = "data/" + t.storage_key;
        if (!reader.hasRecord(record)) {
          return absl::DataLossError(source + ": no storage record " + record + " for '" + name +
                                     "'");
        }
        auto [ptr, size] = reader.getRecord(record);
        it = storages.emplace(t.storage_key, std::make_pair(std::move(ptr), size)).first;
      }
      ABLATE_ASSIGN_OR_RETURN(torch::Tensor tensor,
                              MakeTensor(name, t, static_cast<const char*>(it->second.first.get()),
                                         it->second.second, source));
      out.tensors.emplace_back(name, std::move(tensor));
    }
  } catch (const std::exception& e) {
    return absl::DataLossError(source + ": not a readable PyTorch zip file: " + e.what());
  }
  return out;
}

StatusOr<TorchSaveFile> ReadLegacy(const std::filesystem::path& path) {
  ABLATE_ASSIGN_OR_RETURN(std::string bytes, ReadAll(path));
  ABLATE_ASSIGN_OR_RETURN(LegacyTorchFile file, ParseLegacyTorchFile(bytes, path.string()));
  std::map<std::string, std::pair<size_t, size_t>> ranges(file.storages.begin(),
                                                          file.storages.end());
  TorchSaveFile out;
  out.kind = WeightsFileKind::kTorchSaveLegacy;
  for (const auto& [name, t] : file.tensors) {
    const auto& [begin, end] = ranges.at(t.storage_key);  // ParseLegacyTorchFile checked
    ABLATE_ASSIGN_OR_RETURN(torch::Tensor tensor,
                            MakeTensor(name, t, bytes.data() + begin, end - begin, path.string()));
    out.tensors.emplace_back(name, std::move(tensor));
  }
  return out;
}

}  // namespace

std::string WeightsFileKindName(WeightsFileKind kind) {
  switch (kind) {
    case WeightsFileKind::kTorchSaveZip:
      return "zip";
    case WeightsFileKind::kTorchSaveLegacy:
      return "legacy";
    case WeightsFileKind::kAblateCheckpoint:
      return "ablate";
  }
  return "?";
}

StatusOr<WeightsFileKind> DetectWeightsFile(const std::filesystem::path& path) {
  ABLATE_ASSIGN_OR_RETURN(std::string head, ReadHead(path, 512));
  if (head.rfind("PK\x03\x04", 0) == 0) {
    try {
      caffe2::serialize::PyTorchStreamReader reader(path.string());
      // torch::serialize archives are TorchScript modules: constants.pkl and code/ beside data.pkl.
      if (reader.hasRecord("constants.pkl")) return WeightsFileKind::kAblateCheckpoint;
      if (reader.hasRecord("data.pkl")) return WeightsFileKind::kTorchSaveZip;
      return absl::DataLossError(path.string() + ": a zip archive but not a PyTorch file");
    } catch (const std::exception& e) {
      return absl::DataLossError(path.string() + ": not a readable PyTorch zip file: " + e.what());
    }
  }
  if (LooksLikeLegacyTorchFile(head)) return WeightsFileKind::kTorchSaveLegacy;
  if (head.size() >= 262 && head.compare(257, 5, "ustar") == 0) {
    return absl::UnimplementedError(path.string() +
                                    ": a tar-format torch.save file (PyTorch < 0.4); load and "
                                    "re-save it with a newer PyTorch");
  }
  return absl::DataLossError(path.string() +
                             ": not a PyTorch weights file (neither the zip nor the legacy "
                             "torch.save format, nor an ablate checkpoint)");
}

StatusOr<TorchSaveFile> ReadTorchSaveFile(const std::filesystem::path& path) {
  ABLATE_ASSIGN_OR_RETURN(WeightsFileKind kind, DetectWeightsFile(path));
  switch (kind) {
    case WeightsFileKind::kTorchSaveZip:
      return ReadZip(path);
    case WeightsFileKind::kTorchSaveLegacy:
      return ReadLegacy(path);
    case WeightsFileKind::kAblateCheckpoint:
      break;
  }
  return absl::InvalidArgumentError(path.string() +
                                    " is an ablate checkpoint, not a torch.save state dict");
}

}  // namespace ablate::detector
