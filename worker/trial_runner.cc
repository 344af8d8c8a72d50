#include "worker/trial_runner.h"

#include <signal.h>

#include <chrono>
#include <fstream>

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

}  // namespace

StatusOr<TrialOutcome> RunTrial(const JobSpec& spec, const TrialRunnerOptions& options,
                                TrialSink& sink, const std::atomic<bool>* cancel) {
  std::error_code ec;
  std::filesystem::create_directories(options.trial_dir, ec);
  if (ec) return absl::InternalError("cannot create " + options.trial_dir.string());
  const auto log_path = options.trial_dir / "trial.log";
  ABLATE_ASSIGN_OR_RETURN(
      auto argv, TrainerArgv(spec, options.trainer_path, options.trial_dir.string(), options.device,
                             options.threads));
  ABLATE_ASSIGN_OR_RETURN(auto child, ChildProcess::Start({argv, log_path, {}}));

  TrialOutcome outcome;
  bool finished_event = false;
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
  if (cancelling) {
    outcome.kind = TrialOutcome::Kind::kCancelled;
    outcome.reason = "cancelled";
  } else if (!finished_event || !outcome.exit.ok()) {
    outcome.kind = TrialOutcome::Kind::kCrashed;
    outcome.reason = DescribeExit(outcome.exit);
    if (!finished_event && outcome.exit.ok()) outcome.reason = "ended without a 'finished' event";
    std::string tail = TailOfLog(log_path, 3);
    if (!tail.empty()) outcome.reason += ": " + tail;
  }
  return outcome;
}

}  // namespace ablate::worker
