// Whether a worker's work directory can take another trial. Checked before every LeaseJob call,
// so that a worker whose disk is full or read-only stops taking jobs (the coordinator hands
// them, and the ones that failed there, to other workers) until the disk recovers.
//
// Thread safety: a free function with no shared state; safe from any thread.
#pragma once

#include <cstdint>
#include <filesystem>

#include "common/status.h"

namespace ablate::worker {

// OK when `dir` is on a writable filesystem with at least `min_free_bytes` available to this
// user and a probe file can be created and removed in it. Otherwise:
// - FailedPrecondition: the directory is missing, on a read-only filesystem, or a file cannot
//   be created in it (the message names the directory and the system's reason);
// - ResourceExhausted: less than `min_free_bytes` free (the message gives both, HumanBytes).
Status CheckWorkDir(const std::filesystem::path& dir, int64_t min_free_bytes);

}  // namespace ablate::worker
