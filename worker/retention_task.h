// A retention job on the worker: delete the checkpoint files the coordinator listed, and say what
// happened to each one. No child process and no LibTorch: it is a handful of unlink() calls.
//
// The spec, as the coordinator hands it out at lease time (server/job_scheduler.h):
//   {"kind": "retention", "keep_last": K, "scope": {...},
//    "delete": [{"checkpoint_id": N, "run": RUN, "name": NAME, "uri": "file:///abs/path",
//                "bytes": B}, ...]}
// The worker deletes exactly the listed files; the coordinator holds those checkpoints for this
// job, so nothing in the list can be pinned or referenced meanwhile (docs/retention.md).
//
// Per file, in order:
//   - the URI is not file:///absolute → failed ("not a local file URI");
//   - the path does not exist: missing when its directory exists (deleted earlier, e.g. by an
//     attempt that died before reporting), failed when the directory does not ("not reachable
//     from this worker": another machine's disk, an unmounted share — nothing is assumed gone);
//   - not a regular file (a directory, a symlink) → failed, left alone;
//   - its size differs from the registered size (when one is registered) → failed, left alone:
//     it is not the file that was registered;
//   - unlink() fails → failed with the error text; otherwise deleted, bytes_freed = its size.
//
// Thread safety: functions only.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"

namespace ablate::worker {

struct CheckpointFile {
  int64_t checkpoint_id = 0;
  std::string label;  // RUN/NAME, for logs and reasons
  std::string uri;
  int64_t bytes = 0;  // registered size; 0: unknown (not checked)
};

struct RetentionTask {
  std::vector<CheckpointFile> files;
};

// InvalidArgument naming the entry for a malformed spec (no "delete" list, an entry without
// checkpoint_id or uri).
StatusOr<RetentionTask> ParseRetentionTask(const nlohmann::json& spec);

struct FileDeletion {
  enum class Result { kDeleted, kMissing, kFailed };
  int64_t checkpoint_id = 0;
  Result result = Result::kFailed;
  std::string reason;       // kFailed: why
  int64_t bytes_freed = 0;  // kDeleted: the file's size
};

// Deletes the task's files in order. Before each file it asks `may_continue` (false: the job
// was cancelled or its lease may have expired) and stops there; the result then has fewer
// entries than the task, and the files not reported stay held by the job on the coordinator.
std::vector<FileDeletion> DeleteCheckpointFiles(const RetentionTask& task,
                                                const std::function<bool()>& may_continue);

// "deleted 3 (1.2 MiB), missing 1, failed 1 (run/step...: permission denied)".
std::string SummarizeDeletions(const RetentionTask& task, const std::vector<FileDeletion>& done);

}  // namespace ablate::worker
