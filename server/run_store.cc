#include "server/run_store.h"

#include <array>

#include "absl/strings/str_cat.h"

namespace ablate::server {
namespace {

constexpr std::array<std::string_view, 6> kRunStatusNames = {"queued", "running",   "succeeded",
                                                             "failed", "cancelled", "diverged"};

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

}  // namespace ablate::server
