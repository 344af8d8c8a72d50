// A retention job on the worker: delete the checkpoint files and gallery images the coordinator
// listed, and say what happened to each one. No child process and no LibTorch: it is a handful of
// unlink() calls.
//
// The spec is protocol/retention_spec.h's (ParseLeasedRetentionSpec reads it): "delete" lists the
// checkpoint files, the optional "delete_gallery" the gallery images. The worker deletes exactly
// the listed files; the coordinator holds them for this job, so nothing in the list can be pinned
// or referenced meanwhile (docs/retention.md).
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
// Gallery images go after every checkpoint file, with the same checks, and:
//   - an image of a checkpoint listed in this task is deleted only when that checkpoint's file
//     was deleted or missing; otherwise failed ("kept with its checkpoint ...") and left alone
//     (an image of a checkpoint not listed belongs to one deleted earlier: it goes);
//   - only a .jpg/.jpeg file is deleted (the coordinator registers nothing else);
//   - a missing image whose folder is gone too is missing (not failed) when the folder's parent
//     exists: retention removes a gallery folder it emptied, and a retried attempt finds it gone;
//     an unreachable parent is still failed, as for checkpoints.
// After the images, each folder of an image now deleted or missing is removed with rmdir() —
// only when it is empty, never recursively. That folder is the gallery folder recorded for the
// evaluation (the coordinator registers images directly inside it only).
//
// Thread safety: functions only.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "protocol/retention_spec.h"

namespace ablate::worker {

struct CheckpointFile {
  int64_t checkpoint_id = 0;
  std::string label;  // RUN/NAME, for logs and reasons
  std::string uri;
  int64_t bytes = 0;  // registered size; 0: unknown (not checked)
};

struct GalleryFileEntry {
  int64_t checkpoint_id = 0;  // the evaluated checkpoint
  std::string label;          // RUN/CHECKPOINT image I, for logs and reasons
  std::string uri;
  int64_t bytes = 0;  // registered size; 0: unknown (not checked)
};

struct RetentionTask {
  std::vector<CheckpointFile> files;
  std::vector<GalleryFileEntry> gallery;
};

// The leased spec's files with their labels. InvalidArgument naming the field for a malformed
// spec (protocol::ParseLeasedRetentionSpec: no "delete" list, an entry without checkpoint_id or
// uri, a "delete_gallery" that is not a list or an entry of it without uri, a field of the wrong
// type).
StatusOr<RetentionTask> ParseRetentionTask(const nlohmann::json& spec);

struct FileDeletion {
  using Result = protocol::DeletionResult;
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

struct GalleryDeletion {
  std::string uri;
  FileDeletion::Result result = FileDeletion::Result::kFailed;
  std::string reason;       // kFailed: why
  int64_t bytes_freed = 0;  // kDeleted: the file's size
};

struct GalleryOutcome {
  std::vector<GalleryDeletion> done;         // in task order; fewer when stopped
  std::vector<std::string> folders_removed;  // empty gallery folders removed afterwards
};

// Deletes the task's gallery images (rules above), given what DeleteCheckpointFiles did with its
// checkpoint files. Asks `may_continue` before each image and before removing folders; stops
// there when it says false (images not reported stay held by the job on the coordinator). An
// image whose checkpoint was not reached is not reported either.
GalleryOutcome DeleteGalleryFiles(const RetentionTask& task,
                                  const std::vector<FileDeletion>& checkpoint_results,
                                  const std::function<bool()>& may_continue);

// "deleted 3 (1.2 MiB), missing 1, failed 1 (run/step...: permission denied)"; with gallery
// images in the task, then "; gallery images: deleted 16 (204.8 KiB), missing 0, failed 0,
// 2 folder(s) removed".
std::string SummarizeDeletions(const RetentionTask& task, const std::vector<FileDeletion>& done,
                               const GalleryOutcome* gallery = nullptr);

}  // namespace ablate::worker
