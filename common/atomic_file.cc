#include "common/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace ablate {
namespace {

Status ErrnoError(std::string_view what, const std::filesystem::path& path) {
  return absl::InternalError(std::string(what) + " " + path.string() + ": " + std::strerror(errno));
}

Status FsyncPath(const std::filesystem::path& path, bool directory) {
  int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) return ErrnoError("open", path);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return ErrnoError("fsync", path);
  return absl::OkStatus();
}

}  // namespace

Status CommitFileAtomically(const std::filesystem::path& temp_path,
                            const std::filesystem::path& path) {
  ABLATE_RETURN_IF_ERROR(FsyncPath(temp_path, /*directory=*/false));
  if (::rename(temp_path.c_str(), path.c_str()) != 0) return ErrnoError("rename to", path);
  std::filesystem::path dir = path.parent_path().empty() ? "." : path.parent_path();
  return FsyncPath(dir, /*directory=*/true);
}

Status WriteFileAtomically(const std::filesystem::path& path, std::string_view bytes) {
  std::error_code ec;
  if (!path.parent_path().empty()) std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) return absl::InternalError("cannot create directory for " + path.string());
  std::filesystem::path temp = path;
  temp += ".tmp." + std::to_string(::getpid());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("create", temp);
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = ErrnoError("write", temp);
      ::close(fd);
      ::unlink(temp.c_str());
      return s;
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    Status s = ErrnoError("fsync/close", temp);
    ::unlink(temp.c_str());
    return s;
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    Status s = ErrnoError("rename to", path);
    ::unlink(temp.c_str());
    return s;
  }
  std::filesystem::path dir = path.parent_path().empty() ? "." : path.parent_path();
  return FsyncPath(dir, /*directory=*/true);
}

StatusOr<std::string> ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot open file " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return absl::DataLossError("read error in " + path.string());
  return std::move(ss).str();
}

}  // namespace ablate
