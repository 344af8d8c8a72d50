// The retention job's contract between the coordinator and the worker (docs/retention.md),
// defined once: the spec the coordinator stores when it queues a retention job and completes at
// lease time with the files to delete, the result of each file the worker reports, and the totals
// the coordinator keeps as the job's result.
//
// The spec: queued (jobs.spec_json) without the two lists; leased (LeaseJob) with them.
//   {"kind": "retention", "keep_last": K,
//    "scope": {"run": NAME, "run_id": N, "sweep": NAME},  // keys optional; no scope: every run
//    "delete": [{"checkpoint_id": N, "run": RUN, "name": NAME, "uri": "file:///abs/path",
//                "bytes": B}, ...],
//    "delete_gallery": [{"checkpoint_id": N, "run": RUN, "checkpoint": NAME, "image_id": I,
//                        "uri": "file:///abs/dir/000012.jpg", "bytes": B}, ...]}
// The coordinator builds it with RetentionSpecToJson (server/retention_scheduler.cc); the worker
// reads it with ParseLeasedRetentionSpec (worker/retention_task.cc) and deletes exactly the
// listed files. "delete_gallery" is optional (a coordinator from before gallery retention sends
// none). URIs are not checked here: a URI that is not file:///absolute is the worker's per-file
// failure, not a malformed spec.
//
// The per-file report travels in CompleteJobRequest (proto/ablate/v1/scheduler.proto,
// CheckpointDeletion and GalleryFileDeletion) with one DeletionResult per file.
//
// The result (jobs.result_json), added up over the job's attempts by the coordinator and shown by
// `ablate jobs`:
//   {"deleted": N, "missing": N, "failed": N, "ignored": N, "bytes_freed": B,
//    "gallery_deleted": N, "gallery_missing": N, "gallery_failed": N, "gallery_ignored": N,
//    "gallery_bytes_freed": B,
//    "failures": [{"checkpoint": "RUN/NAME", "reason": TEXT} | {"file": URI, "reason": TEXT}]}
//
// Thread safety: plain values and functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace ablate::protocol {

// What became of one listed file.
enum class DeletionResult {
  kDeleted,  // the worker removed it
  kMissing,  // already gone (e.g. removed by an attempt that died before reporting)
  kFailed,   // left in place; the report says why
};

// Which checkpoints the plan looks at. Empty: every run.
struct RetentionScope {
  std::string run;     // the run's name, for people reading the spec; "": no run
  int64_t run_id = 0;  // the run the plan is limited to; 0: none
  std::string sweep;   // only this sweep's runs; "": any
  bool empty() const { return run.empty() && run_id == 0 && sweep.empty(); }
  friend bool operator==(const RetentionScope&, const RetentionScope&) = default;
};

// One checkpoint file to delete ("delete").
struct RetentionCheckpointFile {
  int64_t checkpoint_id = 0;  // required
  std::string run;            // run name, for logs
  std::string name;           // checkpoint name, for logs
  std::string uri;            // required; file:///abs/path
  int64_t bytes = 0;          // registered size; 0: unknown (not checked)
  friend bool operator==(const RetentionCheckpointFile&, const RetentionCheckpointFile&) = default;
};

// One gallery image to delete ("delete_gallery"): a file of an evaluation of a checkpoint.
struct RetentionGalleryFile {
  int64_t checkpoint_id = 0;  // the evaluated checkpoint; 0: none
  std::string run;            // run name, for logs
  std::string checkpoint;     // checkpoint name, for logs
  int64_t image_id = 0;       // COCO image id, for logs
  std::string uri;            // required; file:///abs/dir/NNNNNN.jpg
  int64_t bytes = 0;          // registered size; 0: unknown (not checked)
  friend bool operator==(const RetentionGalleryFile&, const RetentionGalleryFile&) = default;
};

// The files a leased retention job deletes, checkpoint files first.
struct RetentionFiles {
  std::vector<RetentionCheckpointFile> checkpoints;  // "delete"
  std::vector<RetentionGalleryFile> gallery;         // "delete_gallery", one entry per file
  friend bool operator==(const RetentionFiles&, const RetentionFiles&) = default;
};

struct RetentionSpec {
  std::optional<int> keep_last;  // newest checkpoints kept per run; nullopt: the coordinator's
                                 // default (`ablate server --retention-keep-last`)
  RetentionScope scope;
  std::optional<RetentionFiles> files;  // nullopt: as queued (the lease adds them)
  friend bool operator==(const RetentionSpec&, const RetentionSpec&) = default;
};

// Reads a spec as queued or as leased. InvalidArgument naming the field, prefixed "retention job
// spec: ", for: a kind other than "retention", keep_last not an integer >= 0, a scope that is not
// an object or has a key of the wrong type, a "delete" or "delete_gallery" that is not a list, an
// entry without checkpoint_id and uri (checkpoints) or uri (gallery), an entry field of the wrong
// type. Absent optional fields take the defaults above; unknown keys are ignored.
StatusOr<RetentionSpec> ParseRetentionSpec(const nlohmann::json& json);
// As ParseRetentionSpec, and the files are required ("'delete' must be a list"): what a worker
// accepts.
StatusOr<RetentionSpec> ParseLeasedRetentionSpec(const nlohmann::json& json);
// "kind", "keep_last" when set, "scope" with its set keys when not empty, and with `files` both
// lists (empty ones included).
nlohmann::json RetentionSpecToJson(const RetentionSpec& spec);

// A file retention could not delete, named by "checkpoint" (RUN/NAME) or "file" (a gallery URI).
struct RetentionFailure {
  std::string checkpoint;  // "RUN/NAME"; "" for a gallery file
  std::string file;        // gallery image URI; "" for a checkpoint
  std::string reason;
  friend bool operator==(const RetentionFailure&, const RetentionFailure&) = default;
};

// A retention job's result: counts over every attempt (see the header comment).
struct RetentionResult {
  int deleted = 0;          // checkpoint files removed
  int missing = 0;          // checkpoint files already gone
  int failed = 0;           // checkpoint files left in place
  int ignored = 0;          // reported checkpoints the job did not hold
  int64_t bytes_freed = 0;  // checkpoint and gallery files together
  int gallery_deleted = 0;  // gallery images, counted per file
  int gallery_missing = 0;
  int gallery_failed = 0;
  int gallery_ignored = 0;
  int64_t gallery_bytes_freed = 0;  // gallery images alone
  std::vector<RetentionFailure> failures;
  friend bool operator==(const RetentionResult&, const RetentionResult&) = default;
};

// Absent counts are 0 (a job with no attempt yet has the result {}). InvalidArgument naming the
// field, prefixed "retention result: ", for a count that is not an integer, a "failures" that is
// not a list, or a failure without a reason or without exactly one of checkpoint / file.
StatusOr<RetentionResult> ParseRetentionResult(const nlohmann::json& json);
// Every count and "failures", always.
nlohmann::json RetentionResultToJson(const RetentionResult& result);

}  // namespace ablate::protocol
