// ablate-dashboard: development and test companion of the dashboard library.
//   ablate-dashboard demo  --db PATH [--gallery-dir D] write the demo history (demo_fixture.h);
//                                                    gallery JPEGs go to D (default PATH-gallery)
//   ablate-dashboard serve --db PATH --http H:P      serve the page + API over an existing file
// In production the coordinator serves the dashboard itself (`ablate server --http HOST:PORT`);
// `serve` exists for looking at a copy of a database and for tests.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

#include "dashboard/dashboard_server.h"
#include "dashboard/demo_fixture.h"
#include "server/sqlite_run_store.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

int Fail(const ablate::Status& s) {
  std::cerr << "ablate-dashboard: " << s.message() << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Ablate dashboard tools (the coordinator serves the dashboard with --http)"};
  app.require_subcommand(1);
  std::string db;
  std::string http = "127.0.0.1:8080";
  int64_t ttl_ms = 1000;
  CLI::App* demo = app.add_subcommand("demo", "Write the demo tuning history into a database");
  demo->add_option("--db", db, "SQLite file (created if missing)")->required();
  std::string gallery_dir;
  demo->add_option("--gallery-dir", gallery_dir,
                   "Where the demo galleries' JPEGs are written (default: <db>-gallery; 'none': no "
                   "galleries)");
  CLI::App* serve = app.add_subcommand("serve", "Serve the dashboard over a database file");
  serve->add_option("--db", db, "SQLite file")->required();
  serve->add_option("--http", http, "HOST:PORT to listen on (port 0: any free port)");
  serve->add_option("--snapshot-ttl-ms", ttl_ms, "How stale cross-run views may be");
  std::string run_name;
  std::string status_name;
  CLI::App* set_status = app.add_subcommand(
      "test-set-status",
      "Test helper: change a run's status in the file directly (the browser test uses it to "
      "watch the page update live; in production only the coordinator writes)");
  set_status->add_option("--db", db, "SQLite file")->required();
  set_status->add_option("--run", run_name, "Run name")->required();
  set_status->add_option("--status", status_name, "queued, running, succeeded, ...")->required();
  CLI11_PARSE(app, argc, argv);

  ablate::server::SqliteRunStoreOptions store_options;
  store_options.path = db;
  auto store = ablate::server::SqliteRunStore::Open(store_options);
  if (!store.ok()) return Fail(store.status());

  if (*demo) {
    std::filesystem::path gallery = gallery_dir.empty() ? std::filesystem::path(db + "-gallery")
                                                        : std::filesystem::path(gallery_dir);
    if (gallery_dir == "none") gallery.clear();
    if (!gallery.empty()) gallery = std::filesystem::absolute(gallery).lexically_normal();
    auto report = ablate::dashboard::demo::FillDemo(**store, gallery);
    if (!report.ok()) return Fail(report.status());
    std::cout << "demo: " << report->runs << " runs, " << report->checkpoints << " checkpoints, "
              << report->evaluations << " evaluations, " << report->metric_points
              << " metric points written to " << db << "\n";
    return 0;
  }
  if (*set_status) {
    auto status = ablate::server::ParseRunStatus(status_name);
    if (!status) return Fail(absl::InvalidArgumentError("--status: unknown status " + status_name));
    auto run = (*store)->FindRunByName(run_name);
    if (!run.ok()) return Fail(run.status());
    auto updated = (*store)->SetRunStatus(run->id, *status);
    if (!updated.ok()) return Fail(updated.status());
    return 0;
  }
  auto host_port = ablate::dashboard::ParseHostPort(http);
  if (!host_port.ok()) return Fail(host_port.status());
  ablate::dashboard::DashboardOptions options;
  options.host = host_port->first;
  options.port = host_port->second;
  options.api.snapshot_ttl_ms = ttl_ms;
  auto server = ablate::dashboard::DashboardServer::Start(options, **store);
  if (!server.ok()) return Fail(server.status());
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::cout << "Dashboard: " << (*server)->url() << std::endl;
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  (*server)->Stop();
  return 0;
}
