// Dashboard benchmark: fills a store with many runs and evaluations (once; the file is reused),
// then measures the JSON API over real HTTP on loopback. Prints medians; asserts nothing about
// speed (a shared 2-core machine varies 3-4x, STACK-NOTES.md).
//
//   dashboard_bench --db PATH [--runs 10000] [--evals-per-run 10] [--repeats 15]
#include <httplib.h>
#include <sqlite3.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "dashboard/dashboard_server.h"
#include "server/sqlite_run_store.h"

namespace {

using namespace ablate;
using Steady = std::chrono::steady_clock;

double Ms(Steady::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Fills runs [begin, end). `first_checkpoint` collects each run's first checkpoint id (forks).
Status Fill(server::RunStore& store, int begin, int end, int evals_per_run,
            std::vector<server::CheckpointId>& first_checkpoint) {
  const int checkpoints_per_run = std::max(1, evals_per_run / 2);
  constexpr int kChunk = 250;
  for (int start = begin; start < end; start += kChunk) {
    ABLATE_RETURN_IF_ERROR(store.Transact([&]() -> Status {
      for (int i = start; i < std::min(end, start + kChunk); ++i) {
        server::NewRun r;
        char name[64];
        std::snprintf(name, sizeof(name), "bench-run-%05d", i);
        r.name = name;
        r.sweep = "sweep-" + std::to_string(i % 20);
        r.config = {{"lr", 1e-4 * (1 + i % 7)},
                    {"focal_loss_gamma", 0.5 * (i % 5)},
                    {"batch_size", 8 << (i % 3)}};
        r.status = i % 13 == 0   ? server::RunStatus::kRunning
                   : i % 17 == 0 ? server::RunStatus::kFailed
                                 : server::RunStatus::kSucceeded;
        // One run in ten forks from the first checkpoint of a run 100 earlier.
        if (i >= 100 && i % 10 == 0) r.parent_checkpoint = first_checkpoint[i - 100];
        ABLATE_ASSIGN_OR_RETURN(server::Created<server::Run> run, store.CreateRun(r));
        for (int c = 0; c < checkpoints_per_run; ++c) {
          server::NewCheckpoint cp;
          cp.run = run.value.id;
          const int step = (c + 1) * 10000;
          char cname[64];
          std::snprintf(cname, sizeof(cname), "step%07d-ep%03d-loss%.3f", step, c + 1,
                        3.0 - 0.1 * c);
          cp.name = cname;
          cp.step = step;
          cp.bytes = 120'000'000;
          ABLATE_ASSIGN_OR_RETURN(server::Created<server::Checkpoint> ck,
                                  store.RegisterCheckpoint(cp));
          if (c == 0) first_checkpoint.push_back(ck.value.id);
          for (server::IouType iou : {server::IouType::kBbox, server::IouType::kSegm}) {
            server::NewEvaluation e;
            e.run = run.value.id;
            e.checkpoint = ck.value.id;
            e.settings.iou_type = iou;
            e.settings.score_threshold = i % 4 == 0 ? 0.005 : 0.05;  // two comparable groups
            e.settings.top_k = 100;
            e.settings.max_dets = 100;
            e.settings.dataset_fingerprint = "sha256:bench";
            const double ap = 0.2 + 0.1 * ((i * 7919 + c * 104729) % 1000) / 1000.0 + 0.01 * c;
            for (int s = 0; s < kNumCocoStats; ++s) e.stats[s] = ap + 0.01 * s;
            for (int k = 0; k < 4; ++k)
              e.per_category.push_back({k + 1, "cat" + std::to_string(k), ap});
            ABLATE_RETURN_IF_ERROR(store.RecordEvaluation(e).status());
          }
        }
      }
      return absl::OkStatus();
    }));
  }
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Dashboard API benchmark"};
  std::string db;
  int runs = 10000;
  int evals_per_run = 10;
  int repeats = 15;
  app.add_option("--db", db, "SQLite file; filled when missing")->required();
  app.add_option("--runs", runs);
  app.add_option("--evals-per-run", evals_per_run);
  app.add_option("--repeats", repeats);
  CLI11_PARSE(app, argc, argv);

  server::SqliteRunStoreOptions o;
  o.path = db;
  if (!std::filesystem::exists(db)) {
    // RecordEvaluation's natural-key lookup ("e.checkpoint_id IS ?") cannot use the expression
    // index, and without statistics SQLite picks the eval_key index: every insert then scans the
    // evaluations sharing its eval key, O(N^2) over the fill. ANALYZE after a first slice makes
    // the planner choose the natural-key index (run_id prefix). Reported to the store's owner.
    const auto t0 = Steady::now();
    std::vector<server::CheckpointId> first_checkpoint;
    const int slice = std::min(runs, 500);
    for (auto [begin, end] : {std::pair{0, slice}, std::pair{slice, runs}}) {
      auto store = server::SqliteRunStore::Open(o);
      if (!store.ok()) {
        std::cerr << store.status() << "\n";
        return 1;
      }
      if (Status s = Fill(**store, begin, end, evals_per_run, first_checkpoint); !s.ok()) {
        std::cerr << "fill: " << s << "\n";
        return 1;
      }
      store->reset();
      sqlite3* raw = nullptr;
      if (sqlite3_open(db.c_str(), &raw) != SQLITE_OK ||
          sqlite3_exec(raw, "ANALYZE", nullptr, nullptr, nullptr) != SQLITE_OK) {
        std::cerr << "ANALYZE failed: " << sqlite3_errmsg(raw) << "\n";
        return 1;
      }
      sqlite3_close(raw);
    }
    std::printf("fill: %d runs, %d evaluations in %.1f s\n", runs, runs * evals_per_run,
                Ms(Steady::now() - t0) / 1000.0);
  }
  auto store = server::SqliteRunStore::Open(o);
  if (!store.ok()) {
    std::cerr << store.status() << "\n";
    return 1;
  }
  dashboard::DashboardOptions options;
  options.port = 0;
  options.api.snapshot_ttl_ms = 60'000;  // measure the steady state between store changes
  auto server = dashboard::DashboardServer::Start(options, **store);
  if (!server.ok()) {
    std::cerr << server.status() << "\n";
    return 1;
  }
  httplib::Client client("127.0.0.1", (*server)->port());
  client.set_read_timeout(120, 0);
  auto get = [&](const std::string& path) {
    const auto t0 = Steady::now();
    auto res = client.Get(path);
    const double ms = Ms(Steady::now() - t0);
    if (!res || res->status != 200) {
      std::cerr << path << " failed: " << (res ? res->status : -1) << "\n";
      std::exit(1);
    }
    return std::make_pair(ms, res->body.size());
  };
  auto [cold_ms, cold_bytes] = get("/api/leaderboard?by=AP&iou=bbox&top=100");
  std::printf("leaderboard, cold (loads the store snapshot): %.1f ms, %zu bytes\n", cold_ms,
              cold_bytes);
  auto report = [&](const std::string& what, const std::vector<std::string>& paths) {
    std::vector<double> ms;
    size_t bytes = 0;
    for (int i = 0; i < repeats; ++i) {
      auto [t, b] = get(paths[i % paths.size()]);
      ms.push_back(t);
      bytes = b;
    }
    std::printf("%-58s median %7.2f ms  (%d requests, %zu bytes)\n", what.c_str(), Median(ms),
                repeats, bytes);
  };
  // Distinct queries (no response cache hit; the snapshot is warm).
  std::vector<std::string> distinct;
  for (int i = 0; i < repeats; ++i) {
    distinct.push_back("/api/leaderboard?top=100&by=" + std::string(kCocoStatNames[i % 12]) +
                       "&iou=" + (i % 2 ? "segm" : "bbox") + "&sweep=sweep-" +
                       std::to_string(i % 20));
  }
  report("leaderboard, distinct query per request (warm snapshot)", distinct);
  report("leaderboard, repeated query (response cache)",
         {"/api/leaderboard?by=AP&iou=bbox&top=100"});
  report("leaderboard, all rows (top=0)", {"/api/leaderboard?by=AP&iou=bbox&top=0"});
  report("sweeps", {"/api/sweeps"});
  report("run page JSON (/api/runs/{name})", {"/api/runs/bench-run-00421"});
  report("compare two runs", {"/api/compare?runs=bench-run-00001,bench-run-00002"});
  report("lineage below a checkpoint prefix", {"/api/lineage?root=bench-run-00100"});
  std::printf("url: %s\n", (*server)->url().c_str());
  return 0;
}
