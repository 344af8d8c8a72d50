// gRPC adapter for ablate.v1.Coordinator: converts messages, validates request shape, calls the
// core (RunStore, refs, leaderboard, run_comparison, diary_import) and maps Status to
// grpc::Status through grpc_status.h. No logic of its own beyond request limits.
//
// Thread safety: gRPC calls the handlers from many threads; the store serialises.
#pragma once

#include <functional>

#include "ablate/v1/coordinator.grpc.pb.h"
#include "server/run_store.h"

namespace ablate::server {

struct CoordinatorServiceOptions {
  // Most metric points one LogMetrics call may carry (InvalidArgument beyond).
  int max_metric_batch = 10000;
  // Most entries one ImportDiary call may carry.
  int max_import_entries = 10000;
  // Largest ListRuns page; 0 in a request means 100.
  int max_page_size = 1000;
};

// Called by RecordEvaluation with the evaluated run, inside the transaction that records the
// evaluation (a retried record calls it again): the composition root wires
// JobScheduler::ApplyEarlyStopping here. An error fails the RPC and stores nothing.
using AfterEvaluationHook = std::function<Status(RunId run)>;

class CoordinatorService final : public ablate::v1::Coordinator::Service {
 public:
  // `store` must outlive the service. `after_evaluation` may be empty.
  CoordinatorService(RunStore& store, CoordinatorServiceOptions options,
                     AfterEvaluationHook after_evaluation = nullptr)
      : store_(store), options_(options), after_evaluation_(std::move(after_evaluation)) {}

  grpc::Status CreateRun(grpc::ServerContext*, const v1::CreateRunRequest*,
                         v1::CreateRunResponse*) override;
  grpc::Status GetRun(grpc::ServerContext*, const v1::GetRunRequest*, v1::GetRunResponse*) override;
  grpc::Status ListRuns(grpc::ServerContext*, const v1::ListRunsRequest*,
                        v1::ListRunsResponse*) override;
  grpc::Status SetRunStatus(grpc::ServerContext*, const v1::SetRunStatusRequest*,
                            v1::SetRunStatusResponse*) override;
  grpc::Status LogMetrics(grpc::ServerContext*, const v1::LogMetricsRequest*,
                          v1::LogMetricsResponse*) override;
  grpc::Status RegisterCheckpoint(grpc::ServerContext*, const v1::RegisterCheckpointRequest*,
                                  v1::RegisterCheckpointResponse*) override;
  grpc::Status ResolveCheckpoint(grpc::ServerContext*, const v1::ResolveCheckpointRequest*,
                                 v1::ResolveCheckpointResponse*) override;
  grpc::Status ListCheckpoints(grpc::ServerContext*, const v1::ListCheckpointsRequest*,
                               v1::ListCheckpointsResponse*) override;
  grpc::Status SetCheckpointPinned(grpc::ServerContext*, const v1::SetCheckpointPinnedRequest*,
                                   v1::SetCheckpointPinnedResponse*) override;
  grpc::Status RecordEvaluation(grpc::ServerContext*, const v1::RecordEvaluationRequest*,
                                v1::RecordEvaluationResponse*) override;
  grpc::Status Leaderboard(grpc::ServerContext*, const v1::LeaderboardRequest*,
                           v1::LeaderboardResponse*) override;
  grpc::Status CompareRuns(grpc::ServerContext*, const v1::CompareRunsRequest*,
                           v1::CompareRunsResponse*) override;
  grpc::Status ImportDiary(grpc::ServerContext*, const v1::ImportDiaryRequest*,
                           v1::ImportDiaryResponse*) override;

 private:
  RunStore& store_;
  const CoordinatorServiceOptions options_;
  const AfterEvaluationHook after_evaluation_;
};

}  // namespace ablate::server
