// Stores the evaluations parsed from a tuning diary (diary/diary_parser.h), each entry in
// its OWN transaction with natural keys: an entry is stored completely or not at all, an entry
// that fails (a conflict with what is stored, a parent checkpoint that cannot be found) is listed
// in `skipped` with its line and reason, and the import goes on with the next entry. Re-importing
// the same file changes nothing.
//
// Natural keys: run name; (run, checkpoint name); (run, checkpoint, eval key).
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

struct DiaryImportSkipped {
  int line = 0;
  std::string reason;  // the store's error message, e.g. "no checkpoint matches 'step0777777'"
};

struct DiaryImportResult {
  std::vector<DiaryImportedEntry> entries;  // stored entries, in input order
  std::vector<DiaryImportSkipped> skipped;  // entries not stored, in input order
  int runs_created = 0;
  int checkpoints_created = 0;
  int evaluations_created = 0;
};

// Never fails as a whole because of one entry: per-entry errors go to `skipped`. An error is
// returned only when the store itself fails (e.g. the disk is full), with the entry's line.
StatusOr<DiaryImportResult> ImportDiary(RunStore& store, const DiaryImport& import);

}  // namespace ablate::server
