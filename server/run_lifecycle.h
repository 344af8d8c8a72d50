// The run lifecycle that the SetRunStatus RPC enforces (docs/coordinator.md "Run lifecycle"):
//
//   queued  -> running | cancelled | failed
//   running -> succeeded | failed | cancelled | diverged
//
// succeeded, failed, cancelled, diverged and stopped are final (stopped is set only by early
// stopping, never through SetRunStatus). Setting the status a run already has is
// accepted as a no-op, so a client may retry a call whose answer it lost. (The scheduler's own
// bookkeeping, e.g. requeueing a run whose lease expired, goes through the store, not this rule.)
#pragma once

#include "common/status.h"
#include "server/run_store.h"

namespace ablate::server {

// OK when `from -> to` is a lifecycle transition (or from == to); FailedPrecondition naming both
// states and the allowed next states otherwise.
Status CheckRunStatusTransition(RunStatus from, RunStatus to);

}  // namespace ablate::server
