// The one place where Ablate's Status becomes a grpc::Status (and back, for clients).
// absl::StatusCode and grpc::StatusCode share their numeric values; the message is kept as is.
#pragma once

#include <grpcpp/support/status.h>

#include "common/status.h"

namespace ablate::server {

grpc::Status ToGrpcStatus(const Status& status);
Status FromGrpcStatus(const grpc::Status& status);

}  // namespace ablate::server
