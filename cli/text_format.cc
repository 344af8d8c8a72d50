#include "cli/text_format.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/human_bytes.h"
#include "server/proto_convert.h"
#include "server/record_json.h"

namespace ablate::cli {

std::string IouName(v1::IouType t) { return t == v1::IOU_TYPE_SEGM ? "segm" : "bbox"; }

std::string StatusName(v1::RunStatus s) {
  if (s < v1::RUN_STATUS_QUEUED || s > v1::RUN_STATUS_STOPPED) return "unspecified";
  return std::string(server::RunStatusName(server::RunStatusFromProto(s)));
}

std::string RunStatusText(const v1::Run& r) {
  if (r.status() == v1::RUN_STATUS_STOPPED && r.has_stopped_at_step()) {
    return "stopped@" + std::to_string(r.stopped_at_step());
  }
  return StatusName(r.status());
}

std::string SettingsText(const v1::EvalSettings& s) {
  auto num = [](bool has, double v) { return has ? nlohmann::json(v).dump() : std::string("?"); };
  return "score_threshold=" + num(s.has_score_threshold(), s.score_threshold()) +
         " top_k=" + (s.has_top_k() ? std::to_string(s.top_k()) : "?") +
         " nms_iou=" + num(s.has_nms_iou(), s.nms_iou()) +
         " max_dets=" + (s.has_max_dets() ? std::to_string(s.max_dets()) : "?") +
         " dataset=" + s.dataset_fingerprint();
}

std::string CheckpointState(const v1::Checkpoint& c) {
  return server::FileState(server::RecordFromProto(c));
}

std::string CheckpointStateText(const v1::Checkpoint& c) {
  if (c.deleted_unix_ms() != 0)
    return "deleted (job " + std::to_string(c.deleted_by_job_id()) + ")";
  if (c.deleting_job_id() != 0) return "deleting (job " + std::to_string(c.deleting_job_id()) + ")";
  return "kept";
}

std::string GalleryState(const v1::Gallery& g) {
  return server::GalleryState(server::RecordFromProto(g));
}

std::string GalleryStateText(const v1::Gallery& g) {
  const server::Gallery gallery = server::RecordFromProto(g);
  const std::string state = server::GalleryState(gallery);
  if (state == "kept") return state;
  int64_t job = gallery.DeletedByJob();
  if (state == "deleting") {
    for (const auto& i : g.images()) job = std::max(job, i.deleting_job_id());
  }
  return state + " (job " + std::to_string(job) + ")";
}

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string Signed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%+.*f", digits, v);
  return buf;
}

std::string DetectionsTable(const google::protobuf::RepeatedPtrField<v1::Evaluation>& evaluations) {
  Table t({"id", "checkpoint", "iou", "score_threshold", "detections", "per_image_mean",
           "per_image_max", "results", "gallery"});
  for (const auto& e : evaluations) {
    const v1::EvaluationOutputs& o = e.outputs();
    const bool has = e.has_outputs();
    std::string gallery = "-";
    if (e.has_gallery()) {
      gallery = std::to_string(e.gallery().images_size()) + " images in " +
                server::PathOfUri(e.gallery().dir_uri());
      if (GalleryState(e.gallery()) != "kept") gallery += ", " + GalleryStateText(e.gallery());
    }
    t.AddRow(
        {std::to_string(e.id()), e.checkpoint_name().empty() ? "-" : e.checkpoint_name(),
         IouName(e.settings().iou_type()),
         e.settings().has_score_threshold() ? nlohmann::json(e.settings().score_threshold()).dump()
                                            : "?",
         has ? std::to_string(o.detections()) : "-",
         has && o.has_detections_per_image_mean() ? Fixed(o.detections_per_image_mean(), 2) : "-",
         has && o.has_detections_per_image_max() ? std::to_string(o.detections_per_image_max())
                                                 : "-",
         has && o.has_results_bytes() ? HumanBytes(o.results_bytes()) : "-", gallery});
  }
  return t.Render();
}

namespace {

bool LooksNumeric(const std::string& s) {
  if (s.empty()) return false;
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  bool digit = false;
  for (; i < s.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(s[i]))) {
      digit = true;
    } else if (s[i] != '.') {
      return false;
    }
  }
  return digit;
}

// Display width: count UTF-8 code points (good enough for names; CJK counts as 1).
size_t Width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

std::string Table::Render() const {
  std::vector<size_t> widths(headers_.size(), 0);
  std::vector<bool> numeric(headers_.size(), true);
  for (size_t c = 0; c < headers_.size(); ++c) widths[c] = Width(headers_[c]);
  for (const auto& row : rows_) {
    for (size_t c = 0; c < row.size() && c < widths.size(); ++c) {
      widths[c] = std::max(widths[c], Width(row[c]));
      if (!row[c].empty() && row[c] != "-" && !LooksNumeric(row[c])) numeric[c] = false;
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t c = 0; c < widths.size(); ++c) {
      const std::string cell = c < cells.size() ? cells[c] : "";
      const std::string pad(widths[c] - Width(cell), ' ');
      if (c > 0) out += "  ";
      out += numeric[c] ? pad + cell : cell + (c + 1 < widths.size() ? pad : "");
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = line(headers_);
  for (const auto& row : rows_) out += line(row);
  return out;
}

}  // namespace ablate::cli
