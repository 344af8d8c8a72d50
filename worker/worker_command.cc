#include "worker/worker_command.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include "worker/worker_daemon.h"

namespace ablate::worker {
namespace {

// ablate-train next to this executable (the build and install layout), else on PATH.
std::string DefaultTrainerPath() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto sibling = self.parent_path() / "ablate-train";
    if (std::filesystem::exists(sibling)) return sibling.string();
  }
  if (const char* path = std::getenv("PATH")) {
    std::string p(path);
    size_t start = 0;
    while (start <= p.size()) {
      size_t end = p.find(':', start);
      if (end == std::string::npos) end = p.size();
      auto candidate = std::filesystem::path(p.substr(start, end - start)) / "ablate-train";
      if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
      start = end + 1;
    }
  }
  return "";
}

}  // namespace

void RegisterWorkerCommand(CLI::App& app) {
  auto options = std::make_shared<WorkerOptions>();
  CLI::App* cmd =
      app.add_subcommand("worker",
                         "Run a worker daemon: lease jobs from the coordinator and run them as "
                         "ablate-train child processes");
  cmd->add_option("--server", options->server, "Coordinator HOST:PORT")
      ->envname("ABLATE_SERVER")
      ->capture_default_str();
  cmd->add_option("--slots", options->slots, "Jobs to run at once")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--device", options->device, "cpu or cuda:N")->capture_default_str();
  cmd->add_option("--trial-threads", options->trial_threads,
                  "LibTorch threads per trial (default: cores / slots; give each worker on a "
                  "shared machine its share)");
  cmd->add_option("--trainer", options->trainer_path,
                  "Path of ablate-train (default: next to this binary, else on PATH)");
  cmd->add_option("--work-dir", options->work_dir,
                  "Where trials write checkpoints and logs (shared storage for multi-machine "
                  "resume)")
      ->default_str("./ablate-work");
  cmd->add_option("--name", options->name, "Worker name (default host:pid)");
  auto min_free_mb = std::make_shared<int64_t>(options->min_free_disk_bytes >> 20);
  cmd->add_option("--min-free-disk-mb", *min_free_mb,
                  "Lease no job while the work dir has less free space than this (MiB)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_flag("--exit-when-idle", options->exit_when_idle,
                "Exit once no job has come for 30 s (batch schedulers)");
  auto token_file = std::make_shared<std::string>();
  auto tls_ca = std::make_shared<std::string>();
  cmd->add_option("--token-file", *token_file,
                  "File holding the worker's access token (default: the token in $ABLATE_TOKEN)")
      ->envname("ABLATE_TOKEN_FILE");
  cmd->add_option("--tls-ca", *tls_ca,
                  "PEM CA certificate: talk TLS and verify the coordinator against it")
      ->envname("ABLATE_TLS_CA");
  cmd->callback([options, min_free_mb, token_file, tls_ca] {
    options->min_free_disk_bytes = *min_free_mb << 20;
    std::vector<std::string> warnings;
    auto security = rpc::LoadClientSecurity(*token_file, *tls_ca, &warnings);
    for (const std::string& w : warnings) std::cerr << "ablate worker: warning: " << w << "\n";
    if (!security.ok()) {
      std::cerr << "ablate worker: " << security.status().message() << "\n";
      std::exit(2);
    }
    options->security = *std::move(security);
    // Trials (ablate-train children) never talk to the coordinator: keep the token out of the
    // environment they inherit.
    ::unsetenv("ABLATE_TOKEN");
    ::unsetenv("ABLATE_TOKEN_FILE");
    if (options->trainer_path.empty()) options->trainer_path = DefaultTrainerPath();
    if (options->work_dir.empty()) options->work_dir = "ablate-work";
    if (options->device != "cpu" && options->device.rfind("cuda:", 0) != 0) {
      std::cerr << "ablate worker: --device must be cpu or cuda:N, got '" << options->device
                << "'\n";
      std::exit(2);
    }
    auto daemon = WorkerDaemon::Create(*options);
    if (!daemon.ok()) {
      std::cerr << "ablate worker: " << daemon.status().message() << "\n";
      std::exit(2);
    }
    // SIGTERM / SIGINT stop the daemon cleanly: a dedicated thread waits for them.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    WorkerDaemon* raw = daemon->get();
    std::thread([set, raw]() mutable {
      int sig = 0;
      sigwait(&set, &sig);
      raw->Stop();
    }).detach();
    Status s = (*daemon)->Run();
    if (!s.ok()) {
      std::cerr << "ablate worker: " << s.message() << "\n";
      std::exit(1);
    }
  });
}

}  // namespace ablate::worker
