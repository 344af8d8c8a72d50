#include "protocol/retention_spec.h"

#include <limits>

#include "absl/strings/str_cat.h"

namespace ablate::protocol {
namespace {

using nlohmann::json;

constexpr char kSpec[] = "retention job spec: ";
constexpr char kResult[] = "retention result: ";

// Reads `object[key]` into `out` when present. InvalidArgument "<prefix><where><key> must be
// <what>" for a value of another type.
Status OptionalString(const json& object, const char* key, const char* prefix,
                      const std::string& where, std::string& out) {
  if (!object.contains(key)) return absl::OkStatus();
  if (!object[key].is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(prefix, where, key, " must be a string"));
  }
  out = object[key].get<std::string>();
  return absl::OkStatus();
}

Status OptionalInt64(const json& object, const char* key, const char* prefix,
                     const std::string& where, int64_t& out) {
  if (!object.contains(key)) return absl::OkStatus();
  if (!object[key].is_number_integer()) {
    return absl::InvalidArgumentError(absl::StrCat(prefix, where, key, " must be an integer"));
  }
  out = object[key].get<int64_t>();
  return absl::OkStatus();
}

Status OptionalInt(const json& object, const char* key, const char* prefix,
                   const std::string& where, int& out) {
  int64_t value = out;
  ABLATE_RETURN_IF_ERROR(OptionalInt64(object, key, prefix, where, value));
  if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max()) {
    return absl::InvalidArgumentError(absl::StrCat(prefix, where, key, " is out of range"));
  }
  out = static_cast<int>(value);
  return absl::OkStatus();
}

StatusOr<RetentionScope> ParseScope(const json& j) {
  RetentionScope scope;
  if (!j.is_object())
    return absl::InvalidArgumentError(absl::StrCat(kSpec, "'scope' must be an object"));
  ABLATE_RETURN_IF_ERROR(OptionalString(j, "run", kSpec, "scope.", scope.run));
  ABLATE_RETURN_IF_ERROR(OptionalInt64(j, "run_id", kSpec, "scope.", scope.run_id));
  ABLATE_RETURN_IF_ERROR(OptionalString(j, "sweep", kSpec, "scope.", scope.sweep));
  return scope;
}

StatusOr<RetentionCheckpointFile> ParseCheckpointFile(const json& e, size_t index) {
  const std::string where = absl::StrCat("delete[", index, "]");
  if (!e.is_object() || !e.contains("checkpoint_id") || !e["checkpoint_id"].is_number_integer() ||
      !e.contains("uri") || !e["uri"].is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(kSpec, where, " needs checkpoint_id and uri"));
  }
  RetentionCheckpointFile f;
  f.checkpoint_id = e["checkpoint_id"].get<int64_t>();
  f.uri = e["uri"].get<std::string>();
  const std::string field = where + ".";
  ABLATE_RETURN_IF_ERROR(OptionalString(e, "run", kSpec, field, f.run));
  ABLATE_RETURN_IF_ERROR(OptionalString(e, "name", kSpec, field, f.name));
  ABLATE_RETURN_IF_ERROR(OptionalInt64(e, "bytes", kSpec, field, f.bytes));
  return f;
}

StatusOr<RetentionGalleryFile> ParseGalleryFile(const json& e, size_t index) {
  const std::string where = absl::StrCat("delete_gallery[", index, "]");
  if (!e.is_object() || !e.contains("uri") || !e["uri"].is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(kSpec, where, " needs a uri"));
  }
  RetentionGalleryFile g;
  g.uri = e["uri"].get<std::string>();
  const std::string field = where + ".";
  ABLATE_RETURN_IF_ERROR(OptionalInt64(e, "checkpoint_id", kSpec, field, g.checkpoint_id));
  ABLATE_RETURN_IF_ERROR(OptionalString(e, "run", kSpec, field, g.run));
  ABLATE_RETURN_IF_ERROR(OptionalString(e, "checkpoint", kSpec, field, g.checkpoint));
  ABLATE_RETURN_IF_ERROR(OptionalInt64(e, "image_id", kSpec, field, g.image_id));
  ABLATE_RETURN_IF_ERROR(OptionalInt64(e, "bytes", kSpec, field, g.bytes));
  return g;
}

StatusOr<RetentionFiles> ParseFiles(const json& j) {
  RetentionFiles files;
  if (!j["delete"].is_array()) {
    return absl::InvalidArgumentError(absl::StrCat(kSpec, "'delete' must be a list"));
  }
  size_t index = 0;
  for (const json& e : j["delete"]) {
    ABLATE_ASSIGN_OR_RETURN(RetentionCheckpointFile f, ParseCheckpointFile(e, index++));
    files.checkpoints.push_back(std::move(f));
  }
  if (!j.contains("delete_gallery")) return files;
  if (!j["delete_gallery"].is_array()) {
    return absl::InvalidArgumentError(absl::StrCat(kSpec, "'delete_gallery' must be a list"));
  }
  index = 0;
  for (const json& e : j["delete_gallery"]) {
    ABLATE_ASSIGN_OR_RETURN(RetentionGalleryFile g, ParseGalleryFile(e, index++));
    files.gallery.push_back(std::move(g));
  }
  return files;
}

StatusOr<RetentionFailure> ParseFailure(const json& e, size_t index) {
  const std::string where = absl::StrCat("failures[", index, "]");
  if (!e.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(kResult, where, " must be an object"));
  }
  RetentionFailure f;
  const std::string field = where + ".";
  ABLATE_RETURN_IF_ERROR(OptionalString(e, "checkpoint", kResult, field, f.checkpoint));
  ABLATE_RETURN_IF_ERROR(OptionalString(e, "file", kResult, field, f.file));
  ABLATE_RETURN_IF_ERROR(OptionalString(e, "reason", kResult, field, f.reason));
  if (e.contains("checkpoint") == e.contains("file")) {
    return absl::InvalidArgumentError(
        absl::StrCat(kResult, where, " needs exactly one of checkpoint and file"));
  }
  if (!e.contains("reason")) {
    return absl::InvalidArgumentError(absl::StrCat(kResult, where, " needs a reason"));
  }
  return f;
}

}  // namespace

StatusOr<RetentionSpec> ParseRetentionSpec(const json& j) {
  if (!j.is_object()) return absl::InvalidArgumentError(absl::StrCat(kSpec, "not a JSON object"));
  RetentionSpec spec;
  std::string kind = "retention";
  ABLATE_RETURN_IF_ERROR(OptionalString(j, "kind", kSpec, "", kind));
  if (kind != "retention") {
    return absl::InvalidArgumentError(
        absl::StrCat(kSpec, "kind is '", kind, "', expected 'retention'"));
  }
  if (j.contains("keep_last")) {
    int keep_last = 0;
    ABLATE_RETURN_IF_ERROR(OptionalInt(j, "keep_last", kSpec, "", keep_last));
    if (keep_last < 0) {
      return absl::InvalidArgumentError(absl::StrCat(kSpec, "keep_last must be >= 0"));
    }
    spec.keep_last = keep_last;
  }
  if (j.contains("scope")) {
    ABLATE_ASSIGN_OR_RETURN(spec.scope, ParseScope(j["scope"]));
  }
  if (j.contains("delete")) {
    ABLATE_ASSIGN_OR_RETURN(spec.files, ParseFiles(j));
  } else if (j.contains("delete_gallery")) {
    return absl::InvalidArgumentError(
        absl::StrCat(kSpec, "'delete_gallery' without 'delete' (the lists come together)"));
  }
  return spec;
}

StatusOr<RetentionSpec> ParseLeasedRetentionSpec(const json& j) {
  if (!j.is_object() || !j.contains("delete")) {
    return absl::InvalidArgumentError(absl::StrCat(kSpec, "'delete' must be a list"));
  }
  return ParseRetentionSpec(j);
}

json RetentionSpecToJson(const RetentionSpec& spec) {
  json j = {{"kind", "retention"}};
  if (spec.keep_last) j["keep_last"] = *spec.keep_last;
  if (!spec.scope.run.empty()) j["scope"]["run"] = spec.scope.run;
  if (spec.scope.run_id != 0) j["scope"]["run_id"] = spec.scope.run_id;
  if (!spec.scope.sweep.empty()) j["scope"]["sweep"] = spec.scope.sweep;
  if (!spec.files) return j;
  json checkpoints = json::array();
  for (const RetentionCheckpointFile& f : spec.files->checkpoints) {
    checkpoints.push_back({{"checkpoint_id", f.checkpoint_id},
                           {"run", f.run},
                           {"name", f.name},
                           {"uri", f.uri},
                           {"bytes", f.bytes}});
  }
  j["delete"] = std::move(checkpoints);
  json gallery = json::array();
  for (const RetentionGalleryFile& g : spec.files->gallery) {
    gallery.push_back({{"checkpoint_id", g.checkpoint_id},
                       {"run", g.run},
                       {"checkpoint", g.checkpoint},
                       {"image_id", g.image_id},
                       {"uri", g.uri},
                       {"bytes", g.bytes}});
  }
  j["delete_gallery"] = std::move(gallery);
  return j;
}

StatusOr<RetentionResult> ParseRetentionResult(const json& j) {
  if (!j.is_object()) return absl::InvalidArgumentError(absl::StrCat(kResult, "not a JSON object"));
  RetentionResult r;
  ABLATE_RETURN_IF_ERROR(OptionalInt(j, "deleted", kResult, "", r.deleted));
  ABLATE_RETURN_IF_ERROR(OptionalInt(j, "missing", kResult, "", r.missing));
  ABLATE_RETURN_IF_ERROR(OptionalInt(j, "failed", kResult, "", r.failed));
  ABLATE_RETURN_IF_ERROR(OptionalInt(j, "ignored", kResult, "", r.ignored));
  ABLATE_RETURN_IF_ERROR(OptionalInt64(j, "bytes_freed", kResult, "", r.bytes_freed));
  ABLATE_RETURN_IF_ERROR(OptionalInt(j, "gallery_deleted", kResult, "", r.gallery_deleted));
  ABLATE_RETURN_IF_ERROR(OptionalInt(j, "gallery_missing", kResult, "", r.gallery_missing));
  ABLATE_RETURN_IF_ERROR(OptionalInt(j, "gallery_failed", kResult, "", r.gallery_failed));
  ABLATE_RETURN_IF_ERROR(OptionalInt(j, "gallery_ignored", kResult, "", r.gallery_ignored));
  ABLATE_RETURN_IF_ERROR(
      OptionalInt64(j, "gallery_bytes_freed", kResult, "", r.gallery_bytes_freed));
  if (!j.contains("failures")) return r;
  if (!j["failures"].is_array()) {
    return absl::InvalidArgumentError(absl::StrCat(kResult, "'failures' must be a list"));
  }
  size_t index = 0;
  for (const json& e : j["failures"]) {
    ABLATE_ASSIGN_OR_RETURN(RetentionFailure f, ParseFailure(e, index++));
    r.failures.push_back(std::move(f));
  }
  return r;
}

json RetentionResultToJson(const RetentionResult& r) {
  json failures = json::array();
  for (const RetentionFailure& f : r.failures) {
    if (!f.checkpoint.empty() || f.file.empty()) {
      failures.push_back({{"checkpoint", f.checkpoint}, {"reason", f.reason}});
    } else {
      failures.push_back({{"file", f.file}, {"reason", f.reason}});
    }
  }
  return {{"deleted", r.deleted},
          {"missing", r.missing},
          {"failed", r.failed},
          {"ignored", r.ignored},
          {"bytes_freed", r.bytes_freed},
          {"gallery_deleted", r.gallery_deleted},
          {"gallery_missing", r.gallery_missing},
          {"gallery_failed", r.gallery_failed},
          {"gallery_ignored", r.gallery_ignored},
          {"gallery_bytes_freed", r.gallery_bytes_freed},
          {"failures", std::move(failures)}};
}

}  // namespace ablate::protocol
