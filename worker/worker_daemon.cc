#include "worker/worker_daemon.h"

#include <grpcpp/create_channel.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <thread>
#include <vector>

#include "proto/grpc_limits.h"
#include "proto/job_enums.h"
#include "worker/coordinator_sink.h"
#include "worker/retention_task.h"
#include "worker/trial_runner.h"
#include "worker/work_dir_check.h"

namespace ablate::worker {
namespace {

namespace v1 = ablate::v1;

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string DefaultName() {
  char host[256] = {0};
  ::gethostname(host, sizeof(host) - 1);
  return std::string(host) + ":" + std::to_string(::getpid());
}

void Log(const std::string& message) {
  // One line per event on stderr; the daemon's supervisor (systemd, k8s) collects it.
  std::cerr << "[ablate worker] " << message << std::endl;
}

// A name usable as one path component: not empty, ".", "..", and without '/', '\\' or NUL.
bool IsPlainName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find_first_of(std::string_view("/\\\0", 3)) == std::string_view::npos;
}

// Sleeps up to `ms`, waking early when `stop` is set.
void SleepUnlessStopped(const std::atomic<bool>& stop, int64_t ms) {
  const int64_t until = SteadyMs() + ms;
  while (!stop && SteadyMs() < until) std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

}  // namespace

StatusOr<std::unique_ptr<WorkerDaemon>> WorkerDaemon::Create(const WorkerOptions& options) {
  if (options.trainer_path.empty()) {
    return absl::InvalidArgumentError("worker: the ablate-train path is required");
  }
  if (::access(options.trainer_path.c_str(), X_OK) != 0) {
    return absl::InvalidArgumentError("worker: trainer '" + options.trainer_path +
                                      "' is not an executable file");
  }
  if (options.work_dir.empty()) return absl::InvalidArgumentError("worker: --work-dir required");
  if (options.slots < 1) return absl::InvalidArgumentError("worker: --slots must be >= 1");
  std::error_code ec;
  std::filesystem::create_directories(options.work_dir, ec);
  if (ec) return absl::InvalidArgumentError("worker: cannot create " + options.work_dir.string());
  return std::unique_ptr<WorkerDaemon>(new WorkerDaemon(options));
}

WorkerDaemon::WorkerDaemon(const WorkerOptions& options) : options_(options) {
  if (options_.name.empty()) options_.name = DefaultName();
  options_.work_dir = std::filesystem::absolute(options_.work_dir);
  channel_ = rpc::CreateCoordinatorChannel(options_.server, options_.security,
                                           rpc::LimitedChannelArguments());
  scheduler_ = v1::Scheduler::NewStub(channel_);
  coordinator_ = v1::Coordinator::NewStub(channel_);
}

WorkerDaemon::~WorkerDaemon() { Stop(); }

Status WorkerDaemon::Register() {
  v1::RegisterWorkerRequest request;
  request.set_name(options_.name);
  char host[256] = {0};
  ::gethostname(host, sizeof(host) - 1);
  request.set_host(host);
  request.set_slots(options_.slots);
  request.set_device(options_.device);
  v1::RegisterWorkerResponse response;
  while (!stop_) {
    Status s = CallWithRetry(options_.retry, [&](grpc::ClientContext& ctx) {
      return scheduler_->RegisterWorker(&ctx, request, &response);
    });
    if (s.ok()) {
      worker_id_ = response.worker_id();
      if (response.heartbeat_interval_ms() > 0) {
        heartbeat_interval_ms_ = response.heartbeat_interval_ms();
      }
      if (response.lease_ttl_ms() > 0) lease_ttl_ms_ = response.lease_ttl_ms();
      Log("registered as '" + options_.name + "' (id " + std::to_string(worker_id_) + ") with " +
          options_.server + ", " + std::to_string(options_.slots) + " slot(s), device " +
          options_.device);
      return absl::OkStatus();
    }
    if (s.code() != absl::StatusCode::kUnavailable &&
        s.code() != absl::StatusCode::kDeadlineExceeded) {
      return s;
    }
    Log("coordinator " + options_.server + " unreachable, retrying: " + std::string(s.message()));
  }
  return absl::CancelledError("stopped before registering");
}

Status WorkerDaemon::Run() {
  ABLATE_RETURN_IF_ERROR(Register());
  last_activity_ms_ = SteadyMs();
  std::thread heartbeat([this] { HeartbeatLoop(); });
  std::vector<std::thread> slots;
  for (int i = 0; i < options_.slots; ++i) slots.emplace_back([this, i] { SlotLoop(i); });
  for (auto& t : slots) t.join();
  stop_ = true;
  heartbeat.join();
  Log("stopped after " + std::to_string(jobs_completed_.load()) + " job(s)");
  return absl::OkStatus();
}

bool WorkerDaemon::WorkDirReady() {
  const Status disk = CheckWorkDir(options_.work_dir, options_.min_free_disk_bytes);
  const std::string problem(disk.message());
  MutexLock lock(&mu_);
  if (problem != work_dir_problem_) {
    Log(disk.ok() ? "work dir usable again; leasing jobs" : "not leasing jobs: " + problem);
    work_dir_problem_ = problem;
  }
  return disk.ok();
}

void WorkerDaemon::SlotLoop(int slot) {
  while (!stop_) {
    if (!WorkDirReady()) {
      SleepUnlessStopped(stop_, options_.poll_interval_ms);
      continue;
    }
    v1::LeaseJobRequest request;
    request.set_worker_id(worker_id_);
    v1::LeaseJobResponse response;
    int64_t sent_ms = SteadyMs();
    Status s = CallWithRetry(options_.retry, [&](grpc::ClientContext& ctx) {
      sent_ms = SteadyMs();  // the attempt that succeeded counts
      return scheduler_->LeaseJob(&ctx, request, &response);
    });
    if (s.code() == absl::StatusCode::kNotFound) {
      // The coordinator forgot us (e.g. a restored database): register again.
      Log("coordinator does not know this worker; registering again");
      if (!Register().ok()) SleepUnlessStopped(stop_, options_.poll_interval_ms);
      continue;
    }
    if (!s.ok()) {
      Log("slot " + std::to_string(slot) + ": lease failed: " + std::string(s.message()));
      SleepUnlessStopped(stop_, options_.poll_interval_ms);
      continue;
    }
    if (!response.has_job()) {
      if (options_.exit_when_idle && busy_slots_ == 0 &&
          SteadyMs() - last_activity_ms_ > options_.idle_exit_ms) {
        Log("no work for " + std::to_string(options_.idle_exit_ms / 1000) + " s; exiting");
        stop_ = true;
        return;
      }
      SleepUnlessStopped(stop_, options_.poll_interval_ms);
      continue;
    }
    ++busy_slots_;
    last_activity_ms_ = SteadyMs();
    RunJob(response.job(), sent_ms);
    last_activity_ms_ = SteadyMs();
    --busy_slots_;
  }
}

void WorkerDaemon::RunJob(const v1::Job& job, int64_t leased_at_ms) {
  const v1::JobKind kind = rpc::JobKindOf(job);  // the enum; a coordinator before it: the string
  const std::string what = std::string(rpc::JobKindName(kind)) + " job " +
                           std::to_string(job.job_id()) +
                           (job.run_name().empty() ? " (" : " (run " + job.run_name() + ", ") +
                           "attempt " + std::to_string(job.attempt()) + ")";
  Log("starting " + what);
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  auto held_until = std::make_shared<std::atomic<int64_t>>(leased_at_ms + lease_ttl_ms_);
  {
    MutexLock lock(&mu_);
    active_[job.lease_id()] = ActiveLease{cancel, held_until};
  }
  v1::CompleteJobRequest complete;
  complete.set_lease_id(job.lease_id());

  nlohmann::json spec_json = nlohmann::json::parse(job.spec_json(), nullptr, false);
  if (kind == v1::JOB_KIND_RETENTION) {
    RunRetentionJob(job, *cancel, *held_until, &complete);
  } else if (auto spec = ParseJobSpec(spec_json); !spec.ok()) {
    complete.set_outcome(v1::JOB_OUTCOME_FAILED);
    complete.set_reason("bad job spec: " + std::string(spec.status().message()));
  } else if (spec->kind != "eval" && !IsPlainName(job.run_name())) {
    // The run's folder is <work dir>/runs/<run name>: never a path that leaves it.
    complete.set_outcome(v1::JOB_OUTCOME_FAILED);
    complete.set_reason("bad job: run name '" + job.run_name() + "' is not a plain folder name");
  } else {
    TrialRunnerOptions runner;
    runner.trainer_path = options_.trainer_path;
    runner.device = options_.device;
    runner.threads =
        options_.trial_threads > 0
            ? options_.trial_threads
            : std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / options_.slots);
    runner.trial_dir = spec->kind == "eval"
                           ? options_.work_dir / "evals" / std::to_string(job.job_id())
                           : options_.work_dir / "runs" / job.run_name();
    CoordinatorSink sink(*coordinator_,
                         {job.run_name(), 500, std::chrono::milliseconds(1000), options_.retry});
    auto outcome = RunTrial(*spec, runner, sink, cancel.get());
    Status flushed = sink.Flush();
    if (!outcome.ok()) {
      complete.set_outcome(v1::JOB_OUTCOME_FAILED);
      complete.set_reason(std::string(outcome.status().message()));
    } else if (!flushed.ok()) {
      complete.set_outcome(v1::JOB_OUTCOME_FAILED);
      complete.set_reason("could not send metrics: " + std::string(flushed.message()));
    } else {
      switch (outcome->kind) {
        case TrialOutcome::Kind::kSucceeded:
          complete.set_outcome(v1::JOB_OUTCOME_SUCCEEDED);
          break;
        case TrialOutcome::Kind::kDiverged:
          complete.set_outcome(v1::JOB_OUTCOME_DIVERGED);
          break;
        case TrialOutcome::Kind::kCancelled:
          complete.set_outcome(stop_ ? v1::JOB_OUTCOME_RELEASED : v1::JOB_OUTCOME_CANCELLED);
          break;
        case TrialOutcome::Kind::kCrashed:
          complete.set_outcome(v1::JOB_OUTCOME_FAILED);
          break;
      }
      complete.set_reason(outcome->reason);
    }
  }
  {
    MutexLock lock(&mu_);
    active_.erase(job.lease_id());
  }
  v1::CompleteJobResponse response;
  Status s = CallWithRetry(options_.retry, [&](grpc::ClientContext& ctx) {
    return scheduler_->CompleteJob(&ctx, complete, &response);
  });
  ++jobs_completed_;
  Log("finished " + what + ": " + v1::JobOutcome_Name(complete.outcome()) +
      (complete.reason().empty() ? "" : " (" + complete.reason() + ")") +
      (s.ok() ? (response.will_retry() ? ", will be retried" : "")
              : ", completion not recorded: " + std::string(s.message())));
}

void WorkerDaemon::RunRetentionJob(const v1::Job& job, const std::atomic<bool>& cancel,
                                   const std::atomic<int64_t>& held_until_ms,
                                   v1::CompleteJobRequest* complete) {
  auto task = ParseRetentionTask(nlohmann::json::parse(job.spec_json(), nullptr, false));
  if (!task.ok()) {
    complete->set_outcome(v1::JOB_OUTCOME_FAILED);
    complete->set_reason("bad job spec: " + std::string(task.status().message()));
    return;
  }
  bool lease_in_doubt = false;
  auto done = DeleteCheckpointFiles(*task, [&] {
    if (SteadyMs() >= held_until_ms) lease_in_doubt = true;
    return !cancel && !stop_ && !lease_in_doubt;
  });
  // Gallery images after the checkpoint files: an image goes only with its checkpoint.
  GalleryOutcome gallery = DeleteGalleryFiles(*task, done, [&] {
    if (SteadyMs() >= held_until_ms) lease_in_doubt = true;
    return !cancel && !stop_ && !lease_in_doubt;
  });
  auto result_of = [](FileDeletion::Result r) {
    switch (r) {
      case FileDeletion::Result::kDeleted:
        return v1::DELETION_RESULT_DELETED;
      case FileDeletion::Result::kMissing:
        return v1::DELETION_RESULT_MISSING;
      case FileDeletion::Result::kFailed:
        break;
    }
    return v1::DELETION_RESULT_FAILED;
  };
  for (const FileDeletion& d : done) {
    auto* out = complete->add_deletions();
    out->set_checkpoint_id(d.checkpoint_id);
    out->set_result(result_of(d.result));
    out->set_reason(d.reason);
    out->set_bytes_freed(d.bytes_freed);
  }
  for (const GalleryDeletion& d : gallery.done) {
    auto* out = complete->add_gallery_deletions();
    out->set_uri(d.uri);
    out->set_result(result_of(d.result));
    out->set_reason(d.reason);
    out->set_bytes_freed(d.bytes_freed);
  }
  std::string summary = SummarizeDeletions(*task, done, &gallery);
  if (done.size() == task->files.size() && gallery.done.size() == task->gallery.size()) {
    complete->set_outcome(v1::JOB_OUTCOME_SUCCEEDED);
  } else if (lease_in_doubt) {
    complete->set_outcome(v1::JOB_OUTCOME_FAILED);
    summary += "; the lease may have expired (no heartbeat got through), so deleting stopped";
  } else {
    complete->set_outcome(stop_ ? v1::JOB_OUTCOME_RELEASED : v1::JOB_OUTCOME_CANCELLED);
  }
  complete->set_reason(summary);
}

void WorkerDaemon::HeartbeatLoop() {
  while (!stop_) {
    SleepUnlessStopped(stop_, heartbeat_interval_ms_);
    v1::HeartbeatRequest request;
    request.set_worker_id(worker_id_);
    {
      MutexLock lock(&mu_);
      for (const auto& [lease, active] : active_) request.add_lease_ids(lease);
    }
    v1::HeartbeatResponse response;
    RetryPolicy once = options_.retry;
    once.total_budget_ms = 0;  // a missed beat is retried by the next one
    int64_t sent_ms = SteadyMs();
    Status s = CallWithRetry(once, [&](grpc::ClientContext& ctx) {
      sent_ms = SteadyMs();
      return scheduler_->Heartbeat(&ctx, request, &response);
    });
    if (!s.ok()) continue;
    MutexLock lock(&mu_);
    for (int64_t lease : response.stop_lease_ids()) {
      auto it = active_.find(lease);
      if (it != active_.end()) {
        Log("coordinator asked to stop lease " + std::to_string(lease));
        *it->second.cancel = true;
      }
    }
    // The coordinator renewed the others from when it received the call, which is no earlier
    // than `sent_ms`.
    for (int64_t lease : request.lease_ids()) {
      auto it = active_.find(lease);
      if (it == active_.end() || *it->second.cancel) continue;
      int64_t until = sent_ms + lease_ttl_ms_;
      if (until > *it->second.held_until_ms) *it->second.held_until_ms = until;
    }
  }
  // Stopping: end every running trial; their jobs are RELEASED (see RunJob).
  MutexLock lock(&mu_);
  for (auto& [lease, active] : active_) *active.cancel = true;
}

}  // namespace ablate::worker
