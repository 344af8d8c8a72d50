// Stores the evaluations parsed from a tuning diary (server/diary/diary_parser.h) in ONE
// transaction with natural keys, so that re-importing the same file changes nothing and a
// failure stores nothing.
//
// Natural keys: run name; (run, checkpoint name); (run, checkpoint, eval key). Errors name the
// diary line of the entry that failed ("line 53: ...").
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "server/run_store.h"

namespace ablate::server {

struct DiaryImportEntry {
  int line = 0;
  std::string run_name;  // empty: the run of `checkpoint` (resolved as a reference)
  bool new_run = false;  // create run_name (idempotent) with config and parent
  nlohmann::json config = nlohmann::json::object();
  std::string checkpoint;  // empty: an evaluation of the run itself
  std::string checkpoint_uri;
  std::string parent_checkpoint;  // reference; only for new runs
  EvalSettings settings;
  CocoStats stats{};
};

struct DiaryImport {
  std::string source;  // file name, for messages
  std::string sweep;   // runs created are put in this sweep (empty: none)
  std::vector<DiaryImportEntry> entries;
};

struct DiaryImportedEntry {
  int line = 0;
  Run run;
  std::optional<Checkpoint> checkpoint;
  Evaluation evaluation;
  bool evaluation_created = false;
};

struct DiaryImportResult {
  std::vector<DiaryImportedEntry> entries;  // same order as the input
  int runs_created = 0;
  int checkpoints_created = 0;
  int evaluations_created = 0;
};

StatusOr<DiaryImportResult> ImportDiary(RunStore& store, const DiaryImport& import);

}  // namespace ablate::server
