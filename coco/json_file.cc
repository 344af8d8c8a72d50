#include "coco/json_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace ablate::coco::internal {

StatusOr<JsonFile> JsonFile::Open(const std::string& path, const char* what) {
  JsonFile f;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(absl::StrCat("cannot read ", what, " file '", path, "'"));
  }
  struct stat st {};
  const long page = ::sysconf(_SC_PAGESIZE);
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && page > 0) {
    const size_t size = static_cast<size_t>(st.st_size);
    const size_t map_len = (size + page - 1) / page * page;
    // The bytes after the end up to the page boundary read as zeros: usable as simdjson's
    // padding when there are enough of them.
    if (map_len - size >= simdjson::SIMDJSON_PADDING) {
      void* p = ::mmap(nullptr, map_len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
      if (p != MAP_FAILED) {
        ::close(fd);
        f.map_ = p;
        f.map_len_ = map_len;
        f.size_ = size;
        return f;
      }
    }
  }
  ::close(fd);
  auto error = simdjson::padded_string::load(path).get(f.copy_);
  if (error) {
    return absl::NotFoundError(
        absl::StrCat("cannot read ", what, " file '", path, "': ", simdjson::error_message(error)));
  }
  f.size_ = f.copy_.size();
  return f;
}

JsonFile::JsonFile(JsonFile&& other) noexcept
    : map_(other.map_),
      map_len_(other.map_len_),
      size_(other.size_),
      copy_(std::move(other.copy_)) {
  other.map_ = nullptr;
}

JsonFile::~JsonFile() {
  if (map_ != nullptr) ::munmap(map_, map_len_);
}

simdjson::padded_string_view JsonFile::view() const {
  if (map_ != nullptr) {
    return simdjson::padded_string_view(static_cast<const char*>(map_), size_, map_len_);
  }
  return simdjson::padded_string_view(copy_);
}

}  // namespace ablate::coco::internal
