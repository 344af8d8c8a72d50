// Child processes for end-to-end tests: run an `ablate` command to completion, or keep an
// `ablate server` running in the background. POSIX only.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ablate::worker {
class ChildProcess;
}

namespace ablate::e2e {

// $ABLATE_BIN_DIR (set by ctest; falls back to ./build/bin).
std::string AblateBinDir();
// $ABLATE_BIN_DIR/ablate.
std::string AblateBinary();

// Every row of `sql` run on a read-only connection to the SQLite file, columns as text (NULL as
// "NULL"). Adds a test failure (and returns what it has) when the file or the query fails. Safe
// while a coordinator writes the file (WAL; waits up to 2 s for a lock).
std::vector<std::vector<std::string>> QueryRows(const std::filesystem::path& db,
                                                const std::string& sql);

// A TCP port on 127.0.0.1 that was free a moment ago (bound and released; a race is possible
// but harmless in tests that bind it right away).
int FreeLoopbackPort();

// `ablate ARGS...` as a long-running child (a coordinator or a worker) whose stderr goes to
// `log` (its stdout is a pipe nobody reads), `env` added to its environment. Null (with a test
// failure added) when it cannot be started.
std::unique_ptr<worker::ChildProcess> SpawnAblate(
    const std::vector<std::string>& args, const std::filesystem::path& log,
    const std::map<std::string, std::string>& env = {});

struct CommandResult {
  int exit_code = -1;  // 128 + signal when killed by a signal
  std::string out;
  std::string err;
};

// Runs argv[0] with the arguments, `env` added to this process's environment; waits for it.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env = {});

// `ablate ARGS... --server SERVER_ADDRESS`: one client command against a running coordinator,
// `env` added to the environment.
CommandResult RunAblate(const std::string& server_address, std::vector<std::string> args,
                        const std::map<std::string, std::string>& env = {});

// `ablate server --db DB --listen 127.0.0.1:0 [EXTRA_ARGS...]` in the background; Start() waits
// until it prints its address. The destructor SIGKILLs it if still running.
class ServerProcess {
 public:
  explicit ServerProcess(std::filesystem::path db, std::vector<std::string> extra_args = {})
      : db_(std::move(db)), extra_args_(std::move(extra_args)) {}
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts the server; false (with `error` filled) when it exits or stays silent for 20 s.
  bool Start(std::string* error);
  // Sends `signal` and waits for the process; returns its exit code (128 + signal if killed).
  int Stop(int signal);
  const std::string& address() const { return address_; }
  pid_t pid() const { return pid_; }
  std::string Log() const;

 private:
  std::filesystem::path db_;
  std::vector<std::string> extra_args_;
  std::filesystem::path log_;
  pid_t pid_ = -1;
  std::string address_;
};

}  // namespace ablate::e2e
