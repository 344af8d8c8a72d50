// Internal: a JSON file's bytes with the padding simdjson needs, read without copying when the
// file can be memory-mapped with enough slack after its end (not part of the public API).
#pragma once

#include <string>

#include "common/status.h"
#include "simdjson.h"

namespace ablate::coco::internal {

class JsonFile {
 public:
  // NotFound (naming `what` and the path) when the file cannot be opened or read.
  static StatusOr<JsonFile> Open(const std::string& path, const char* what);
  JsonFile(JsonFile&& other) noexcept;
  JsonFile& operator=(JsonFile&&) = delete;
  ~JsonFile();

  simdjson::padded_string_view view() const;
  size_t size() const { return size_; }

 private:
  JsonFile() = default;
  void* map_ = nullptr;  // mmap'd file, or nullptr when `copy_` holds the bytes
  size_t map_len_ = 0;
  size_t size_ = 0;
  simdjson::padded_string copy_;
};

}  // namespace ablate::coco::internal
