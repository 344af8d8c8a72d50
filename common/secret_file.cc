#include "common/secret_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ablate {

StatusOr<std::string> ReadSecretFile(const std::string& path, std::string_view what,
                                     std::string* readable_by_others_warning) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    const std::string message =
        absl::StrCat(std::string(what), " ", path, ": ", std::strerror(err));
    if (err == ENOENT) return absl::NotFoundError(message);
    if (err == EACCES) return absl::PermissionDeniedError(message);
    return absl::InternalError(message);
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), " ", path, " is not a regular file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::PermissionDeniedError(
        absl::StrCat(std::string(what), " ", path, ": cannot open for reading"));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (readable_by_others_warning != nullptr) {
    readable_by_others_warning->clear();
    if ((st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
      *readable_by_others_warning =
          absl::StrFormat("%s %s is readable by group or others (mode %04o); run: chmod 600 %s",
                          std::string(what), path, st.st_mode & 07777, path);
    }
  }
  return contents.str();
}

}  // namespace ablate
