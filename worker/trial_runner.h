// Runs one job as a child process — `ablate-train`, or the job's own trainer (issue 14) — and
// forwards its events. A trainer runs in the trial folder with the environment of
// worker/trainer_command.h and its config in <trial folder>/ablate_trial_config.json; with
// `output: summaries` its stdout is read by worker/summary_stream.h (a clean exit without a
// summary table is a failure: "the trainer printed no COCO summarize() table ..."), with
// `output: events` exactly as ablate-train's. A trainer that cannot be found on this worker ends
// as kCrashed (retried), not as an error.
//
// The runner owns the child for the duration of RunTrial: it starts it, hands every parsed
// event to the sink in order, and classifies how it ended. A malformed stdout line is logged to
// the trial's stderr log and skipped. Cancellation (the `cancel` flag) sends SIGTERM, then
// SIGKILL after `kill_grace_ms`.
//
// Thread safety: RunTrial may run on several threads at once (one per slot) with different
// sinks; the sink is called only from the calling thread.
#pragma once

#include <atomic>
#include <filesystem>
#include <optional>
#include <string>

#include "common/status.h"
#include "protocol/job_spec.h"
#include "protocol/trial_events.h"
#include "worker/child_process.h"

namespace ablate::worker {

// The worker reads the contracts of protocol/ (job spec, trial events) under their own names.
using protocol::CheckpointEvent;
using protocol::DivergedEvent;
using protocol::EvaluationEvent;
using protocol::FinishedEvent;
using protocol::GalleryImageEvent;
using protocol::JobSpec;
using protocol::MetricsEvent;
using protocol::ParseJobSpec;
using protocol::ParseTrialEvent;
using protocol::PathFromUri;
using protocol::StartedEvent;
using protocol::TrialEvent;
using protocol::UriFromPath;

// Receives a trial's events as they arrive. A non-OK return stops the trial (the child is
// killed) and RunTrial returns that status: e.g. the coordinator rejected a write permanently.
class TrialSink {
 public:
  virtual ~TrialSink() = default;
  virtual Status OnEvent(const TrialEvent& event) = 0;
};

struct TrialRunnerOptions {
  std::string trainer_path;         // the ablate-train binary
  std::filesystem::path trial_dir;  // checkpoints and log for this trial (created)
  std::string device = "cpu";       // "cpu" or "cuda:N"
  int threads = 0;                  // intra-op threads of the trial; 0: ablate-train's default
  int64_t kill_grace_ms = 5000;     // SIGTERM -> SIGKILL delay on cancellation
};

struct TrialOutcome {
  enum class Kind { kSucceeded, kDiverged, kCrashed, kCancelled };
  Kind kind = Kind::kCrashed;
  std::string reason;  // for kCrashed: "killed by signal 9 (SIGKILL)", "exited with code 2: ..."
  std::optional<std::string> final_checkpoint;
  ExitStatus exit;
};

// Runs the job to its end. Returns an outcome for every way the child can end (crashes
// included); a non-OK status only when the child could not be started or the sink failed.
StatusOr<TrialOutcome> RunTrial(const JobSpec& spec, const TrialRunnerOptions& options,
                                TrialSink& sink, const std::atomic<bool>* cancel);

}  // namespace ablate::worker
