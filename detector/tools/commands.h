// The `ablate-train` subcommands. Each registers itself on the app (ablate_train_main.cc only
// calls the Register functions, as the `ablate` CLI does in cli/commands.h) and runs from its
// CLI11 callback, after parsing, leaving the process's exit code in the CommandContext.
// Exit codes: 0 success, 1 reference mismatch, diverged training, or predict wrote no image
// (every input skipped or none found), 2 error (bad arguments, unreadable checkpoint, missing
// --images path, ...; the message on stderr).
#pragma once

#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "detector/config/train_config.h"
#include "detector/evaluate.h"

namespace ablate::detector::tool {

// Options of the app itself; they may follow the subcommand (the app falls through).
struct GlobalFlags {
  int threads = 0;      // intra-op threads; 0: the subcommand's default
  std::string device;   // "cpu" or "cuda:N"; empty: CUDA when available
  bool events = false;  // run/eval: JSON event lines on stdout for the worker
};

// What the subcommands share. It must outlive the app's parse(), which runs the callbacks.
struct CommandContext {
  GlobalFlags global;
  int exit_code = 0;  // set by the subcommand that ran
};

void RegisterShapesCommand(CLI::App& app, CommandContext& ctx);   // shapes_command.cc
void RegisterRunCommand(CLI::App& app, CommandContext& ctx);      // run_command.cc
void RegisterEvalCommand(CLI::App& app, CommandContext& ctx);     // eval_command.cc
void RegisterPredictCommand(CLI::App& app, CommandContext& ctx);  // predict_command.cc
void RegisterReferenceCheckCommand(CLI::App& app,
                                   CommandContext& ctx);  // reference_check_command.cc

// Helpers of the commands (command_util.cc).

// Prints "ablate-train: <status>" to stderr; returns the error exit code 2.
int Fail(const absl::Status& status);

// The start of every subcommand: --device applied before LibTorch touches CUDA ("cpu" hides
// every GPU, "cuda:N" shows only GPU N), `max_dets` checked (only COCO's 100), then the
// intra-op threads set: --threads, else `default_threads`. InvalidArgument for a bad --device
// or max_dets.
absl::Status StartCommand(const GlobalFlags& global, int default_threads, int max_dets = 100);
int NumCores();  // at least 1

// "sha256:<hex>" of a file (the annotation file's fingerprint in evaluation events).
absl::StatusOr<std::string> DatasetFingerprint(const std::string& path);

// The COCO summaries and output counts of an evaluation, on stdout.
void PrintEval(const EvalResult& r);
// A gallery that could not be written, on stderr.
void WarnGallery(const EvalResult& r);

// Detect and evaluation options that run and eval share. Values < 0 (<= 0 for top_k and
// nms_iou) keep the config's.
struct EvalFlags {
  double score_threshold = -1;
  int top_k = -1;
  double nms_iou = -1;
  int max_dets = 100;  // COCO maxDets of the summary; only 100 is supported
  int gallery = 8;     // gallery images per evaluation; 0: none
};
void AddDetectFlags(CLI::App* cmd, EvalFlags& flags);      // --score-threshold, --top-k
void AddEvaluationFlags(CLI::App* cmd, EvalFlags& flags);  // --nms-iou, --max-dets, --gallery
void ApplyDetectFlags(const EvalFlags& flags, TrainConfig* config);

}  // namespace ablate::detector::tool
