// Forwards one trial's events to the coordinator: metrics in batches (LogMetrics), checkpoints
// (RegisterCheckpoint with a file:// URI and sha256), evaluations (RecordEvaluation, with the
// detection counts and the gallery's file:// URIs when the trial reports them). Every one
// of those RPCs is idempotent on the coordinator, so retries after a timeout or a coordinator
// restart never duplicate rows.
//
// Thread safety: one sink per trial, used from the trial's thread only. The stubs are shared
// (gRPC stubs are thread-safe) and not owned.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "ablate/v1/coordinator.grpc.pb.h"
#include "worker/rpc_retry.h"
#include "worker/trial_runner.h"

namespace ablate::worker {

struct CoordinatorSinkOptions {
  std::string run_name;
  size_t max_batch_points = 500;                  // flush when this many points are buffered
  std::chrono::milliseconds max_batch_age{1000};  // or when the oldest is this old
  RetryPolicy retry;
};

class CoordinatorSink final : public TrialSink {
 public:
  CoordinatorSink(ablate::v1::Coordinator::StubInterface& coordinator,
                  CoordinatorSinkOptions options)
      : coordinator_(coordinator), options_(std::move(options)) {}

  // A non-OK status stops the trial: the coordinator rejected a write for good (e.g. the run no
  // longer exists) or stayed unreachable past the retry budget.
  Status OnEvent(const TrialEvent& event) override;

  // Sends buffered metric points. Called before checkpoints, evaluations and at the end.
  Status Flush();

  int64_t points_sent() const { return points_sent_; }

 private:
  ablate::v1::Coordinator::StubInterface& coordinator_;
  CoordinatorSinkOptions options_;
  std::vector<ablate::v1::MetricPoint> pending_;
  std::chrono::steady_clock::time_point oldest_pending_{};
  int64_t points_sent_ = 0;
};

}  // namespace ablate::worker
