// `ablate server --db PATH --listen HOST:PORT`: runs the coordinator until SIGINT/SIGTERM.
#include <csignal>
#include <iostream>
#include <memory>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "server/coordinator.h"

namespace ablate::cli {

void RegisterServerCommand(CLI::App& app) {
  struct Flags {
    std::string db;
    std::string listen = kDefaultServer;
    int max_metric_batch = 10000;
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
  cmd->callback([flags] {
    // Block the stop signals before gRPC starts its threads, so only sigwait() sees them.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);

    server::CoordinatorOptions options;
    options.db_path = flags->db;
    options.listen_address = flags->listen;
    options.service.max_metric_batch = flags->max_metric_batch;
    auto coordinator = OrFail(server::Coordinator::Create(options));
    std::cout << "ablate coordinator listening on " << coordinator->address() << " (db "
              << flags->db << ", schema version " << coordinator->migration_report().to_version
              << ")" << std::endl;
    int sig = 0;
    sigwait(&stop, &sig);
    std::cout << "ablate coordinator: signal " << sig << ", shutting down" << std::endl;
    coordinator->Shutdown();
    coordinator->Wait();
  });
}

}  // namespace ablate::cli
