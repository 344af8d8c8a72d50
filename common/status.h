// Ablate's one error model: absl::Status / absl::StatusOr (abseil comes with gRPC).
//
// Every library returns Status or StatusOr<T> across its public boundary. Exceptions thrown by
// third-party code (LibTorch, yaml-cpp, nlohmann-json) are caught where that code is called and
// converted here. The mapping to gRPC status codes lives in one place: proto/grpc_status.h.
//
// Code conventions: InvalidArgument = bad user input (names the field/line); NotFound = a named
// thing does not exist; AlreadyExists / FailedPrecondition = state conflict; DataLoss = a corrupt
// file; Internal = a bug or an unexpected library failure.
#pragma once

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ablate {

using Status = absl::Status;
template <typename T>
using StatusOr = absl::StatusOr<T>;

}  // namespace ablate

#define ABLATE_STATUS_CONCAT_INNER_(a, b) a##b
#define ABLATE_STATUS_CONCAT_(a, b) ABLATE_STATUS_CONCAT_INNER_(a, b)

// Returns from the enclosing function when `expr` (a Status) is not OK.
#define ABLATE_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::absl::Status ablate_status_ = (expr);          \
    if (!ablate_status_.ok()) return ablate_status_; \
  } while (0)

// `ABLATE_ASSIGN_OR_RETURN(auto x, F());` declares x from a StatusOr, or returns its status.
#define ABLATE_ASSIGN_OR_RETURN(lhs, expr) \
  ABLATE_ASSIGN_OR_RETURN_IMPL_(ABLATE_STATUS_CONCAT_(ablate_statusor_, __LINE__), lhs, expr)
#define ABLATE_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return std::move(tmp).status();      \
  lhs = *std::move(tmp)
