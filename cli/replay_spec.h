// `ablate replay`: sweep specs (docs/sweeps.md) that re-run recorded experiments — the runs of an
// imported diary or of a sweep — with their configs and start points.
//
// Pure: no gRPC, no files. replay_command.cc gathers ReplayRun records from the coordinator and
// prints or writes the documents. Every document is checked with the real sweep parser
// (sweepspec::ParseSweepSpec + ExpandTrials) before it is returned.
//
// A sweep has one start point and one training budget, so the runs are grouped: one document per
// (start point, preset, data, eval settings, set of config keys). Keys with the same value in every
// run of a group go to base.set; keys that differ become one paired parameter with one row per run,
// so each document expands to exactly its runs. budget.steps is the longest run of the group;
// when the runs' lengths differ, checkpoint_every = eval_every = their gcd, so every length the
// diary evaluated at is evaluated again.
//
// A trainer (ReplayOptions::trainer, or the one a sweep run was trained with) is written as the
// documents' `trainer:` section; its command's `{key}`s must be keys of every run replayed with
// it, and diary keys keep the diary's own names (the program that wrote the diary reads them).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "protocol/job_spec.h"

namespace ablate::cli {

// One recorded run, as the coordinator has it.
struct ReplayRun {
  std::string name;
  // The stored config: a diary run's recognised keys ({"conf_loss": "ohem", ...}) or a sweep
  // trial's effective config ({"preset", "set", "data", "start_from", "steps", "eval"}).
  nlohmann::json config = nlohmann::json::object();
  std::optional<int64_t> last_checkpoint_step;  // its newest checkpoint's step; nullopt: none
  // The checkpoint it was forked from (empty name: trained from scratch / imported weights).
  std::string parent_run;
  std::string parent_checkpoint;      // name, e.g. "step1066300-ep073-loss5.715"
  std::string parent_checkpoint_uri;  // "file:///..." when the coordinator has the file, or the
                                      // file name a diary wrote ("step...-loss5.715.pdparams")
  int64_t parent_step = 0;
  // Eval settings of its first evaluation (bbox preferred); unset fields use the sweep defaults.
  std::optional<double> score_threshold;
  std::optional<int64_t> top_k;
  std::optional<double> nms_iou;
  std::optional<int64_t> max_dets;
};

struct ReplayOptions {
  std::string name = "replay";  // documents are "<name>" (one) or "<name>-1", "<name>-2", ...
  std::string preset = "tiny";  // for diary runs (sweep runs keep theirs)
  // Data of diary runs (the diary does not record them). nullopt: data/train.json and
  // data/val.json for ablate-train; no `data` section with a trainer (it has its own data).
  std::optional<std::string> train_path;
  std::optional<std::string> val_path;
  // Where a diary's checkpoint files are ("" = the directory `ablate submit` runs in): a fork
  // starts from `file:<checkpoint_dir>/<file name as written in the diary>`.
  std::string checkpoint_dir;
  // Training steps for a run whose length is not recorded (no checkpoint); nullopt: such a run
  // is not replayed and is listed in `skipped`.
  std::optional<int64_t> default_steps;
  // Train every replayed run with this program (`trainer:` in each document). nullopt: a sweep
  // run keeps the trainer it was trained with, if any; other runs use ablate-train (the document
  // carries a commented `# trainer:` placeholder).
  std::optional<protocol::TrainerSpec> trainer;
};

struct ReplayDocument {
  std::string name;
  std::vector<std::string> runs;  // in trial order
  std::string yaml;
};

struct ReplaySkipped {
  std::string run;
  std::string reason;
};

struct ReplayPlan {
  std::vector<ReplayDocument> documents;
  std::vector<ReplaySkipped> skipped;
};

// The diary's config keys in the detector's vocabulary (focal_loss_alpha -> focal_alpha,
// focal_loss_gamma -> focal_gamma, ohem_negpos_ratio -> ohem_neg_pos_ratio); others unchanged.
std::string SweepConfigKey(const std::string& diary_key);

// Splits a command line into words as a POSIX shell does, without any expansion ($VAR, ~ and
// globs stay as written): blanks separate words; '...' is literal; in "...", a backslash escapes
// only $ ` " \ and newline; elsewhere a backslash makes the next character literal.
// InvalidArgument for an unterminated quote, a trailing backslash, or no word at all.
StatusOr<std::vector<std::string>> SplitCommandLine(const std::string& line);

// InvalidArgument when `runs` is empty or no run can be replayed (the message lists why);
// Internal if a document this builds does not parse (a bug).
StatusOr<ReplayPlan> BuildReplayPlan(const std::vector<ReplayRun>& runs,
                                     const ReplayOptions& options);

}  // namespace ablate::cli
