#include "worker/trial_runner.h"

#include <signal.h>

#include <chrono>
#include <fstream>
#include <regex>

#include "common/sha256.h"
#include "worker/summary_stream.h"
#include "worker/trainer_command.h"

namespace ablate::worker {
namespace {

// Last few lines of the trial's stderr log, for a crash reason a person can act on.
std::string TailOfLog(const std::filesystem::path& path, size_t max_lines) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    lines.push_back(line);
    if (lines.size() > max_lines) lines.erase(lines.begin());
  }
  std::string out;
  for (const auto& l : lines) out += (out.empty() ? "" : " | ") + l;
  return out;
}

// The step in a checkpoint name ("step0000300-ep002-loss4.1" -> 300); 0 when it has none.
int64_t StepOfCheckpoint(const std::optional<protocol::CheckpointRef>& ref) {
  if (!ref) return 0;
  static const std::regex kStep(R"(^step(\d+))");
  std::smatch m;
  if (!std::regex_search(ref->name, m, kStep)) return 0;
  return std::strtoll(m[1].str().c_str(), nullptr, 10);
}

// What the summaries' evaluations were computed on: the sweep's data.val when this worker can
// read it (the same "sha256:<hex>" ablate-train reports), else a name for it or the program.
std::string SummariesDatasetFingerprint(const JobSpec& spec) {
  if (!spec.val_path.empty()) {
    auto hex = Sha256HexOfFile(spec.val_path);
    if (hex.ok()) return "sha256:" + *hex;
    return "trainer:" + spec.val_path;
  }
  std::string program;
  for (size_t i = 0; i < spec.trainer->command.size() && i < 2; ++i) {
    program += (i ? " " : "") + std::filesystem::path(spec.trainer->command[i]).filename().string();
  }
  return "trainer:" + program;
}

struct TrialCommand {
  ChildProcessOptions child;
  std::optional<SummaryStreamReader> summaries;  // set for `output: summaries`
};

// The child to start: ablate-train, or the job's trainer with its config file and environment.
StatusOr<TrialCommand> BuildCommand(const JobSpec& spec, const TrialRunnerOptions& options,
                                    const std::filesystem::path& log_path) {
  TrialCommand out;
  out.child.stderr_path = log_path;
  if (!spec.trainer) {
    ABLATE_ASSIGN_OR_RETURN(out.child.argv,
                            TrainerArgv(spec, options.trainer_path, options.trial_dir.string(),
                                        options.device, options.threads));
    return out;
  }
  const std::filesystem::path config_path = options.trial_dir / "ablate_trial_config.json";
  {
    std::ofstream config(config_path, std::ios::trunc);
    config << spec.set.dump(2) << "\n";
    if (!config.flush()) return absl::InternalError("cannot write " + config_path.string());
  }
  ABLATE_ASSIGN_OR_RETURN(
      out.child.extra_env,
      TrainerEnvironment(spec, options.trial_dir.string(), config_path.string(), options.device));
  out.child.argv = spec.trainer->command;
  ABLATE_ASSIGN_OR_RETURN(out.child.argv[0],
                          ResolveProgram(out.child.argv[0], options.trial_dir.string()));
  out.child.working_dir = options.trial_dir;
  if (spec.trainer->output == "summaries") {
    SummaryStreamOptions o;
    o.default_iou = spec.trainer->iou;
    o.trial_dir = options.trial_dir;
    o.dataset_fingerprint = SummariesDatasetFingerprint(spec);
    o.score_threshold = spec.score_threshold;
    o.top_k = spec.top_k;
    o.nms_iou = spec.nms_iou;
    out.summaries.emplace(std::move(o));
  }
  return out;
}

}  // namespace

StatusOr<TrialOutcome> RunTrial(const JobSpec& spec, const TrialRunnerOptions& options,
                                TrialSink& sink, const std::atomic<bool>* cancel) {
  std::error_code ec;
  std::filesystem::create_directories(options.trial_dir, ec);
  if (ec) return absl::InternalError("cannot create " + options.trial_dir.string());
  const auto log_path = options.trial_dir / "trial.log";
  auto command = BuildCommand(spec, options, log_path);
  if (!command.ok()) {
    // A trainer that cannot be started on this worker (not installed, not executable) is the
    // trial's failure, reported like a crash: the job is retried, perhaps on another worker.
    if (!spec.trainer) return command.status();
    TrialOutcome failed;
    failed.kind = TrialOutcome::Kind::kCrashed;
    failed.reason = std::string(command.status().message());
    return failed;
  }
  ABLATE_ASSIGN_OR_RETURN(auto child, ChildProcess::Start(command->child));
  std::optional<SummaryStreamReader>& summaries = command->summaries;

  TrialOutcome outcome;
  bool finished_event = false;
  if (summaries) {
    // The program says nothing of where it started: the checkpoint it was handed, else 0.
    StartedEvent started;
    started.step =
        StepOfCheckpoint(spec.resume_checkpoint ? spec.resume_checkpoint : spec.init_checkpoint);
    ABLATE_RETURN_IF_ERROR(sink.OnEvent(started));
  }
  bool cancelling = false;
  auto cancel_deadline = std::chrono::steady_clock::time_point::max();
  while (true) {
    if (cancel != nullptr && cancel->load() && !cancelling) {
      cancelling = true;
      child->Signal(SIGTERM);
      cancel_deadline =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(options.kill_grace_ms);
    }
    if (cancelling && std::chrono::steady_clock::now() > cancel_deadline) child->Signal(SIGKILL);
    auto line = child->ReadLine(std::chrono::milliseconds(200));
    if (!line.ok()) {
      if (line.status().code() == absl::StatusCode::kDeadlineExceeded) continue;
      return line.status();
    }
    if (!line->has_value()) break;  // end of stream
    if (summaries) {
      for (const TrialEvent& event : summaries->OnLine(**line)) {
        Status s = sink.OnEvent(event);
        if (!s.ok()) {
          child->Signal(SIGKILL);
          child->Wait();
          return s;
        }
      }
      continue;
    }
    auto event = ParseTrialEvent(**line);
    if (!event.ok()) {
      std::ofstream(log_path, std::ios::app)
          << "[worker] skipped stdout line: " << event.status().message() << "\n";
      continue;
    }
    if (const auto* f = std::get_if<FinishedEvent>(&*event)) {
      finished_event = true;
      outcome.kind =
          f->status == "diverged" ? TrialOutcome::Kind::kDiverged : TrialOutcome::Kind::kSucceeded;
      outcome.final_checkpoint = f->checkpoint;
    }
    if (const auto* d = std::get_if<DivergedEvent>(&*event)) outcome.reason = d->reason;
    Status s = sink.OnEvent(*event);
    if (!s.ok()) {
      child->Signal(SIGKILL);
      child->Wait();
      return s;
    }
  }
  outcome.exit = child->Wait();
  if (summaries && outcome.exit.ok() && !cancelling) {
    // A clean exit is the end of the program's work; what it printed says whether there was any.
    if (summaries->tables() == 0) {
      outcome.kind = TrialOutcome::Kind::kCrashed;
      outcome.reason =
          "the trainer printed no COCO summarize() table on stdout (trainer.output: summaries)";
    } else {
      outcome.kind = TrialOutcome::Kind::kSucceeded;
      outcome.final_checkpoint = summaries->last_checkpoint();
    }
    return outcome;
  }
  if (cancelling) {
    outcome.kind = TrialOutcome::Kind::kCancelled;
    outcome.reason = "cancelled";
  } else if (!finished_event || !outcome.exit.ok()) {
    outcome.kind = TrialOutcome::Kind::kCrashed;
    outcome.reason = DescribeExit(outcome.exit);
    if (!finished_event && outcome.exit.ok()) outcome.reason = "ended without a 'finished' event";
    if (spec.trainer && !outcome.exit.ok()) outcome.reason = "trainer " + outcome.reason;
    std::string tail = TailOfLog(log_path, 3);
    if (!tail.empty()) outcome.reason += ": " + tail;
  }
  return outcome;
}

}  // namespace ablate::worker
