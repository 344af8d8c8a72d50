// `ablate server --db PATH --listen HOST:PORT [--http HOST:PORT]`: runs the coordinator (and,
// with --http, the read-only web dashboard over the same store) until SIGINT/SIGTERM.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "dashboard/dashboard_server.h"
#include "server/coordinator.h"

namespace ablate::cli {
namespace {

int g_stop_pipe[2] = {-1, -1};

extern "C" void OnStopSignal(int sig) {
  const char byte = static_cast<char>(sig);
  ssize_t ignored = write(g_stop_pipe[1], &byte, 1);  // async-signal-safe
  (void)ignored;
}

}  // namespace

void RegisterServerCommand(CLI::App& app) {
  struct Flags {
    std::string db;
    std::string listen = kDefaultServer;
    int max_metric_batch = 10000;
    std::string http;  // empty: no dashboard
    double lease_ttl_s = 20;
    int max_attempts = 3;
    std::optional<int> retention_keep_last;  // unset: no retention after sweeps
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("server", "run the coordinator (the only database writer)");
  cmd->add_option("--db", flags->db, "SQLite database file (created and migrated if needed)")
      ->required();
  cmd->add_option("--listen", flags->listen, "HOST:PORT to serve on (port 0: pick a free one)")
      ->capture_default_str();
  cmd->add_option("--max-metric-batch", flags->max_metric_batch,
                  "most points one LogMetrics call may carry")
      ->capture_default_str();
  cmd->add_option("--http", flags->http,
                  "also serve the web dashboard and read-only JSON API on HOST:PORT");
  cmd->add_option("--lease-ttl", flags->lease_ttl_s,
                  "seconds a worker's lease lives without a heartbeat before its job is requeued")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-attempts", flags->max_attempts,
                  "tries per job (crashes and expired leases) before its run is failed")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--retention-keep-last", flags->retention_keep_last,
                  "after each sweep ends, queue a retention job for its runs that keeps this "
                  "many newest checkpoints per run (also the default of `ablate retention`); "
                  "default: off")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([flags] {
    // SIGINT/SIGTERM write their number to a pipe that this thread waits on. (Blocking them
    // and sigwait() is not enough: libraries may have started threads before this point, and a
    // signal delivered to one of those would kill the process without a clean shutdown.)
    if (pipe(g_stop_pipe) != 0) Fail(absl::InternalError("cannot create the stop pipe"));
    struct sigaction on_stop {};
    on_stop.sa_handler = OnStopSignal;
    sigemptyset(&on_stop.sa_mask);
    sigaction(SIGINT, &on_stop, nullptr);
    sigaction(SIGTERM, &on_stop, nullptr);

    server::CoordinatorOptions options;
    options.db_path = flags->db;
    options.listen_address = flags->listen;
    options.service.max_metric_batch = flags->max_metric_batch;
    options.scheduler.lease_ttl_ms = static_cast<int64_t>(flags->lease_ttl_s * 1000);
    options.scheduler.heartbeat_interval_ms =
        std::max<int64_t>(100, options.scheduler.lease_ttl_ms / 5);
    options.scheduler.max_attempts = flags->max_attempts;
    if (flags->retention_keep_last) {
      options.scheduler.auto_retention_keep_last = *flags->retention_keep_last;
      options.scheduler.retention_keep_last = *flags->retention_keep_last;
    }
    auto coordinator = OrFail(server::Coordinator::Create(options));
    std::cout << "ablate coordinator listening on " << coordinator->address() << " (db "
              << flags->db << ", schema version " << coordinator->migration_report().to_version
              << ")" << std::endl;
    std::unique_ptr<dashboard::DashboardServer> web;
    if (!flags->http.empty()) {
      auto [host, port] = OrFail(dashboard::ParseHostPort(flags->http));
      dashboard::DashboardOptions web_options;
      web_options.host = host;
      web_options.port = port;
      web_options.api.jobs = &coordinator->job_store();
      web = OrFail(dashboard::DashboardServer::Start(web_options, coordinator->store()));
      std::cout << "ablate dashboard: " << web->url() << std::endl;
    }
    char sig_byte = 0;
    while (read(g_stop_pipe[0], &sig_byte, 1) < 0 && errno == EINTR) {
    }
    const int sig = sig_byte;
    std::cout << "ablate coordinator: signal " << sig << ", shutting down" << std::endl;
    if (web) web->Stop();
    coordinator->Shutdown();
    coordinator->Wait();
  });
}

}  // namespace ablate::cli
