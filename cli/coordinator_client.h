// Client side of ablate.v1.Coordinator and ablate.v1.Scheduler for the CLI: one channel, a deadline
// per call, and gRPC errors turned back into Status (UNAVAILABLE gets a hint naming the address).
//
// Thread safety: safe from any thread (gRPC stubs are).
#pragma once

#include <grpcpp/channel.h>

#include <memory>
#include <string>

#include "ablate/v1/coordinator.grpc.pb.h"
#include "ablate/v1/scheduler.grpc.pb.h"
#include "common/status.h"
#include "proto/client_channel.h"

namespace ablate::cli {

class CoordinatorClient {
 public:
  // `address` is HOST:PORT. Connects lazily; the first call reports an unreachable server.
  // `security`: TLS and the access token (proto/client_channel.h).
  explicit CoordinatorClient(std::string address, const rpc::ClientSecurity& security = {},
                             int timeout_ms = 30000);

  const std::string& address() const { return address_; }

  // grpc.health.v1 Check of the whole server: OK when it answers SERVING.
  Status CheckHealth(int timeout_ms);

  StatusOr<v1::CreateRunResponse> CreateRun(const v1::CreateRunRequest& req);
  StatusOr<v1::GetRunResponse> GetRun(const v1::GetRunRequest& req);
  StatusOr<v1::ListRunsResponse> ListRuns(const v1::ListRunsRequest& req);
  StatusOr<v1::SetRunStatusResponse> SetRunStatus(const v1::SetRunStatusRequest& req);
  StatusOr<v1::LogMetricsResponse> LogMetrics(const v1::LogMetricsRequest& req);
  StatusOr<v1::RegisterCheckpointResponse> RegisterCheckpoint(
      const v1::RegisterCheckpointRequest& req);
  StatusOr<v1::ResolveCheckpointResponse> ResolveCheckpoint(
      const v1::ResolveCheckpointRequest& req);
  StatusOr<v1::ListCheckpointsResponse> ListCheckpoints(const v1::ListCheckpointsRequest& req);
  StatusOr<v1::SetCheckpointPinnedResponse> SetCheckpointPinned(
      const v1::SetCheckpointPinnedRequest& req);
  StatusOr<v1::RecordEvaluationResponse> RecordEvaluation(const v1::RecordEvaluationRequest& req);
  StatusOr<v1::LeaderboardResponse> Leaderboard(const v1::LeaderboardRequest& req);
  StatusOr<v1::CompareRunsResponse> CompareRuns(const v1::CompareRunsRequest& req);
  StatusOr<v1::ImportDiaryResponse> ImportDiary(const v1::ImportDiaryRequest& req);

  // ablate.v1.Scheduler
  StatusOr<v1::SubmitSweepResponse> SubmitSweep(const v1::SubmitSweepRequest& req);
  StatusOr<v1::ListSweepsResponse> ListSweeps(const v1::ListSweepsRequest& req);
  StatusOr<v1::GetSweepResponse> GetSweep(const v1::GetSweepRequest& req);
  StatusOr<v1::CancelResponse> Cancel(const v1::CancelRequest& req);
  StatusOr<v1::ForkRunResponse> ForkRun(const v1::ForkRunRequest& req);
  StatusOr<v1::EvaluateCheckpointResponse> EvaluateCheckpoint(
      const v1::EvaluateCheckpointRequest& req);
  StatusOr<v1::LineageResponse> Lineage(const v1::LineageRequest& req);
  StatusOr<v1::SubmitRetentionResponse> SubmitRetention(const v1::SubmitRetentionRequest& req);
  StatusOr<v1::ListJobsResponse> ListJobs(const v1::ListJobsRequest& req);

 private:
  template <typename Req, typename Resp, typename Stub, typename Method>
  StatusOr<Resp> Call(Stub& stub, Method method, const Req& req);

  std::string address_;
  int timeout_ms_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
  std::unique_ptr<v1::Scheduler::Stub> scheduler_stub_;
};

}  // namespace ablate::cli
