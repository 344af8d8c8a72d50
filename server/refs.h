// Resolving human references to runs and checkpoints.
//
// Run references: a run name, or a decimal run id when no run has that name.
// Checkpoint references (ResolveCheckpointRef):
//   "step1066300"                  the one checkpoint whose name is that or starts with
//   "step1066300-" "step1066300-ep073-loss5.715"  the same rule (an exact name is a prefix of
//   itself) "RUN/step1066300"              the same, only among the checkpoints of run RUN
//   "#42"                          checkpoint id 42
// Errors: NotFound when nothing matches (names the reference); FailedPrecondition when several
// checkpoints match, listing every candidate as RUN/NAME so the caller can qualify it.
// A checkpoint whose file retention deleted still resolves (its row stays for lineage and
// evaluations); what needs the file calls RequireCheckpointFileKept.
#pragma once

#include <optional>
#include <string_view>

#include "server/run_store.h"

namespace ablate::server {

struct RunRef {
  std::optional<int64_t> id;
  std::string name;
};

StatusOr<Run> ResolveRun(RunReader& store, const RunRef& ref);
StatusOr<Run> ResolveRunName(RunReader& store, std::string_view name_or_id);
StatusOr<Checkpoint> ResolveCheckpointRef(RunReader& store, std::string_view ref);

// FailedPrecondition naming the checkpoint (RUN/NAME) and the retention job when that job
// deleted its file or is deleting it now; OK otherwise, also for a checkpoint without a file.
Status RequireCheckpointFileKept(const Checkpoint& checkpoint);

}  // namespace ablate::server
