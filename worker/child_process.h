// A supervised child process: the worker runs each trial as its own `ablate-train` process so a
// crash (segfault, OOM kill, CUDA abort) ends the trial, never the daemon.
//
// The child's stdout is a pipe read line by line (the trial's JSON event stream); its stderr
// goes to a log file. Thread safety: one ChildProcess is used by one thread. The destructor
// kills (SIGKILL) and reaps a child that is still running, so no zombie outlives its owner.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace ablate::worker {

struct ChildProcessOptions {
  std::vector<std::string> argv;  // argv[0] is the program path (no PATH lookup)
  // Where the child's stderr goes (appended). Empty: inherit the parent's stderr.
  std::filesystem::path stderr_path;
  std::map<std::string, std::string> extra_env;  // added to (or replacing in) the parent's env
  std::filesystem::path working_dir = {};  // the child's current directory; empty: the parent's
};

struct ExitStatus {
  bool exited = false;  // normal exit: `code` is valid
  int code = 0;
  bool signaled = false;  // killed by a signal: `signal` is valid
  int signal = 0;
  bool ok() const { return exited && code == 0; }
};

// "exited with code 3", "killed by signal 11 (SIGSEGV)".
std::string DescribeExit(const ExitStatus& status);

class ChildProcess {
 public:
  // Starts the child. InvalidArgument for an empty argv; Internal if spawning fails (the
  // message names the program and the errno text).
  static StatusOr<std::unique_ptr<ChildProcess>> Start(const ChildProcessOptions& options);

  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Next complete line of stdout without its newline. Returns nullopt at end of stream (the
  // child closed stdout or exited), DeadlineExceeded when no line came within `timeout`
  // (the child keeps running). A final unterminated line is returned before nullopt.
  StatusOr<std::optional<std::string>> ReadLine(std::chrono::milliseconds timeout);

  // Sends `signal` (e.g. SIGTERM, SIGKILL) to the child's process group if it is still running.
  void Signal(int signal);

  // Waits for the child to end and returns how it ended. Idempotent.
  ExitStatus Wait();

  pid_t pid() const { return pid_; }

 private:
  ChildProcess(pid_t pid, int stdout_fd) : pid_(pid), stdout_fd_(stdout_fd) {}

  pid_t pid_;
  int stdout_fd_;
  std::string buffer_;
  bool eof_ = false;
  std::optional<ExitStatus> exit_;
};

}  // namespace ablate::worker
