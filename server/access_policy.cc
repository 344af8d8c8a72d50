#include "server/access_policy.h"

#include <array>

#include "absl/strings/str_cat.h"

namespace ablate::server {
namespace {

constexpr bool kReader = true;
constexpr bool kWorker = true;
constexpr bool kMutating = true;
constexpr bool kNo = false;

// method, reader, worker, mutating. Workers get exactly what `ablate worker` and its trials call:
// the lease RPCs and what a trial reports (metrics, checkpoints, evaluations, its run's status).
constexpr std::array<MethodAccess, 26> kTable = {{
    {"/ablate.v1.Coordinator/CreateRun", kNo, kNo, kMutating},
    {"/ablate.v1.Coordinator/GetRun", kReader, kNo, kNo},
    {"/ablate.v1.Coordinator/ListRuns", kReader, kNo, kNo},
    {"/ablate.v1.Coordinator/SetRunStatus", kNo, kWorker, kMutating},
    {"/ablate.v1.Coordinator/LogMetrics", kNo, kWorker, kMutating},
    {"/ablate.v1.Coordinator/RegisterCheckpoint", kNo, kWorker, kMutating},
    {"/ablate.v1.Coordinator/ResolveCheckpoint", kReader, kNo, kNo},
    {"/ablate.v1.Coordinator/ListCheckpoints", kReader, kNo, kNo},
    {"/ablate.v1.Coordinator/SetCheckpointPinned", kNo, kNo, kMutating},
    {"/ablate.v1.Coordinator/RecordEvaluation", kNo, kWorker, kMutating},
    {"/ablate.v1.Coordinator/Leaderboard", kReader, kNo, kNo},
    {"/ablate.v1.Coordinator/CompareRuns", kReader, kNo, kNo},
    {"/ablate.v1.Coordinator/ImportDiary", kNo, kNo, kMutating},
    {"/ablate.v1.Scheduler/SubmitSweep", kNo, kNo, kMutating},
    {"/ablate.v1.Scheduler/ListSweeps", kReader, kNo, kNo},
    {"/ablate.v1.Scheduler/GetSweep", kReader, kNo, kNo},
    {"/ablate.v1.Scheduler/Cancel", kNo, kNo, kMutating},
    {"/ablate.v1.Scheduler/ForkRun", kNo, kNo, kMutating},
    {"/ablate.v1.Scheduler/EvaluateCheckpoint", kNo, kNo, kMutating},
    {"/ablate.v1.Scheduler/Lineage", kReader, kNo, kNo},
    {"/ablate.v1.Scheduler/SubmitRetention", kNo, kNo, kMutating},
    {"/ablate.v1.Scheduler/ListJobs", kReader, kNo, kNo},
    {"/ablate.v1.Scheduler/RegisterWorker", kNo, kWorker, kMutating},
    {"/ablate.v1.Scheduler/LeaseJob", kNo, kWorker, kMutating},
    {"/ablate.v1.Scheduler/Heartbeat", kNo, kWorker, kMutating},
    {"/ablate.v1.Scheduler/CompleteJob", kNo, kWorker, kMutating},
}};

bool RoleMayCall(Role role, const MethodAccess& access) {
  switch (role) {
    case Role::kAdmin:
      return true;
    case Role::kWorker:
      return access.worker;
    case Role::kReader:
      return access.reader;
  }
  return false;
}

}  // namespace

std::span<const MethodAccess> MethodAccessTable() { return kTable; }

const MethodAccess* FindMethodAccess(std::string_view method) {
  for (const MethodAccess& m : kTable) {
    if (m.method == method) return &m;
  }
  return nullptr;
}

bool IsPublicMethod(std::string_view method) {
  return method.substr(0, 23) == "/grpc.health.v1.Health/";
}

StatusOr<Principal> Authorize(const TokenTable& tokens,
                              std::optional<std::string_view> authorization,
                              std::string_view method_view) {
  const std::string method(method_view);
  if (!authorization) {
    return absl::UnauthenticatedError(
        absl::StrCat(method,
                     " needs an access token: send metadata `authorization: Bearer TOKEN` (ablate "
                     "--token-file FILE or ABLATE_TOKEN)"));
  }
  std::optional<std::string_view> token = BearerToken(*authorization);
  if (!token) {
    return absl::UnauthenticatedError(
        absl::StrCat(method, ": the authorization metadata is not `Bearer TOKEN`"));
  }
  std::optional<Principal> principal = tokens.Find(*token);
  if (!principal) {
    return absl::UnauthenticatedError(
        absl::StrCat(method, ": unknown access token (not in the coordinator's --auth-tokens)"));
  }
  const MethodAccess* access = FindMethodAccess(method);
  if (access == nullptr) {
    return absl::PermissionDeniedError(
        absl::StrCat("role '", std::string(RoleName(principal->role)), "' may not call ", method,
                     " (the method is not in the access table)"));
  }
  if (!RoleMayCall(principal->role, *access)) {
    return absl::PermissionDeniedError(
        absl::StrCat("role '", std::string(RoleName(principal->role)), "' may not call ", method));
  }
  return *principal;
}

}  // namespace ablate::server
