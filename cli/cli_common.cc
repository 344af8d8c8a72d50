#include "cli/cli_common.h"

#include <algorithm>
#include <cstdio>
#include <iostream>

namespace ablate::cli {

void AddClientFlags(CLI::App* cmd, ClientFlags& flags) {
  cmd->add_option("--server", flags.server, "coordinator HOST:PORT")
      ->envname("ABLATE_SERVER")
      ->capture_default_str();
  cmd->add_flag("--json", flags.json, "print JSON instead of a table");
  cmd->add_option("--token-file", flags.token_file,
                  "file holding this client's access token (default: the token in $ABLATE_TOKEN)")
      ->envname("ABLATE_TOKEN_FILE");
  cmd->add_option("--tls-ca", flags.tls_ca,
                  "PEM CA certificate: talk TLS and verify the coordinator against it")
      ->envname("ABLATE_TLS_CA");
}

CoordinatorClient ConnectOrFail(const ClientFlags& flags) {
  std::vector<std::string> warnings;
  rpc::ClientSecurity security =
      OrFail(rpc::LoadClientSecurity(flags.token_file, flags.tls_ca, &warnings));
  for (const std::string& w : warnings) std::cerr << "warning: " << w << "\n";
  return CoordinatorClient(flags.server, security);
}

void Fail(const Status& status) {
  std::cerr << "error: " << status.message() << "\n";
  throw CLI::RuntimeError(1);
}

v1::RunRef RunRefFromText(const std::string& text) {
  v1::RunRef ref;
  ref.set_name(text);
  return ref;
}

CocoStats StatsFromProto(const v1::CocoStats& p) {
  CocoStats s{};
  const auto* d = p.GetDescriptor();
  const auto* r = p.GetReflection();
  for (int i = 0; i < kNumCocoStats; ++i) s[static_cast<size_t>(i)] = r->GetDouble(p, d->field(i));
  return s;
}

void StatsToProto(const CocoStats& s, v1::CocoStats* p) {
  const auto* d = p->GetDescriptor();
  const auto* r = p->GetReflection();
  for (int i = 0; i < kNumCocoStats; ++i) r->SetDouble(p, d->field(i), s[static_cast<size_t>(i)]);
}

nlohmann::json StatsJson(const v1::CocoStats& p) {
  nlohmann::json j = nlohmann::json::object();
  const CocoStats s = StatsFromProto(p);
  for (int i = 0; i < kNumCocoStats; ++i) {
    j[std::string(kCocoStatNames[static_cast<size_t>(i)])] = s[static_cast<size_t>(i)];
  }
  return j;
}

std::string IouName(v1::IouType t) { return t == v1::IOU_TYPE_SEGM ? "segm" : "bbox"; }

std::string StatusName(v1::RunStatus s) {
  switch (s) {
    case v1::RUN_STATUS_QUEUED:
      return "queued";
    case v1::RUN_STATUS_RUNNING:
      return "running";
    case v1::RUN_STATUS_SUCCEEDED:
      return "succeeded";
    case v1::RUN_STATUS_FAILED:
      return "failed";
    case v1::RUN_STATUS_CANCELLED:
      return "cancelled";
    case v1::RUN_STATUS_DIVERGED:
      return "diverged";
    case v1::RUN_STATUS_STOPPED:
      return "stopped";
    default:
      return "unspecified";
  }
}

std::string RunStatusText(const v1::Run& r) {
  if (r.status() == v1::RUN_STATUS_STOPPED && r.has_stopped_at_step()) {
    return "stopped@" + std::to_string(r.stopped_at_step());
  }
  return StatusName(r.status());
}

nlohmann::json SettingsJson(const v1::EvalSettings& s) {
  nlohmann::json j;
  j["iou_type"] = IouName(s.iou_type());
  j["score_threshold"] = s.has_score_threshold() ? nlohmann::json(s.score_threshold()) : nullptr;
  j["top_k"] = s.has_top_k() ? nlohmann::json(s.top_k()) : nullptr;
  j["nms_iou"] = s.has_nms_iou() ? nlohmann::json(s.nms_iou()) : nullptr;
  j["max_dets"] = s.has_max_dets() ? nlohmann::json(s.max_dets()) : nullptr;
  j["dataset"] = s.dataset_fingerprint();
  return j;
}

std::string SettingsText(const v1::EvalSettings& s) {
  auto num = [](bool has, double v) { return has ? nlohmann::json(v).dump() : std::string("?"); };
  return "score_threshold=" + num(s.has_score_threshold(), s.score_threshold()) +
         " top_k=" + (s.has_top_k() ? std::to_string(s.top_k()) : "?") +
         " nms_iou=" + num(s.has_nms_iou(), s.nms_iou()) +
         " max_dets=" + (s.has_max_dets() ? std::to_string(s.max_dets()) : "?") +
         " dataset=" + s.dataset_fingerprint();
}

nlohmann::json RunJson(const v1::Run& r) {
  nlohmann::json j;
  j["id"] = r.id();
  j["name"] = r.name();
  j["sweep"] = r.sweep().empty() ? nlohmann::json(nullptr) : nlohmann::json(r.sweep());
  j["status"] = StatusName(r.status());
  j["config"] =
      r.config_json().empty() ? nlohmann::json::object() : nlohmann::json::parse(r.config_json());
  j["config_fingerprint"] = r.config_fingerprint();
  j["parent_run"] =
      r.parent_run_name().empty() ? nlohmann::json(nullptr) : nlohmann::json(r.parent_run_name());
  j["parent_checkpoint"] = r.parent_checkpoint_name().empty()
                               ? nlohmann::json(nullptr)
                               : nlohmann::json(r.parent_checkpoint_name());
  j["created_unix_ms"] = r.created_unix_ms();
  const bool stopped = r.status() == v1::RUN_STATUS_STOPPED;
  j["stopped_at_step"] = stopped && r.has_stopped_at_step() ? nlohmann::json(r.stopped_at_step())
                                                            : nlohmann::json(nullptr);
  j["stop_reason"] = stopped ? nlohmann::json(r.stop_reason()) : nlohmann::json(nullptr);
  return j;
}

nlohmann::json CheckpointJson(const v1::Checkpoint& c) {
  nlohmann::json j;
  j["id"] = c.id();
  j["run"] = c.run_name();
  j["name"] = c.name();
  j["step"] = c.step();
  j["epoch"] = c.epoch();
  j["loss"] = c.loss();
  j["uri"] = c.uri();
  j["sha256"] = c.sha256();
  j["bytes"] = c.bytes();
  j["pinned"] = c.pinned();
  j["state"] = CheckpointState(c);
  j["deleted_unix_ms"] = c.deleted_unix_ms() != 0 ? nlohmann::json(c.deleted_unix_ms()) : nullptr;
  j["deleted_by_job"] =
      c.deleted_by_job_id() != 0 ? nlohmann::json(c.deleted_by_job_id()) : nullptr;
  j["deleting_job"] = c.deleting_job_id() != 0 ? nlohmann::json(c.deleting_job_id()) : nullptr;
  return j;
}

std::string CheckpointState(const v1::Checkpoint& c) {
  if (c.deleted_unix_ms() != 0) return "deleted";
  if (c.deleting_job_id() != 0) return "deleting";
  return "kept";
}

std::string CheckpointStateText(const v1::Checkpoint& c) {
  if (c.deleted_unix_ms() != 0)
    return "deleted (job " + std::to_string(c.deleted_by_job_id()) + ")";
  if (c.deleting_job_id() != 0) return "deleting (job " + std::to_string(c.deleting_job_id()) + ")";
  return "kept";
}

std::string Bytes(int64_t bytes) {
  char buf[32];
  if (bytes < 1024) {
    std::snprintf(buf, sizeof(buf), "%lld B", static_cast<long long>(bytes));
  } else if (bytes < (int64_t{1} << 20)) {
    std::snprintf(buf, sizeof(buf), "%.1f KiB", static_cast<double>(bytes) / 1024.0);
  } else if (bytes < (int64_t{1} << 30)) {
    std::snprintf(buf, sizeof(buf), "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  } else {
    std::snprintf(buf, sizeof(buf), "%.2f GiB",
                  static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
  }
  return buf;
}

nlohmann::json EvaluationJson(const v1::Evaluation& e) {
  nlohmann::json j;
  j["id"] = e.id();
  j["run"] = e.run_name();
  j["checkpoint"] =
      e.checkpoint_name().empty() ? nlohmann::json(nullptr) : nlohmann::json(e.checkpoint_name());
  j["iou_type"] = IouName(e.settings().iou_type());
  j["settings"] = SettingsJson(e.settings());
  j["eval_key"] = e.eval_key();
  j["stats"] = StatsJson(e.stats());
  nlohmann::json cats = nlohmann::json::array();
  for (const auto& c : e.per_category()) {
    cats.push_back({{"category_id", c.category_id()}, {"name", c.category_name()}, {"AP", c.ap()}});
  }
  j["per_category"] = cats;
  j["outputs"] = e.has_outputs() ? OutputsJson(e.outputs()) : nlohmann::json(nullptr);
  j["gallery"] = e.has_gallery() ? GalleryJson(e.gallery()) : nlohmann::json(nullptr);
  return j;
}

nlohmann::json OutputsJson(const v1::EvaluationOutputs& o) {
  auto opt = [](bool has, auto v) { return has ? nlohmann::json(v) : nlohmann::json(nullptr); };
  nlohmann::json j;
  j["detections"] = o.detections();
  j["images"] = o.images();
  j["detections_per_image_mean"] =
      opt(o.has_detections_per_image_mean(), o.detections_per_image_mean());
  j["detections_per_image_max"] =
      opt(o.has_detections_per_image_max(), o.detections_per_image_max());
  j["results_bytes"] = opt(o.has_results_bytes(), o.results_bytes());
  return j;
}

namespace {

// The retention job that deleted a gallery's images (the newest); 0: none.
int64_t GalleryDeletedByJob(const v1::Gallery& g) {
  int64_t job = 0;
  for (const auto& i : g.images()) {
    if (i.deleted_unix_ms() != 0) job = std::max(job, i.deleted_by_job_id());
  }
  return job;
}

}  // namespace

std::string GalleryState(const v1::Gallery& g) {
  int deleted = 0;
  bool deleting = false;
  for (const auto& i : g.images()) {
    if (i.deleted_unix_ms() != 0) ++deleted;
    if (i.deleting_job_id() != 0) deleting = true;
  }
  if (deleting) return "deleting";
  if (deleted == 0) return "kept";
  return deleted == g.images_size() ? "deleted" : "partly deleted";
}

std::string GalleryStateText(const v1::Gallery& g) {
  const std::string state = GalleryState(g);
  if (state == "kept") return state;
  int64_t job = GalleryDeletedByJob(g);
  if (state == "deleting") {
    for (const auto& i : g.images()) job = std::max(job, i.deleting_job_id());
  }
  return state + " (job " + std::to_string(job) + ")";
}

nlohmann::json GalleryJson(const v1::Gallery& g) {
  auto job_or_null = [](int64_t job) { return job != 0 ? nlohmann::json(job) : nullptr; };
  nlohmann::json images = nlohmann::json::array();
  for (const auto& i : g.images()) {
    const std::string state = i.deleted_unix_ms() != 0   ? "deleted"
                              : i.deleting_job_id() != 0 ? "deleting"
                                                         : "kept";
    images.push_back({{"image_id", i.image_id()},
                      {"uri", i.uri()},
                      {"bytes", i.bytes()},
                      {"detections", i.detections()},
                      {"state", state},
                      {"deleted_by_job", job_or_null(i.deleted_by_job_id())}});
  }
  return {{"dir_uri", g.dir_uri()},     {"dir", PathOfUri(g.dir_uri())},
          {"seed", g.seed()},           {"count", g.images_size()},
          {"state", GalleryState(g)},   {"deleted_by_job", job_or_null(GalleryDeletedByJob(g))},
          {"images", std::move(images)}};
}

std::string PathOfUri(const std::string& uri) {
  constexpr char kFile[] = "file://";
  return uri.rfind(kFile, 0) == 0 ? uri.substr(sizeof(kFile) - 1) : uri;
}

std::string HumanBytes(int64_t bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double x = static_cast<double>(bytes);
  int i = 0;
  while (x >= 1024 && i < 4) {
    x /= 1024;
    ++i;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, i == 0 ? "%.0f %s" : "%.1f %s", x, units[i]);
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
                PathOfUri(e.gallery().dir_uri());
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
