#include "server/run_lifecycle.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ablate::server {
namespace {

std::vector<RunStatus> NextStatuses(RunStatus from) {
  switch (from) {
    case RunStatus::kQueued:
      return {RunStatus::kRunning, RunStatus::kCancelled, RunStatus::kFailed};
    case RunStatus::kRunning:
      return {RunStatus::kSucceeded, RunStatus::kFailed, RunStatus::kCancelled,
              RunStatus::kDiverged};
    case RunStatus::kSucceeded:
    case RunStatus::kFailed:
    case RunStatus::kCancelled:
    case RunStatus::kDiverged:
    case RunStatus::kStopped:  // set only by early stopping (JobScheduler), never by a client
      return {};
  }
  return {};
}

}  // namespace

Status CheckRunStatusTransition(RunStatus from, RunStatus to) {
  if (from == to) return absl::OkStatus();
  const std::vector<RunStatus> next = NextStatuses(from);
  for (RunStatus s : next) {
    if (s == to) return absl::OkStatus();
  }
  std::vector<std::string> names;
  for (RunStatus s : next) names.emplace_back(RunStatusName(s));
  const std::string from_name(RunStatusName(from));
  const std::string to_name(RunStatusName(to));
  return absl::FailedPreconditionError(absl::StrCat(
      "a run cannot go from ", from_name, " to ", to_name, " (",
      next.empty() ? from_name + " is final"
                   : absl::StrCat("from ", from_name, " it may go to ", absl::StrJoin(names, ", ")),
      ")"));
}

}  // namespace ablate::server
