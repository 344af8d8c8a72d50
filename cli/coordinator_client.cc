#include "cli/coordinator_client.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/byte_buffer.h>

#include <chrono>
#include <future>

#include "proto/grpc_limits.h"
#include "proto/grpc_status.h"

namespace ablate::cli {
namespace {

// The shared mapping, plus where to look when the coordinator cannot be reached.
Status FromGrpc(const grpc::Status& st, const std::string& address) {
  Status status = rpc::FromGrpcStatus(st);
  if (absl::IsUnauthenticated(status)) {
    return Status(status.code(), std::string(status.message()) +
                                     " (give the CLI a token with --token-file FILE or "
                                     "ABLATE_TOKEN; docs/security.md)");
  }
  if (absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status)) {
    return Status(status.code(),
                  "cannot reach the coordinator at " + address + ": " +
                      std::string(status.message()) +
                      " (start one with `ablate server --db PATH --listen HOST:PORT`, or set "
                      "--server / ABLATE_SERVER)");
  }
  return status;
}

std::chrono::system_clock::time_point Deadline(int timeout_ms) {
  return std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms);
}

}  // namespace

CoordinatorClient::CoordinatorClient(std::string address, const rpc::ClientSecurity& security,
                                     int timeout_ms)
    : address_(std::move(address)), timeout_ms_(timeout_ms) {
  channel_ = rpc::CreateCoordinatorChannel(address_, security, rpc::LimitedChannelArguments());
  stub_ = v1::Coordinator::NewStub(channel_);
  scheduler_stub_ = v1::Scheduler::NewStub(channel_);
}

template <typename Req, typename Resp, typename Stub, typename Method>
StatusOr<Resp> CoordinatorClient::Call(Stub& stub, Method method, const Req& req) {
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(timeout_ms_));
  Resp resp;
  grpc::Status st = (stub.*method)(&ctx, req, &resp);
  if (!st.ok()) return FromGrpc(st, address_);
  return resp;
}

Status CoordinatorClient::CheckHealth(int timeout_ms) {
  // grpc.health.v1.Health/Check with an empty HealthCheckRequest (service ""), decoded by hand:
  // the answer HealthCheckResponse{status: SERVING} is the two bytes 0x08 0x01.
  grpc::GenericStub generic(channel_);
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(timeout_ms));
  ctx.set_wait_for_ready(true);
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  generic.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                    [&done](grpc::Status st) { done.set_value(st); });
  grpc::Status st = done.get_future().get();
  if (!st.ok()) return FromGrpc(st, address_);
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return absl::InternalError("unreadable health response");
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  if (bytes != std::string("\x08\x01", 2)) {
    return absl::UnavailableError("coordinator at " + address_ + " is not SERVING");
  }
  return absl::OkStatus();
}

#define ABLATE_CLIENT_METHOD(Name)                                                                 \
  StatusOr<v1::Name##Response> CoordinatorClient::Name(const v1::Name##Request& req) {             \
    return Call<v1::Name##Request, v1::Name##Response>(*stub_, &v1::Coordinator::Stub::Name, req); \
  }

ABLATE_CLIENT_METHOD(CreateRun)
ABLATE_CLIENT_METHOD(GetRun)
ABLATE_CLIENT_METHOD(ListRuns)
ABLATE_CLIENT_METHOD(SetRunStatus)
ABLATE_CLIENT_METHOD(LogMetrics)
ABLATE_CLIENT_METHOD(RegisterCheckpoint)
ABLATE_CLIENT_METHOD(ResolveCheckpoint)
ABLATE_CLIENT_METHOD(ListCheckpoints)
ABLATE_CLIENT_METHOD(SetCheckpointPinned)
ABLATE_CLIENT_METHOD(RecordEvaluation)
ABLATE_CLIENT_METHOD(Leaderboard)
ABLATE_CLIENT_METHOD(CompareRuns)
ABLATE_CLIENT_METHOD(ImportDiary)

#undef ABLATE_CLIENT_METHOD

#define ABLATE_SCHEDULER_METHOD(Name)                                                    \
  StatusOr<v1::Name##Response> CoordinatorClient::Name(const v1::Name##Request& req) {   \
    return Call<v1::Name##Request, v1::Name##Response>(*scheduler_stub_,                 \
                                                       &v1::Scheduler::Stub::Name, req); \
  }

ABLATE_SCHEDULER_METHOD(SubmitSweep)
ABLATE_SCHEDULER_METHOD(ListSweeps)
ABLATE_SCHEDULER_METHOD(GetSweep)
ABLATE_SCHEDULER_METHOD(Cancel)
ABLATE_SCHEDULER_METHOD(ForkRun)
ABLATE_SCHEDULER_METHOD(EvaluateCheckpoint)
ABLATE_SCHEDULER_METHOD(Lineage)
ABLATE_SCHEDULER_METHOD(SubmitRetention)
ABLATE_SCHEDULER_METHOD(ListJobs)

#undef ABLATE_SCHEDULER_METHOD

}  // namespace ablate::cli
