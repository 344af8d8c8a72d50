// Fresh scratch folders for tests (test code, not part of any library; needs gtest).
//
// FreshTempDir(name) makes an empty folder under the system temp dir, unique per process and
// name, and removes it when the test program ends with every test passed; after a failure the
// folders stay, for their databases and logs. Not thread-safe: call from the test thread.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace ablate::testing {

// The listener behind FreshTempDir: registered with gtest on first use; gtest owns it.
class TempDirCleanup : public ::testing::EmptyTestEventListener {
 public:
  static void Track(const std::filesystem::path& dir) {
    static TempDirCleanup* cleanup = [] {
      auto* c = new TempDirCleanup;
      ::testing::UnitTest::GetInstance()->listeners().Append(c);
      return c;
    }();
    cleanup->dirs_.push_back(dir);
  }
  void OnTestProgramEnd(const ::testing::UnitTest& unit_test) override {
    if (!unit_test.Passed()) return;
    std::error_code ignored;
    for (const auto& dir : dirs_) std::filesystem::remove_all(dir, ignored);
  }

 private:
  std::vector<std::filesystem::path> dirs_;
};

// An empty folder "ablate_<name>_<pid>" under the system temp dir (emptied if it was there).
inline std::filesystem::path FreshTempDir(const std::string& name) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("ablate_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  TempDirCleanup::Track(dir);
  return dir;
}

// FreshTempDir named after the running test ("<suite>_<test>", '/' of parameterised names
// replaced), for fixtures whose tests each need their own folder.
inline std::filesystem::path FreshTempDirForTest(const std::string& prefix = "") {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = prefix + info->test_suite_name() + "_" + info->name();
  for (char& c : name) {
    if (c == '/') c = '_';
  }
  return FreshTempDir(name);
}

}  // namespace ablate::testing
