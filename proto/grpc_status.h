// The one place where Ablate's Status becomes a grpc::Status and back: the coordinator's
// services map results out, the worker and the CLI map replies in. absl::StatusCode and
// grpc::StatusCode share their numeric values; the message is kept as is.
#pragma once

#include <grpcpp/support/status.h>

#include "common/status.h"

namespace ablate::rpc {

grpc::Status ToGrpcStatus(const Status& status);
Status FromGrpcStatus(const grpc::Status& status);

}  // namespace ablate::rpc
