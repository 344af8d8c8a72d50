// Test helper shared by the detector tests that run the real `ablate-train` binary
// ($ABLATE_BIN_DIR/ablate-train, set by ctest; build/bin otherwise). Header-only, torch-free.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace ablate::detector::tool_test {

struct CommandResult {
  int exit_code = -1;  // -1 when it could not be started or did not exit normally
  std::string out, err;
};

// Runs `ablate-train --threads 1 ARGS` (arguments must not need shell quoting); stderr goes
// through `scratch`/stderr.txt.
inline CommandResult RunTool(const std::string& args, const std::filesystem::path& scratch) {
  const char* bin = std::getenv("ABLATE_BIN_DIR");
  const std::string tool = std::string(bin ? bin : "build/bin") + "/ablate-train";
  const std::filesystem::path err = scratch / "stderr.txt";
  CommandResult r;
  FILE* p = ::popen((tool + " --threads 1 " + args + " 2>" + err.string()).c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(err, std::ios::binary);
  r.err.assign(std::istreambuf_iterator<char>(in), {});
  return r;
}

}  // namespace ablate::detector::tool_test
