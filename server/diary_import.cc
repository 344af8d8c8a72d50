#include "server/diary_import.h"

#include "absl/strings/str_cat.h"
#include "diary/diary_parser.h"
#include "server/refs.h"

namespace ablate::server {
namespace {

// An error of the entry's content (conflict, unknown reference, bad value): skip the entry. Any
// other code is the store failing, which ends the import.
bool IsEntryError(const Status& st) {
  switch (st.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return true;
    default:
      return false;
  }
}

Status AtLine(int line, const Status& st) {
  return Status(st.code(), absl::StrCat("line ", line, ": ", std::string(st.message())));
}

StatusOr<Checkpoint> EnsureCheckpoint(RunStore& store, const Run& run,
                                      const DiaryImportEntry& entry, int* created) {
  ABLATE_ASSIGN_OR_RETURN(auto existing,
                          store.FindCheckpointsByNamePrefix(entry.checkpoint, run.id));
  for (const Checkpoint& c : existing) {
    if (c.name == entry.checkpoint) return c;
  }
  auto parsed = diary::ParseCheckpointName(entry.checkpoint);
  if (!parsed) {
    // A reference such as "step0200000": one of the run's checkpoints.
    return ResolveCheckpointRef(store, run.name + "/" + entry.checkpoint);
  }
  NewCheckpoint nc;
  nc.run = run.id;
  nc.name = parsed->name;
  nc.step = parsed->step;
  nc.epoch = parsed->epoch.value_or(0);
  nc.loss = parsed->loss;
  nc.uri = entry.checkpoint_uri;
  ABLATE_ASSIGN_OR_RETURN(auto c, store.RegisterCheckpoint(nc));
  if (c.created) ++*created;
  return c.value;
}

Status ImportEntry(RunStore& store, const DiaryImport& import, const DiaryImportEntry& entry,
                   DiaryImportResult& result) {
  DiaryImportedEntry out;
  out.line = entry.line;
  if (entry.run_name.empty()) {
    if (entry.checkpoint.empty()) {
      return absl::InvalidArgumentError("entry names neither a run nor a checkpoint");
    }
    ABLATE_ASSIGN_OR_RETURN(Checkpoint c, ResolveCheckpointRef(store, entry.checkpoint));
    ABLATE_ASSIGN_OR_RETURN(out.run, store.GetRun(c.run_id));
    out.checkpoint = std::move(c);
  } else if (entry.new_run) {
    NewRun nr;
    nr.name = entry.run_name;
    nr.sweep = import.sweep;
    nr.config = entry.config;
    nr.status = RunStatus::kSucceeded;  // a diary records finished work
    if (!entry.parent_checkpoint.empty()) {
      ABLATE_ASSIGN_OR_RETURN(Checkpoint parent,
                              ResolveCheckpointRef(store, entry.parent_checkpoint));
      nr.parent_checkpoint = parent.id;
    }
    ABLATE_ASSIGN_OR_RETURN(auto created, store.CreateRun(nr));
    if (created.created) ++result.runs_created;
    out.run = std::move(created.value);
  } else {
    ABLATE_ASSIGN_OR_RETURN(out.run, store.FindRunByName(entry.run_name));
  }
  if (!entry.checkpoint.empty() && !out.checkpoint) {
    ABLATE_ASSIGN_OR_RETURN(out.checkpoint,
                            EnsureCheckpoint(store, out.run, entry, &result.checkpoints_created));
  }
  NewEvaluation ne;
  ne.run = out.run.id;
  if (out.checkpoint) ne.checkpoint = out.checkpoint->id;
  ne.settings = entry.settings;
  ne.stats = entry.stats;
  ABLATE_ASSIGN_OR_RETURN(auto ev, store.RecordEvaluation(ne));
  if (ev.created) ++result.evaluations_created;
  out.evaluation = std::move(ev.value);
  out.evaluation_created = ev.created;
  result.entries.push_back(std::move(out));
  return absl::OkStatus();
}

}  // namespace

StatusOr<DiaryImportResult> ImportDiary(RunStore& store, const DiaryImport& import) {
  DiaryImportResult result;
  for (const DiaryImportEntry& entry : import.entries) {
    DiaryImportResult staged;  // this entry's rows and counts; kept only when it commits
    Status st =
        store.Transact([&]() -> Status { return ImportEntry(store, import, entry, staged); });
    if (IsEntryError(st)) {
      result.skipped.push_back(DiaryImportSkipped{entry.line, std::string(st.message())});
      continue;
    }
    if (!st.ok()) return AtLine(entry.line, st);
    result.runs_created += staged.runs_created;
    result.checkpoints_created += staged.checkpoints_created;
    result.evaluations_created += staged.evaluations_created;
    for (auto& e : staged.entries) result.entries.push_back(std::move(e));
  }
  return result;
}

}  // namespace ablate::server
