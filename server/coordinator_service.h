// gRPC adapter for ablate.v1.Coordinator: converts messages, validates request shape, calls the
// core (RunStore, refs, leaderboard, run_comparison, diary_import) and maps Status to
// grpc::Status through grpc_status.h. No logic of its own beyond request limits.
//
// Thread safety: gRPC calls the handlers from many threads; the store serialises.
#pragma once

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

class CoordinatorService final : public ablate::v1::Coordinator::Service {
 public:
  // `store` must outlive the service.
  CoordinatorService(RunStore& store, CoordinatorServiceOptions options)
      : store_(store), options_(options) {}

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
};

}  // namespace ablate::server
