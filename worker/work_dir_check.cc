#include "worker/work_dir_check.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "common/human_bytes.h"

namespace ablate::worker {

Status CheckWorkDir(const std::filesystem::path& dir, int64_t min_free_bytes) {
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) != 0) {
    return absl::FailedPreconditionError("work dir " + dir.string() + ": " + std::strerror(errno));
  }
  if (fs.f_flag & ST_RDONLY) {
    return absl::FailedPreconditionError("work dir " + dir.string() +
                                         " is on a read-only filesystem");
  }
  const int64_t free_bytes = static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
  if (free_bytes < min_free_bytes) {
    return absl::ResourceExhaustedError("work dir " + dir.string() + " has " +
                                        HumanBytes(free_bytes) + " free, below the minimum of " +
                                        HumanBytes(min_free_bytes) + " (--min-free-disk-mb)");
  }
  // Permissions, quotas and read-only bind mounts show only when a file is created.
  const std::filesystem::path probe = dir / (".ablate-probe-" + std::to_string(::getpid()));
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError("work dir " + dir.string() +
                                         " is not writable: " + std::strerror(errno));
  }
  const bool wrote = ::write(fd, "x", 1) == 1;
  const int write_errno = errno;
  ::close(fd);
  ::unlink(probe.c_str());
  if (!wrote) {
    return absl::FailedPreconditionError("work dir " + dir.string() +
                                         " is not writable: " + std::strerror(write_errno));
  }
  return absl::OkStatus();
}

}  // namespace ablate::worker
