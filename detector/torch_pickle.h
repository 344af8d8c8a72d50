// The subset of Python's pickle that `torch.save` writes for a state dict (protocol 2, plus the
// few protocol 3/4 opcodes newer Pythons emit), read without LibTorch. LibTorch 1.13's own
// unpickler cannot read OrderedDicts, one-item dicts or the legacy (non-zip) file format
// (STACK-NOTES.md), and every published YOLACT / ImageNet weight file is one of those.
//
// What is understood: None, bools, ints (incl. LONG1 big ints), floats, str/bytes, tuples, lists,
// dicts, `collections.OrderedDict` (its `_metadata` state is dropped), tensors rebuilt by
// `torch._utils._rebuild_tensor_v2` / `_rebuild_tensor` / `_rebuild_parameter`, and storages
// given as persistent ids ('storage', torch.<T>Storage, key, location, numel[, view]). Anything
// else (other classes, NEWOBJ, ...) is a DataLoss error naming the source and the byte offset.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace ablate::detector {

// A tensor as a pickle describes it: a view into a storage that lives elsewhere in the file.
struct PickledTensor {
  std::string storage_key;     // zip: archive/data/<key>; legacy: the storage's key
  std::string dtype;           // "float32", "float64", "float16", "bfloat16", "int64", "int32",
                               // "int16", "int8", "uint8", "bool"
  int element_size = 0;        // bytes per element
  int64_t storage_numel = 0;   // elements in the whole storage (from the persistent id)
  int64_t storage_offset = 0;  // elements
  std::vector<int64_t> sizes, strides;
};

// One parsed pickle value. Dict entries keep their order (items: key0, value0, key1, ...).
struct PickleValue {
  enum class Kind {
    kNone,
    kBool,
    kInt,
    kBigInt,  // wider than 64 bits: `text` holds the little-endian two's complement bytes
    kFloat,
    kString,  // str and bytes
    kTuple,
    kList,
    kDict,
    kSet,
    kGlobal,   // `text` = "module.name"
    kStorage,  // a persistent id: `tensor` holds the storage fields (no sizes yet)
    kTensor,
  };
  Kind kind = Kind::kNone;
  int64_t int_value = 0;  // kInt, kBool
  double float_value = 0;
  std::string text;
  std::vector<std::shared_ptr<PickleValue>> items;
  PickledTensor tensor;
};
using PickleValuePtr = std::shared_ptr<PickleValue>;

// Parses one pickle starting at `offset` of `bytes`. On success returns the value and sets
// `*end` to the offset after its STOP opcode. `source` (a file name, "FILE:data.pkl", ...)
// prefixes every error, which also names the byte offset (relative to `bytes`).
StatusOr<PickleValuePtr> ParsePickle(std::string_view bytes, size_t offset, size_t* end,
                                     const std::string& source);

// A state dict's tensors in file order, from a parsed top-level value: a dict or OrderedDict
// whose keys are str and values tensors. DataLoss naming the first offending key otherwise.
StatusOr<std::vector<std::pair<std::string, PickledTensor>>> StateDictEntries(
    const PickleValue& top, const std::string& source);

// A legacy-format (PyTorch < 1.6 default, `_use_new_zipfile_serialization=False`) file:
// magic number, protocol 1001, sys_info, the object, the storage keys, then each storage as
// little-endian int64 element count + raw bytes.
struct LegacyTorchFile {
  std::vector<std::pair<std::string, PickledTensor>> tensors;
  // Storage key -> [begin, begin + numel * element_size) in the file's bytes.
  std::vector<std::pair<std::string, std::pair<size_t, size_t>>> storages;
};
StatusOr<LegacyTorchFile> ParseLegacyTorchFile(std::string_view bytes, const std::string& source);

// Whether `bytes` starts like a legacy torch.save file (pickle PROTO 2 then the magic LONG1).
bool LooksLikeLegacyTorchFile(std::string_view bytes);

}  // namespace ablate::detector
