// Who may call which RPC: the one table of the coordinator's gRPC methods and the roles
// (common/access_tokens.h) allowed to call them, and the decision for one call. admin may call
// everything; grpc.health.v1 needs no token (load balancers and `ablate health` probe it).
// docs/security.md explains the roles.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "common/access_tokens.h"
#include "common/status.h"

namespace ablate::server {

struct MethodAccess {
  std::string_view method;  // full gRPC name, "/ablate.v1.Scheduler/SubmitSweep"
  bool reader = false;      // a reader token may call it
  bool worker = false;      // a worker token may call it
  bool mutating = false;    // changes stored state: every call goes to the audit log
};

// Every method of ablate.v1.Coordinator and ablate.v1.Scheduler, once.
std::span<const MethodAccess> MethodAccessTable();
// The table's entry for `method`, or nullptr.
const MethodAccess* FindMethodAccess(std::string_view method);
// grpc.health.v1.Health methods: callable without a token.
bool IsPublicMethod(std::string_view method);

// The caller of `method` given its `authorization` metadata value (nullopt: none sent).
// UNAUTHENTICATED for a missing, malformed or unknown token; PERMISSION_DENIED naming the role and
// the method when the role may not call it (or the method is not in the table). Messages never
// contain the token.
StatusOr<Principal> Authorize(const TokenTable& tokens,
                              std::optional<std::string_view> authorization,
                              std::string_view method);

}  // namespace ablate::server
