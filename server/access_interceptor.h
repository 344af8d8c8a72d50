// Enforces server/access_policy.h on every gRPC call and writes the audit log.
//
// A server interceptor decides each call from its `authorization` metadata (which it then removes,
// so no handler can see or log the token) before the handler runs, and records a denial for that
// call. gRPC interceptors cannot stop a call, so every handler of our services starts with
// ABLATE_RETURN_IF_ACCESS_DENIED(context), which returns the recorded denial. The access test
// (access_policy_test.cc) calls every method with every role, so a handler without the guard fails
// it. With `tokens == nullptr` (no --auth-tokens) every call is allowed and still audited.
//
// Audit log: one line per mutating call (MethodAccess::mutating) and per denied call, written
// when the status is sent: `audit method=M role=R name=N peer=P status=CODE`. No token, no request.
//
// Thread safety: the factory and AccessDenial() may be used from any thread.
#pragma once

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_interceptor.h>

#include <functional>
#include <memory>
#include <string>

#include "common/access_tokens.h"

namespace ablate::server {

// Receives one audit line (without a trailing newline). Called from gRPC threads concurrently.
using AuditSink = std::function<void(const std::string& line)>;
// Writes each line to stderr, whole.
AuditSink StderrAuditSink();

// `tokens` (may be null: no authentication) must outlive the server.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeAccessInterceptorFactory(
    const TokenTable* tokens, AuditSink audit);

// The denial recorded for the call with this context, or OK.
grpc::Status AccessDenial(const grpc::ServerContextBase* context);

}  // namespace ablate::server

// First statement of every service handler; `context` is its grpc::ServerContext*.
#define ABLATE_RETURN_IF_ACCESS_DENIED(context)                                \
  if (::grpc::Status ablate_denied_ = ::ablate::server::AccessDenial(context); \
      !ablate_denied_.ok())                                                    \
  return ablate_denied_
