// Helpers shared by server tests (not part of any library).
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

namespace ablate::server::testing {

// A fresh, empty directory under the system temp dir, unique per process and name.
inline std::filesystem::path FreshTempDir(const std::string& name) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("ablate_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace ablate::server::testing
