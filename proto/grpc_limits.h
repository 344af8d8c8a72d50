// The largest gRPC message any Ablate process sends or accepts, set explicitly on the
// coordinator's server and on every client channel (CLI, worker). A bigger message fails with
// RESOURCE_EXHAUSTED ("... larger than max (N vs. 67108864)") before any handler runs; the
// per-request limits (metric batch points, diary entries) are far below it.
#pragma once

#include <grpcpp/support/channel_arguments.h>

namespace ablate::rpc {

inline constexpr int kMaxGrpcMessageBytes = 64 << 20;  // 64 MiB

// Channel arguments for a client of the coordinator: both message-size limits set.
inline grpc::ChannelArguments LimitedChannelArguments() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxGrpcMessageBytes);
  args.SetMaxSendMessageSize(kMaxGrpcMessageBytes);
  return args;
}

}  // namespace ablate::rpc
