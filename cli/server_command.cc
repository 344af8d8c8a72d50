// `ablate server --db PATH --listen HOST:PORT [--http HOST:PORT] [--auth-tokens FILE]
// [--tls-cert PEM --tls-key PEM] [--insecure]`: runs the coordinator (and, with --http, the
// read-only web dashboard over the same store) until SIGINT/SIGTERM. docs/security.md.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "cli/listen_policy.h"
#include "common/access_tokens.h"
#include "common/secret_file.h"
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
    std::string auth_tokens;                 // token file; empty: no authentication
    std::string tls_cert;
    std::string tls_key;
    bool insecure = false;
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
  cmd->add_option("--auth-tokens", flags->auth_tokens,
                  "file of access tokens, one `ROLE TOKEN [NAME]` per line (roles admin, worker, "
                  "reader); every RPC but health and every dashboard page then needs one "
                  "(docs/security.md)");
  cmd->add_option("--tls-cert", flags->tls_cert,
                  "PEM certificate chain: serve gRPC and the dashboard over TLS only");
  cmd->add_option("--tls-key", flags->tls_key, "PEM private key of --tls-cert");
  cmd->add_flag("--insecure", flags->insecure,
                "allow --listen/--http on a non-loopback address without --auth-tokens");
  cmd->callback([flags] {
    if (flags->tls_cert.empty() != flags->tls_key.empty()) {
      Fail(absl::InvalidArgumentError("--tls-cert and --tls-key go together"));
    }
    std::optional<TokenTable> tokens;
    if (!flags->auth_tokens.empty()) {
      std::string warning;
      tokens = OrFail(TokenTable::Load(flags->auth_tokens, &warning));
      if (!warning.empty()) std::cerr << "warning: " << warning << std::endl;
    }
    Status exposure = CheckExposure("--listen", flags->listen, tokens.has_value(), flags->insecure);
    if (exposure.ok() && !flags->http.empty()) {
      exposure = CheckExposure("--http", flags->http, tokens.has_value(), flags->insecure);
    }
    if (!exposure.ok()) Fail(exposure);
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
    options.tokens = tokens;
    if (!flags->tls_cert.empty()) {
      options.tls_cert_pem = OrFail(ReadSecretFile(flags->tls_cert, "TLS certificate", nullptr));
      std::string warning;
      options.tls_key_pem = OrFail(ReadSecretFile(flags->tls_key, "TLS key", &warning));
      if (!warning.empty()) std::cerr << "warning: " << warning << std::endl;
      if (options.tls_cert_pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos ||
          options.tls_key_pem.find("PRIVATE KEY-----") == std::string::npos) {
        Fail(absl::InvalidArgumentError("--tls-cert " + flags->tls_cert + " / --tls-key " +
                                        flags->tls_key +
                                        ": expected a PEM certificate and a PEM private key"));
      }
    }
    if (flags->retention_keep_last) {
      options.scheduler.auto_retention_keep_last = *flags->retention_keep_last;
      options.scheduler.retention_keep_last = *flags->retention_keep_last;
    }
    auto coordinator = OrFail(server::Coordinator::Create(options));
    std::cout << "ablate coordinator listening on " << coordinator->address() << " (db "
              << flags->db << ", schema version " << coordinator->migration_report().to_version
              << (flags->tls_cert.empty() ? "" : ", TLS")
              << (tokens ? ", " + std::to_string(tokens->size()) + " access token(s)" : "") << ")"
              << std::endl;
    if (!tokens) {
      std::cerr << "warning: no --auth-tokens: anyone who can reach " << coordinator->address()
                << " may call every RPC (fine on loopback for one user; docs/security.md)"
                << std::endl;
    } else if (flags->tls_cert.empty() &&
               !IsLoopbackHost(flags->listen.substr(0, flags->listen.rfind(':')))) {
      std::cerr << "warning: access tokens travel in plain text; add --tls-cert/--tls-key"
                << std::endl;
    }
    std::unique_ptr<dashboard::DashboardServer> web;
    if (!flags->http.empty()) {
      auto [host, port] = OrFail(dashboard::ParseHostPort(flags->http));
      dashboard::DashboardOptions web_options;
      web_options.host = host;
      web_options.port = port;
      web_options.api.jobs = &coordinator->job_store();
      web_options.tokens = tokens ? &*tokens : nullptr;
      web_options.tls_cert_file = flags->tls_cert;
      web_options.tls_key_file = flags->tls_key;
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
