// Which checkpoint files retention deletes: the policy, in one place (docs/retention.md).
//
// A checkpoint in scope is KEPT when any of these holds, and is a deletion candidate otherwise:
//   - it is pinned (`ablate pin`);
//   - a run was forked from it or started from it (runs.parent_checkpoint_id), whatever that
//     run's status: the lineage's starting points stay loadable;
//   - an unfinished (pending or leased) job's spec starts from it or evaluates it
//     (init_checkpoint / resume_checkpoint, matched by URI);
//   - it is among the newest `keep_last` checkpoints of its run by step (ties: newer id), counted
//     over the run's checkpoints that still have a file and are not being deleted;
//   - it is the newest such checkpoint of an active run (status running, or a pending or leased
//     train job): a queued retry resumes from it;
//   - it has no stored file (the URI is not file://, e.g. imported from a diary): nothing to
//     delete, and retention never touches paths it did not write.
// Checkpoints already deleted are not part of a plan; checkpoints another retention job holds
// are listed as kept with the reason "being deleted by job N" (that job deletes them).
//
// Galleries (docs/retention.md "Galleries") go with their checkpoint: a candidate's verdict lists
// the gallery files of every evaluation of it (every pass, one entry per distinct file), and the
// plan lists the leftover gallery files of checkpoints deleted earlier (recorded after their
// checkpoint was held, or not deleted by an older worker). A kept checkpoint keeps its galleries.
// A file is never planned while another row naming the same file belongs to an evaluation of a
// kept checkpoint, of no checkpoint, or is held by another job. Evaluation rows are never
// deleted; only files are.
//
// The store has no user-visible alias or tag for a checkpoint beyond its name, which every
// checkpoint has (step%07d-ep%03d-loss%.3f), so "named" cannot mean "keep": pinning is how a
// user names a checkpoint to keep.
//
// Pure logic over a snapshot of the store (RetentionInputs); LoadRetentionInputs reads one.
// Thread safety: functions only; no state.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "server/job_store.h"
#include "server/run_store.h"

namespace ablate::server {

inline constexpr int kDefaultRetentionKeepLast = 2;

struct RetentionOptions {
  int keep_last = kDefaultRetentionKeepLast;  // newest checkpoints kept per run; >= 0
  std::optional<RunId> run;                   // only this run's checkpoints are candidates
  std::string sweep;                          // only checkpoints of this sweep's runs; "": any
};

// Everything the policy looks at, read in one transaction.
struct RetentionInputs {
  std::vector<Run> runs;                   // every run
  std::vector<Checkpoint> checkpoints;     // every checkpoint, deleted ones included
  std::vector<Job> unfinished_jobs;        // pending or leased
  std::vector<GalleryFile> gallery_files;  // every gallery row not deleted yet
};

struct CheckpointVerdict {
  Checkpoint checkpoint;
  bool remove = false;                    // a deletion candidate
  std::vector<std::string> keep_reasons;  // why it is kept; empty exactly when `remove`
  // `remove` only: the gallery files deleted with it, one per distinct uri, in ListGalleryFiles
  // order (the row of the first evaluation naming the file).
  std::vector<GalleryFile> gallery;
  int64_t GalleryBytes() const;
};

struct RetentionPlan {
  int keep_last = 0;
  // Every checkpoint in scope that is not deleted yet, sorted by run id, then step, then id.
  std::vector<CheckpointVerdict> verdicts;
  // Gallery files of checkpoints in scope deleted earlier, one per distinct uri.
  std::vector<GalleryFile> leftover_gallery;
  int to_delete = 0;          // checkpoint files
  int gallery_files = 0;      // gallery files: the candidates' and the leftovers
  int64_t gallery_bytes = 0;  // their registered sizes
  // Registered sizes of the candidates' checkpoint files plus gallery_bytes.
  int64_t bytes_to_free = 0;
};

// InvalidArgument when keep_last < 0.
StatusOr<RetentionPlan> PlanRetention(const RetentionInputs& inputs,
                                      const RetentionOptions& options);

// Reads runs, checkpoints, unfinished jobs and live gallery files in one transaction of `runs`.
StatusOr<RetentionInputs> LoadRetentionInputs(RunStore& runs, JobStore& jobs);

}  // namespace ablate::server
