#include "server/refs.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ablate::server {
namespace {

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
  });
}

}  // namespace

StatusOr<Run> ResolveRunName(RunReader& store, std::string_view name_or_id) {
  if (name_or_id.empty()) return absl::InvalidArgumentError("run reference is empty");
  auto by_name = store.FindRunByName(name_or_id);
  if (by_name.ok() || !absl::IsNotFound(by_name.status()) || !AllDigits(name_or_id)) {
    return by_name;
  }
  auto by_id = store.GetRun(RunId{std::stoll(std::string(name_or_id))});
  if (absl::IsNotFound(by_id.status())) {
    return absl::NotFoundError(absl::StrCat("run '", std::string(name_or_id),
                                            "' not found (neither a run name nor a run id)"));
  }
  return by_id;
}

StatusOr<Run> ResolveRun(RunReader& store, const RunRef& ref) {
  if (ref.id) return store.GetRun(RunId{*ref.id});
  return ResolveRunName(store, ref.name);
}

StatusOr<Checkpoint> ResolveCheckpointRef(RunReader& store, std::string_view ref) {
  if (ref.empty()) return absl::InvalidArgumentError("checkpoint reference is empty");
  if (ref[0] == '#' && AllDigits(ref.substr(1))) {
    return store.GetCheckpoint(CheckpointId{std::stoll(std::string(ref.substr(1)))});
  }
  std::optional<RunId> run;
  std::string_view name = ref;
  const size_t slash = ref.rfind('/');
  if (slash != std::string_view::npos) {
    ABLATE_ASSIGN_OR_RETURN(Run r, ResolveRunName(store, ref.substr(0, slash)));
    run = r.id;
    name = ref.substr(slash + 1);
    if (name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("checkpoint reference '", std::string(ref), "' has no name after '/'"));
    }
  }
  ABLATE_ASSIGN_OR_RETURN(auto found, store.FindCheckpointsByNamePrefix(name, run));
  std::vector<Checkpoint> candidates;
  for (Checkpoint& c : found) {
    if (c.name.size() == name.size() || c.name[name.size()] == '-' || c.name[name.size()] == '.') {
      candidates.push_back(std::move(c));
    }
  }
  // An exact name in exactly one run wins over longer names that share it as a prefix.
  std::vector<Checkpoint> exact;
  for (const Checkpoint& c : candidates) {
    if (c.name == name) exact.push_back(c);
  }
  if (exact.size() == 1) return exact[0];
  if (candidates.size() == 1) return candidates[0];
  if (candidates.empty()) {
    return absl::NotFoundError(absl::StrCat("no checkpoint matches '", std::string(ref), "'"));
  }
  std::vector<std::string> names;
  for (const Checkpoint& c : candidates) names.push_back(c.run_name + "/" + c.name);
  return absl::FailedPreconditionError(absl::StrCat(
      "checkpoint reference '", std::string(ref), "' is ambiguous: ", candidates.size(),
      " candidates: ", absl::StrJoin(names, ", "),
      "; qualify it as RUN/NAME or use the full name"));
}

Status RequireCheckpointFileKept(const Checkpoint& c) {
  if (c.deleted()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "checkpoint ", c.run_name, "/", c.name, " was deleted by retention job ",
        c.deleted_by_job_id, ": its file is gone (the row is kept for lineage and evaluations)"));
  }
  if (c.deleting_job_id != 0) {
    return absl::FailedPreconditionError(absl::StrCat("checkpoint ", c.run_name, "/", c.name,
                                                      " is being deleted by retention job ",
                                                      c.deleting_job_id));
  }
  return absl::OkStatus();
}

}  // namespace ablate::server
