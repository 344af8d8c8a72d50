// gRPC adapter for ablate.v1.Scheduler: converts messages, calls JobScheduler, maps Status
// through grpc_status.h. No logic of its own.
//
// Thread safety: gRPC calls the handlers from many threads; JobScheduler is thread-safe.
#pragma once

#include "ablate/v1/scheduler.grpc.pb.h"
#include "server/job_scheduler.h"

namespace ablate::server {

class SchedulerService final : public ablate::v1::Scheduler::Service {
 public:
  // `scheduler` must outlive the service.
  explicit SchedulerService(JobScheduler& scheduler) : scheduler_(scheduler) {}

  grpc::Status SubmitSweep(grpc::ServerContext*, const v1::SubmitSweepRequest*,
                           v1::SubmitSweepResponse*) override;
  grpc::Status ListSweeps(grpc::ServerContext*, const v1::ListSweepsRequest*,
                          v1::ListSweepsResponse*) override;
  grpc::Status GetSweep(grpc::ServerContext*, const v1::GetSweepRequest*,
                        v1::GetSweepResponse*) override;
  grpc::Status Cancel(grpc::ServerContext*, const v1::CancelRequest*, v1::CancelResponse*) override;
  grpc::Status ForkRun(grpc::ServerContext*, const v1::ForkRunRequest*,
                       v1::ForkRunResponse*) override;
  grpc::Status EvaluateCheckpoint(grpc::ServerContext*, const v1::EvaluateCheckpointRequest*,
                                  v1::EvaluateCheckpointResponse*) override;
  grpc::Status Lineage(grpc::ServerContext*, const v1::LineageRequest*,
                       v1::LineageResponse*) override;
  grpc::Status SubmitRetention(grpc::ServerContext*, const v1::SubmitRetentionRequest*,
                               v1::SubmitRetentionResponse*) override;
  grpc::Status ListJobs(grpc::ServerContext*, const v1::ListJobsRequest*,
                        v1::ListJobsResponse*) override;
  grpc::Status RegisterWorker(grpc::ServerContext*, const v1::RegisterWorkerRequest*,
                              v1::RegisterWorkerResponse*) override;
  grpc::Status LeaseJob(grpc::ServerContext*, const v1::LeaseJobRequest*,
                        v1::LeaseJobResponse*) override;
  grpc::Status Heartbeat(grpc::ServerContext*, const v1::HeartbeatRequest*,
                         v1::HeartbeatResponse*) override;
  grpc::Status CompleteJob(grpc::ServerContext*, const v1::CompleteJobRequest*,
                           v1::CompleteJobResponse*) override;

 private:
  JobScheduler& scheduler_;
};

}  // namespace ablate::server
