// Coordinator benchmark (label bench): lease dispatch latency with many simulated workers and
// metric ingest throughput, over real gRPC on loopback against a real SQLite file.
//
//   coordinator_bench [--workers 256] [--jobs 2048] [--metric-threads 4] [--metric-batches 50]
//
// Each simulated worker registers, then loops LeaseJob -> CompleteJob(SUCCEEDED) until the queue
// is empty; every LeaseJob call's latency is recorded (empty answers too). Ingest: threads send
// LogMetrics batches of 500 points to their own run. Prints medians/percentiles.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "ablate/v1/coordinator.grpc.pb.h"
#include "ablate/v1/scheduler.grpc.pb.h"
#include "server/coordinator.h"

namespace {

namespace v1 = ablate::v1;
using Clock = std::chrono::steady_clock;

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

int IntFlag(int argc, char** argv, const std::string& name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return std::stoi(argv[i + 1]);
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const int workers = IntFlag(argc, argv, "--workers", 256);
  const int jobs = IntFlag(argc, argv, "--jobs", 2048);
  const int metric_threads = IntFlag(argc, argv, "--metric-threads", 4);
  const int metric_batches = IntFlag(argc, argv, "--metric-batches", 50);

  auto dir = std::filesystem::temp_directory_path() / "ablate_coordinator_bench";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  ablate::server::CoordinatorOptions options;
  options.db_path = (dir / "bench.db").string();
  options.listen_address = "127.0.0.1:0";
  auto coordinator = ablate::server::Coordinator::Create(options);
  if (!coordinator.ok()) {
    std::cerr << coordinator.status() << "\n";
    return 1;
  }
  auto channel = grpc::CreateChannel((*coordinator)->address(), grpc::InsecureChannelCredentials());
  auto scheduler = v1::Scheduler::NewStub(channel);
  auto runs = v1::Coordinator::NewStub(channel);

  // One sweep with `jobs` trials (a grid over the learning rate), stored in one transaction.
  std::string values;
  for (int i = 0; i < jobs; ++i) {
    char value[32];
    std::snprintf(value, sizeof(value), "%.10g", 1e-4 + i * 1e-7);
    values += (i ? ", " : "") + std::string(value);
  }
  v1::SubmitSweepRequest submit;
  submit.set_spec_yaml(
      "name: bench\nbase: {preset: tiny}\ndata: {train: /t.json, val: /v.json}\n"
      "budget: {steps: 10}\nparameters:\n  lr: [" +
      values + "]\n");
  v1::SubmitSweepResponse submitted;
  const auto submit_start = Clock::now();
  {
    grpc::ClientContext ctx;
    grpc::Status st = scheduler->SubmitSweep(&ctx, submit, &submitted);
    if (!st.ok()) {
      std::cerr << "submit: " << st.error_message() << "\n";
      return 1;
    }
  }
  const double submit_s = std::chrono::duration<double>(Clock::now() - submit_start).count();

  std::vector<std::vector<double>> latencies(static_cast<size_t>(workers));
  std::atomic<int> completed{0};
  const auto lease_start = Clock::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      v1::RegisterWorkerRequest reg;
      reg.set_name("bench-" + std::to_string(w));
      reg.set_slots(1);
      v1::RegisterWorkerResponse me;
      grpc::ClientContext rctx;
      if (!scheduler->RegisterWorker(&rctx, reg, &me).ok()) return;
      while (true) {
        v1::LeaseJobRequest req;
        req.set_worker_id(me.worker_id());
        v1::LeaseJobResponse resp;
        grpc::ClientContext ctx;
        const auto t0 = Clock::now();
        grpc::Status st = scheduler->LeaseJob(&ctx, req, &resp);
        latencies[static_cast<size_t>(w)].push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (!st.ok() || !resp.has_job()) return;
        v1::CompleteJobRequest done;
        done.set_lease_id(resp.job().lease_id());
        done.set_outcome(v1::JOB_OUTCOME_SUCCEEDED);
        v1::CompleteJobResponse ack;
        grpc::ClientContext cctx;
        if (scheduler->CompleteJob(&cctx, done, &ack).ok()) ++completed;
      }
    });
  }
  for (auto& t : threads) t.join();
  const double lease_s = std::chrono::duration<double>(Clock::now() - lease_start).count();
  std::vector<double> all;
  for (const auto& v : latencies) all.insert(all.end(), v.begin(), v.end());

  // Metric ingest: each thread logs `metric_batches` batches of 500 points to its own run.
  std::atomic<int64_t> points{0};
  const auto ingest_start = Clock::now();
  threads.clear();
  for (int t = 0; t < metric_threads; ++t) {
    threads.emplace_back([&, t] {
      const std::string run = submitted.trials(t % submitted.trials_size()).run_name();
      for (int b = 0; b < metric_batches; ++b) {
        v1::LogMetricsRequest req;
        req.mutable_run()->set_name(run);
        for (int i = 0; i < 100; ++i) {
          for (const char* key : {"loss", "loss_B", "loss_C", "loss_M", "lr"}) {
            auto* p = req.add_points();
            p->set_step(b * 100 + i);
            p->set_key(key);
            p->set_value(1.0 / (1 + i));
          }
        }
        v1::LogMetricsResponse resp;
        grpc::ClientContext ctx;
        if (runs->LogMetrics(&ctx, req, &resp).ok()) points += req.points_size();
      }
    });
  }
  for (auto& t : threads) t.join();
  const double ingest_s = std::chrono::duration<double>(Clock::now() - ingest_start).count();

  std::printf("submit: %d trials stored in %.3f s\n", submitted.trials_size(), submit_s);
  std::printf("lease dispatch: %d workers, %d jobs completed in %.2f s (%.0f jobs/s)\n", workers,
              completed.load(), lease_s, completed.load() / lease_s);
  std::printf("LeaseJob latency over %zu calls: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms\n",
              all.size(), Percentile(all, 0.5), Percentile(all, 0.9), Percentile(all, 0.99));
  std::printf("metric ingest: %lld points in %.2f s = %.0f points/s (%d threads, batches of 500)\n",
              static_cast<long long>(points.load()), ingest_s, points.load() / ingest_s,
              metric_threads);
  (*coordinator)->Shutdown();
  std::filesystem::remove_all(dir);
  return completed.load() == jobs ? 0 : 1;
}
