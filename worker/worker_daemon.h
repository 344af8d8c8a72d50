// The worker daemon: registers with the coordinator, leases jobs (one per slot), runs each as a
// child `ablate-train` process (TrialRunner), forwards its events (CoordinatorSink), heartbeats
// its leases, and completes jobs with their outcome. LibTorch-free. A retention job runs in the
// daemon itself (worker/retention_task.h: it only deletes the listed checkpoint files) and reports
// per file what happened.
//
// Failure behaviour:
// - a trial that crashes is completed as FAILED with the reason; the coordinator decides on a
//   retry (from the run's last checkpoint) — the daemon carries on with the next job;
// - the coordinator unreachable: every RPC is retried with backoff (RetryPolicy), so a
//   coordinator restart is ridden out; registration is retried until Stop();
// - a lease the coordinator says is no longer ours (expired, cancelled): the trial is stopped;
// - a work dir that is full (below min_free_disk_bytes) or not writable: no job is leased until
//   it recovers; a trial that fails on it mid-way is retried by another worker first (the
//   coordinator holds a failed job back from the worker it failed on);
// - Stop() (SIGTERM/SIGINT in `ablate worker`): running trials are stopped and their jobs
//   RELEASED, i.e. requeued without counting an attempt.
// - a retention job deletes a file only while its lease is surely still held: until the lease
//   TTL after the last LeaseJob/Heartbeat call that kept it (measured from when the call was
//   sent), so a worker cut off from the coordinator stops deleting before the coordinator can
//   hand the job, or release its checkpoints, to anyone else.
//
// Thread safety: Run() blocks the calling thread and starts one thread per slot plus a
// heartbeat thread; Stop() may be called from any thread (or a signal-handling thread).
#pragma once

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "ablate/v1/coordinator.grpc.pb.h"
#include "ablate/v1/scheduler.grpc.pb.h"
#include "absl/base/thread_annotations.h"
#include "common/mutex.h"
#include "common/status.h"
#include "proto/client_channel.h"
#include "worker/rpc_retry.h"

namespace ablate::worker {

struct WorkerOptions {
  std::string server = "127.0.0.1:50051";  // coordinator address
  int slots = 1;                           // jobs run at once
  std::string device = "cpu";              // "cpu" or "cuda:N", passed to ablate-train
  // LibTorch threads per trial; 0: cores / slots. Several workers on one machine should split
  // the cores between them (oversubscribed OpenMP threads slow training down many times).
  int trial_threads = 0;
  std::string trainer_path;        // ablate-train; required
  std::filesystem::path work_dir;  // trials' checkpoints and logs; required
  std::string name;                // empty: "<hostname>:<pid>"
  bool exit_when_idle = false;     // leave once no job came for idle_exit_ms
  int64_t idle_exit_ms = 30'000;
  int64_t poll_interval_ms = 1'000;  // between LeaseJob calls when there is nothing to do
  // No job is leased while the work dir has less free space than this (or is not writable).
  int64_t min_free_disk_bytes = int64_t{256} << 20;
  RetryPolicy retry;
  rpc::ClientSecurity security;  // access token and TLS CA for the coordinator
};

class WorkerDaemon {
 public:
  // InvalidArgument for missing trainer_path/work_dir or slots < 1.
  static StatusOr<std::unique_ptr<WorkerDaemon>> Create(const WorkerOptions& options);
  ~WorkerDaemon();

  // Runs until Stop() (or until idle, with exit_when_idle). OK on a normal stop.
  Status Run();
  void Stop() { stop_ = true; }

  int64_t jobs_completed() const { return jobs_completed_; }

 private:
  explicit WorkerDaemon(const WorkerOptions& options);
  Status Register();
  void SlotLoop(int slot);
  void HeartbeatLoop();
  // CheckWorkDir before a lease; logs when the verdict changes. False: do not lease now.
  bool WorkDirReady();
  // Runs one leased job to its end and completes it. `leased_at_ms`: steady-clock ms when the
  // LeaseJob call that granted it was sent.
  void RunJob(const ablate::v1::Job& job, int64_t leased_at_ms);
  // Deletes a retention job's files (in this thread) and fills in its completion.
  void RunRetentionJob(const ablate::v1::Job& job, const std::atomic<bool>& cancel,
                       const std::atomic<int64_t>& held_until_ms,
                       ablate::v1::CompleteJobRequest* complete);

  WorkerOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<ablate::v1::Scheduler::Stub> scheduler_;
  std::unique_ptr<ablate::v1::Coordinator::Stub> coordinator_;
  int64_t worker_id_ = 0;
  int64_t heartbeat_interval_ms_ = 2'000;
  int64_t lease_ttl_ms_ = 10'000;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> jobs_completed_{0};
  std::atomic<int64_t> last_activity_ms_{0};  // steady-clock ms of the last lease or job end
  std::atomic<int> busy_slots_{0};

  struct ActiveLease {
    std::shared_ptr<std::atomic<bool>> cancel;
    // Steady-clock ms until which the lease is surely held (see the top of this file).
    std::shared_ptr<std::atomic<int64_t>> held_until_ms;
  };
  Mutex mu_;
  std::string work_dir_problem_ ABSL_GUARDED_BY(mu_);  // the last CheckWorkDir verdict logged
  // lease id -> the running job's cancel flag and lease horizon.
  std::map<int64_t, ActiveLease> active_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ablate::worker
