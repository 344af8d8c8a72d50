#include "worker/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace ablate::worker {

std::string DescribeExit(const ExitStatus& status) {
  if (status.exited) return "exited with code " + std::to_string(status.code);
  if (status.signaled) {
    const char* abbrev = sigabbrev_np(status.signal);
    return "killed by signal " + std::to_string(status.signal) +
           (abbrev ? " (SIG" + std::string(abbrev) + ")" : "");
  }
  return "still running";
}

StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(const ChildProcessOptions& options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("child process: empty argv");
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return absl::InternalError(std::string("pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  if (!options.stderr_path.empty()) {
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, options.stderr_path.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
  }
  if (!options.working_dir.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions, options.working_dir.c_str());
  }
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Own process group, so signals to the worker's terminal do not reach trials directly.
  posix_spawnattr_setpgroup(&attr, 0);
  // A clean signal state whatever the calling thread's: `ablate worker` blocks SIGTERM and
  // SIGINT in its threads (one thread sigwait()s for them) and a child inherits the mask, so a
  // trial never got the SIGTERM that cancels it, only the SIGKILL kill_grace_ms later. Signals
  // the parent ignores are reset too (as Python's subprocess does for SIGPIPE).
  sigset_t no_signals;
  sigemptyset(&no_signals);
  posix_spawnattr_setsigmask(&attr, &no_signals);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    std::string key = entry.substr(0, entry.find('='));
    if (!options.extra_env.count(key)) env_storage.push_back(std::move(entry));
  }
  for (const auto& [k, v] : options.extra_env) env_storage.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_storage) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_storage = options.argv;
  std::vector<char*> argv;
  for (auto& s : argv_storage) argv.push_back(s.data());
  argv.push_back(nullptr);

  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(pipe_fds[1]);
  if (rc != 0) {
    ::close(pipe_fds[0]);
    return absl::InternalError("cannot start " + options.argv[0] + ": " + std::strerror(rc));
  }
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, pipe_fds[0]));
}

ChildProcess::~ChildProcess() {
  if (!exit_) {
    Signal(SIGKILL);
    Wait();
  }
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

StatusOr<std::optional<std::string>> ChildProcess::ReadLine(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return std::optional<std::string>(std::move(line));
    }
    if (eof_) {
      if (buffer_.empty()) return std::optional<std::string>();
      std::string line = std::move(buffer_);
      buffer_.clear();
      return std::optional<std::string>(std::move(line));
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return absl::DeadlineExceededError("no output line in time");
    pollfd pfd{stdout_fd_, POLLIN, 0};
    int n = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(std::string("poll: ") + std::strerror(errno));
    }
    if (n == 0) continue;
    char chunk[4096];
    ssize_t got = ::read(stdout_fd_, chunk, sizeof(chunk));
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return absl::InternalError(std::string("read: ") + std::strerror(errno));
    }
    if (got == 0) {
      eof_ = true;
    } else {
      buffer_.append(chunk, static_cast<size_t>(got));
    }
  }
}

void ChildProcess::Signal(int signal) {
  // The child leads its own process group: signal the group, so helpers it started (a shell's
  // children, a data-loader process) go too and do not keep the stdout pipe open.
  if (!exit_) ::kill(-pid_, signal);
}

ExitStatus ChildProcess::Wait() {
  if (exit_) return *exit_;
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  ExitStatus result;
  if (WIFEXITED(status)) {
    result.exited = true;
    result.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signaled = true;
    result.signal = WTERMSIG(status);
  }
  exit_ = result;
  return result;
}

}  // namespace ablate::worker
