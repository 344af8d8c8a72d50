// Reading weight files written by Python's torch.save (a state dict: dict or OrderedDict of
// str -> Tensor) in both of PyTorch's file formats, and telling them apart from our own
// checkpoints (train.h).
//
// Formats (docs/detector.md, "Starting from pretrained weights"):
//   - zip (torch >= 1.6 default): a zip archive with <dir>/data.pkl and <dir>/data/<key> storage
//     blobs; the container is read with LibTorch's caffe2::serialize::PyTorchStreamReader (already
//     linked), data.pkl with our pickle reader (torch_pickle.h).
//   - legacy (`_use_new_zipfile_serialization=False`, every 2017-2019 release such as the
//     ImageNet ResNets and the official YOLACT weights): consecutive pickles then raw storages,
//     all read with torch_pickle.h.
//   - the pre-0.4 tar format is refused with an error saying so.
#pragma once

#include <filesystem>
#include <string>

#include "common/status.h"
#include "detector/weights.h"

namespace ablate::detector {

enum class WeightsFileKind {
  kTorchSaveZip,     // Python torch.save, zip format
  kTorchSaveLegacy,  // Python torch.save, legacy format
  kAblateCheckpoint  // ours: a torch::serialize archive (train.h)
};
std::string WeightsFileKindName(WeightsFileKind kind);  // "zip", "legacy", "ablate"

// Looks at the file's first bytes (and, for a zip, its records). NotFound for a missing file;
// DataLoss naming the file for anything that is not a PyTorch file (text, truncated zip, ...);
// Unimplemented for the pre-0.4 tar format.
StatusOr<WeightsFileKind> DetectWeightsFile(const std::filesystem::path& path);

// The tensors of a torch.save'd state dict (either format), in file order, on the CPU, with the
// file's dtypes and shapes. Errors as above; a truncated file or storage is DataLoss naming the
// file and the byte offset.
struct TorchSaveFile {
  WeightsFileKind kind = WeightsFileKind::kTorchSaveZip;
  NamedTensors tensors;
};
StatusOr<TorchSaveFile> ReadTorchSaveFile(const std::filesystem::path& path);

}  // namespace ablate::detector
