// A sweep specification (YAML, examples in sweeps/) and its validation.
//
// A spec names a base training config, a parameter space (grid lists, paired values,
// conditional parameters, random-search distributions), constraints, a start point, a budget and
// eval settings. ParseSweepSpec validates everything that can be checked without the store:
// every error names the source file, the key path and what is wrong, and the caller stores
// nothing when it fails. Expansion into trials lives in trial_expansion.h.
//
// Thread safety: plain value types and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "protocol/job_spec.h"
#include "sweepspec/early_stop_spec.h"

namespace ablate::sweepspec {

// How a parameter's values are produced.
enum class ParameterKind {
  kValues,      // an explicit list (grid axis; in random search, a uniform choice)
  kUniform,     // random search only: uniform in [low, high]
  kLogUniform,  // random search only: log-uniform in [low, high], low > 0
};

struct ParameterSpec {
  // One key, or several for paired values (`[pos_threshold, neg_threshold]: ...`). Keys are
  // training-config keys, or `eval.score_threshold`, `eval.top_k`, `eval.nms_iou`,
  // `eval.max_dets` to vary the eval settings (re-scoring sweeps).
  std::vector<std::string> keys;
  ParameterKind kind = ParameterKind::kValues;
  // kValues: each entry holds one value per key (same length as `keys`).
  std::vector<std::vector<nlohmann::json>> values;
  double low = 0;   // kUniform / kLogUniform
  double high = 0;  // kUniform / kLogUniform
  // The parameter is set only when every named key currently has one of the listed values
  // (from an earlier parameter or the base config). Empty: always set.
  std::map<std::string, std::vector<nlohmann::json>> when;
  int line = 0;  // 1-based line in the source, for error messages
};

// `lhs op rhs` where each side is a config key or a number, e.g. "neg_threshold < pos_threshold".
struct Constraint {
  std::string text;
  std::string lhs;
  std::string op;  // one of < <= > >= == !=
  std::string rhs;
};

struct Budget {
  int64_t steps = 0;             // training steps per trial; 0 = evaluate start_from only
  int64_t checkpoint_every = 0;  // 0: only the final checkpoint
  int64_t eval_every = 0;        // 0: only the final evaluation
};

// Settings of an evaluation; two evaluations are comparable only when these and the dataset match.
struct EvalSettings {
  double score_threshold = 0.05;
  int top_k = 100;
  double nms_iou = 0.5;
  int max_dets = 100;
};

enum class SearchMode { kGrid, kRandom };

// The most trials one sweep may expand to (grid cells after `when` conditions, before
// constraints; random `trials`). Larger sweeps are refused with an error naming the limit, before
// anything is expanded or stored (docs/sweeps.md, "Limits").
inline constexpr int kMaxTrialsPerSweep = 10000;

struct SweepSpec {
  std::string name;
  std::string preset = "tiny";
  nlohmann::json base_set = nlohmann::json::object();  // flat key -> value training overrides
  std::string train_path;
  std::string val_path;
  // `data.train_images` / `data.val_images`: the image folders (COCO: train2017/, val2017/).
  // Empty: ablate-train's default (next to the annotation file, or its images/ sub-folder).
  std::string train_images_path;
  std::string val_images_path;
  // Empty: from scratch. Otherwise a checkpoint reference: `step1066300`, `RUN/step1066300`,
  // a full name, or `file:PATH` for an imported/pretrained checkpoint.
  std::string start_from;
  Budget budget;
  EvalSettings eval;
  int max_parallel = 1;
  SearchMode search = SearchMode::kGrid;
  uint64_t seed = 0;            // random search
  int trials = 0;               // random search: number of trials
  bool rerun_finished = false;  // run a trial even when an identical config already finished
  std::vector<ParameterSpec> parameters;
  std::vector<Constraint> constraints;
  // `trainer: {command: [...], output: summaries|events, iou: bbox|segm}`: trials run this
  // program instead of ablate-train (issue 14, docs/sweeps.md). The command keeps its `{key}`
  // placeholders here; the coordinator fills them per trial. `data` may then be left out, and
  // base.set/parameters are the program's keys (not checked against ablate-train's).
  std::optional<protocol::TrainerSpec> trainer;

  // nullopt: every trial runs its full budget (docs/sweeps.md "Early stopping").
  std::optional<EarlyStopSpec> early_stop;
};

// One `--set KEY=VALUE` override of any spec key, e.g. `budget.steps=40` or `base.set.lr=0.01`.
// VALUE is read as a YAML scalar or flow collection (`[0.5, 0.4]`).
struct SpecOverride {
  std::string key_path;
  std::string value;
};

// Parses "KEY=VALUE"; InvalidArgument when there is no '=' or the key is empty.
StatusOr<SpecOverride> ParseSpecOverride(const std::string& text);

// Parses and validates a spec. `source_name` (usually the file path) prefixes every error.
// InvalidArgument on malformed YAML, unknown or missing keys, wrong types, empty value lists,
// paired values of the wrong arity, distributions in grid mode, bad ranges, constraints that
// do not parse or name unknown keys, conditions on keys declared later.
StatusOr<SweepSpec> ParseSweepSpec(const std::string& yaml_text, const std::string& source_name,
                                   const std::vector<SpecOverride>& overrides = {});

// The spec's `data` as runs and jobs record it: {"train", "val"} plus "train_images" /
// "val_images" only when set, so specs without image folders keep their fingerprints.
nlohmann::json SweepDataJson(const SweepSpec& spec);

// Reads and parses a file; NotFound when it cannot be read.
StatusOr<SweepSpec> LoadSweepSpecFile(const std::string& path,
                                      const std::vector<SpecOverride>& overrides = {});

}  // namespace ablate::sweepspec
