#include "server/run_store.h"

#include <algorithm>
#include <array>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace ablate::server {
namespace {

constexpr std::array<std::string_view, 7> kRunStatusNames = {
    "queued", "running", "succeeded", "failed", "cancelled", "diverged", "stopped"};

std::string FormatOptDouble(const std::optional<double>& v) {
  return v ? nlohmann::json(*v).dump() : "?";
}
std::string FormatOptInt(const std::optional<int64_t>& v) { return v ? std::to_string(*v) : "?"; }

}  // namespace

std::string_view RunStatusName(RunStatus status) {
  return kRunStatusNames[static_cast<size_t>(status)];
}

std::optional<RunStatus> ParseRunStatus(std::string_view name) {
  for (size_t i = 0; i < kRunStatusNames.size(); ++i) {
    if (kRunStatusNames[i] == name) return static_cast<RunStatus>(i);
  }
  return std::nullopt;
}

std::string_view IouTypeName(IouType type) { return type == IouType::kBbox ? "bbox" : "segm"; }

std::optional<IouType> ParseIouType(std::string_view name) {
  if (name == "bbox") return IouType::kBbox;
  if (name == "segm") return IouType::kSegm;
  return std::nullopt;
}

std::string EvalKey(const EvalSettings& s) {
  return absl::StrCat(std::string(IouTypeName(s.iou_type)),
                      "|score_threshold=", FormatOptDouble(s.score_threshold),
                      "|top_k=", FormatOptInt(s.top_k), "|nms_iou=", FormatOptDouble(s.nms_iou),
                      "|max_dets=", FormatOptInt(s.max_dets), "|dataset=", s.dataset_fingerprint);
}

std::vector<std::string> EvalSettingsDifferences(const EvalSettings& a, const EvalSettings& b) {
  std::vector<std::string> out;
  auto add = [&](std::string_view field, const std::string& x, const std::string& y) {
    if (x != y) out.push_back(absl::StrCat(std::string(field), " ", x, " vs ", y));
  };
  add("iou_type", std::string(IouTypeName(a.iou_type)), std::string(IouTypeName(b.iou_type)));
  add("score_threshold", FormatOptDouble(a.score_threshold), FormatOptDouble(b.score_threshold));
  add("top_k", FormatOptInt(a.top_k), FormatOptInt(b.top_k));
  add("nms_iou", FormatOptDouble(a.nms_iou), FormatOptDouble(b.nms_iou));
  add("max_dets", FormatOptInt(a.max_dets), FormatOptInt(b.max_dets));
  add("dataset", a.dataset_fingerprint, b.dataset_fingerprint);
  return out;
}

std::optional<double> EvaluationOutputs::DetectionsPerImageMean() const {
  if (images <= 0) return std::nullopt;
  return static_cast<double>(detections) / static_cast<double>(images);
}

bool Gallery::AllDeleted() const {
  if (images.empty()) return false;
  for (const GalleryImage& image : images) {
    if (!image.deleted()) return false;
  }
  return true;
}

int64_t Gallery::DeletedByJob() const {
  int64_t job = 0;
  for (const GalleryImage& image : images) {
    if (image.deleted()) job = std::max(job, image.deleted_by_job_id);
  }
  return job;
}

Status ValidateEvaluationOutputs(const EvaluationOutputs& o) {
  const std::pair<const char*, int64_t> fields[] = {
      {"detections", o.detections},
      {"images", o.images},
      {"detections_per_image_max", o.detections_per_image_max.value_or(0)},
      {"results_bytes", o.results_bytes.value_or(0)}};
  for (const auto& [name, value] : fields) {
    if (value < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("evaluation outputs: ", name, " is negative (", value, ")"));
    }
  }
  if (o.detections_per_image_max.value_or(0) > o.detections) {
    return absl::InvalidArgumentError(
        absl::StrCat("evaluation outputs: detections_per_image_max ", *o.detections_per_image_max,
                     " exceeds the total of ", o.detections, " detections"));
  }
  if (o.images == 0 && o.detections > 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("evaluation outputs: ", o.detections, " detections on 0 images"));
  }
  return absl::OkStatus();
}

Status ValidateGallery(const Gallery& g) {
  constexpr char kFile[] = "file:///";
  constexpr size_t kFileLength = sizeof(kFile) - 1;
  if (!absl::StartsWith(g.dir_uri, kFile)) {
    return absl::InvalidArgumentError(
        absl::StrCat("gallery: dir uri '", g.dir_uri, "' is not file:///absolute/path"));
  }
  if (absl::StrContains(g.dir_uri + "/", "/../") || absl::StrContains(g.dir_uri + "/", "/./")) {
    return absl::InvalidArgumentError(
        absl::StrCat("gallery: dir uri '", g.dir_uri, "' has a '.' or '..' component"));
  }
  std::string dir = g.dir_uri;
  while (dir.size() > kFileLength && dir.back() == '/') dir.pop_back();
  std::set<int64_t> ids;
  for (const GalleryImage& image : g.images) {
    if (!ids.insert(image.image_id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("gallery: image_id ", image.image_id, " is listed twice"));
    }
    const std::string prefix = dir.back() == '/' ? dir : dir + "/";
    const std::string name =
        absl::StartsWith(image.uri, prefix) ? image.uri.substr(prefix.size()) : std::string();
    const std::string lower = absl::AsciiStrToLower(name);
    if (name.empty() || name.find('/') != std::string::npos ||
        name.find('\\') != std::string::npos || name == "." || name == ".." ||
        name.find('\0') != std::string::npos ||
        !(absl::EndsWith(lower, ".jpg") || absl::EndsWith(lower, ".jpeg"))) {
      return absl::InvalidArgumentError(
          absl::StrCat("gallery: image ", image.image_id, " uri '", image.uri,
                       "' is not a .jpg/.jpeg file directly inside ", g.dir_uri));
    }
    if (image.bytes < 0 || image.detections < 0) {
      return absl::InvalidArgumentError(absl::StrCat("gallery: image ", image.image_id,
                                                     " has a negative size or detection count"));
    }
  }
  return absl::OkStatus();
}

Status ValidateRunName(const std::string& name) {
  if (name.size() > kMaxRunNameBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "run name of ", name.size(), " bytes is longer than the limit of ", kMaxRunNameBytes));
  }
  if (name == "." || name == ".." ||
      name.find_first_of(std::string("/\\\0", 3)) != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "run name '", absl::CHexEscape(name),
        "' is not a plain name (it becomes a folder name: no '/', '\\', NUL, '.' or '..')"));
  }
  return absl::OkStatus();
}

Status ValidateCheckpointUri(const std::string& uri) {
  if (!absl::StartsWith(uri, "file:")) return absl::OkStatus();
  if (!absl::StartsWith(uri, "file:///")) {
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoint uri '", absl::CHexEscape(uri), "' is not file:///absolute/path"));
  }
  const std::string path = uri.substr(7) + "/";
  if (absl::StrContains(path, "/../") || absl::StrContains(path, "/./") ||
      uri.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint uri '", absl::CHexEscape(uri),
                                                   "' has a '.' or '..' component or a NUL"));
  }
  return absl::OkStatus();
}

}  // namespace ablate::server
