// Retrying unary RPCs across coordinator restarts and network blips.
//
// Only UNAVAILABLE and DEADLINE_EXCEEDED are retried (the call may not have reached the
// coordinator, and every worker RPC is idempotent); any other status is final. Backoff doubles
// from initial_backoff_ms up to max_backoff_ms until total_budget_ms is spent.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <thread>

#include "common/status.h"
#include "proto/grpc_status.h"

namespace ablate::worker {

struct RetryPolicy {
  int64_t per_call_timeout_ms = 10'000;
  int64_t initial_backoff_ms = 100;
  int64_t max_backoff_ms = 2'000;
  int64_t total_budget_ms = 120'000;  // how long a coordinator may be down before we give up
};

// `call(context)` performs one attempt with a fresh context (deadline set here).
inline Status CallWithRetry(const RetryPolicy& policy,
                            const std::function<grpc::Status(grpc::ClientContext&)>& call) {
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(policy.total_budget_ms);
  int64_t backoff_ms = policy.initial_backoff_ms;
  while (true) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(policy.per_call_timeout_ms));
    context.set_wait_for_ready(false);
    grpc::Status s = call(context);
    if (s.ok()) return absl::OkStatus();
    bool transient = s.error_code() == grpc::StatusCode::UNAVAILABLE ||
                     s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
    if (!transient || std::chrono::steady_clock::now() > give_up) return rpc::FromGrpcStatus(s);
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
    backoff_ms = std::min(backoff_ms * 2, policy.max_backoff_ms);
  }
}

}  // namespace ablate::worker
