#include "protocol/trial_events.h"

#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string_view>

#include "common/json_limits.h"

namespace ablate::protocol {
namespace {

using nlohmann::json;

Status Missing(const std::string& event, const std::string& field, const char* type) {
  return absl::InvalidArgumentError("trial event '" + event + "': field '" + field +
                                    "' missing or not " + type);
}

StatusOr<int64_t> Int(const json& j, const std::string& event, const std::string& field) {
  if (!j.contains(field) || !j[field].is_number_integer()) {
    return Missing(event, field, "an integer");
  }
  return j[field].get<int64_t>();
}

StatusOr<double> Number(const json& j, const std::string& event, const std::string& field) {
  if (!j.contains(field) || !j[field].is_number()) return Missing(event, field, "a number");
  return j[field].get<double>();
}

StatusOr<std::string> String(const json& j, const std::string& event, const std::string& field) {
  if (!j.contains(field) || !j[field].is_string()) return Missing(event, field, "a string");
  return j[field].get<std::string>();
}

StatusOr<std::optional<std::string>> OptionalString(const json& j, const std::string& event,
                                                    const std::string& field) {
  if (!j.contains(field) || j[field].is_null()) return std::optional<std::string>();
  if (!j[field].is_string()) return Missing(event, field, "a string or null");
  return std::optional<std::string>(j[field].get<std::string>());
}

// An optional non-negative integer field: nullopt when absent or null.
StatusOr<std::optional<int64_t>> OptionalCount(const json& j, const std::string& event,
                                               const std::string& field) {
  if (!j.contains(field) || j[field].is_null()) return std::optional<int64_t>();
  if (!j[field].is_number_integer() || j[field].get<int64_t>() < 0) {
    return Missing(event, field, "a non-negative integer");
  }
  return std::optional<int64_t>(j[field].get<int64_t>());
}

StatusOr<int64_t> Count(const json& j, const std::string& event, const std::string& field) {
  ABLATE_ASSIGN_OR_RETURN(std::optional<int64_t> v, OptionalCount(j, event, field));
  if (!v) return Missing(event, field, "a non-negative integer");
  return *v;
}

StatusOr<GalleryEvent> ParseGallery(const json& g) {
  const std::string ev = "evaluation";
  if (!g.is_object()) return Missing(ev, "gallery", "an object");
  GalleryEvent out;
  ABLATE_ASSIGN_OR_RETURN(out.dir, String(g, ev, "dir"));
  if (out.dir.empty() || out.dir[0] != '/') {
    return absl::InvalidArgumentError("trial event 'evaluation': gallery dir '" + out.dir +
                                      "' is not an absolute path");
  }
  ABLATE_ASSIGN_OR_RETURN(out.seed, Int(g, ev, "seed"));
  if (!g.contains("images") || !g["images"].is_array()) {
    return Missing(ev, "gallery.images", "an array");
  }
  for (const json& i : g["images"]) {
    if (!i.is_object()) return Missing(ev, "gallery.images[]", "an object");
    GalleryImageEvent image;
    ABLATE_ASSIGN_OR_RETURN(image.image_id, Int(i, ev, "image_id"));
    ABLATE_ASSIGN_OR_RETURN(image.file, String(i, ev, "file"));
    if (image.file.empty() || image.file == "." || image.file == ".." ||
        image.file.find('/') != std::string::npos || image.file.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError("trial event 'evaluation': gallery file '" + image.file +
                                        "' is not a plain file name");
    }
    ABLATE_ASSIGN_OR_RETURN(image.bytes, Count(i, ev, "bytes"));
    ABLATE_ASSIGN_OR_RETURN(image.detections, Count(i, ev, "detections"));
    out.images.push_back(std::move(image));
  }
  return out;
}

StatusOr<TrialEvent> ParseEvaluation(const json& j) {
  const std::string ev = "evaluation";
  EvaluationEvent e;
  ABLATE_ASSIGN_OR_RETURN(e.checkpoint, String(j, ev, "checkpoint"));
  ABLATE_ASSIGN_OR_RETURN(e.iou_type, String(j, ev, "iou_type"));
  if (e.iou_type != "bbox" && e.iou_type != "segm") {
    return absl::InvalidArgumentError(
        "trial event 'evaluation': iou_type must be bbox or segm, "
        "got '" +
        e.iou_type + "'");
  }
  if (!j.contains("stats") || !j["stats"].is_object()) return Missing(ev, "stats", "an object");
  for (int i = 0; i < kNumCocoStats; ++i) {
    ABLATE_ASSIGN_OR_RETURN(e.stats[i], Number(j["stats"], ev, std::string(kCocoStatNames[i])));
  }
  if (j.contains("per_category")) {
    if (!j["per_category"].is_array()) return Missing(ev, "per_category", "an array");
    for (const auto& c : j["per_category"]) {
      CategoryAp cat;
      ABLATE_ASSIGN_OR_RETURN(cat.category_id, Int(c, ev, "id"));
      ABLATE_ASSIGN_OR_RETURN(cat.ap, Number(c, ev, "ap"));
      if (c.contains("name") && c["name"].is_string()) cat.name = c["name"];
      e.per_category.push_back(std::move(cat));
    }
  }
  ABLATE_ASSIGN_OR_RETURN(e.dataset_fingerprint, String(j, ev, "dataset_fingerprint"));
  if (!j.contains("settings") || !j["settings"].is_object()) {
    return Missing(ev, "settings", "an object");
  }
  const json& s = j["settings"];
  ABLATE_ASSIGN_OR_RETURN(e.score_threshold, Number(s, ev, "score_threshold"));
  ABLATE_ASSIGN_OR_RETURN(int64_t top_k, Int(s, ev, "top_k"));
  ABLATE_ASSIGN_OR_RETURN(e.nms_iou, Number(s, ev, "nms_iou"));
  ABLATE_ASSIGN_OR_RETURN(int64_t max_dets, Int(s, ev, "max_dets"));
  e.top_k = static_cast<int>(top_k);
  e.max_dets = static_cast<int>(max_dets);
  ABLATE_ASSIGN_OR_RETURN(e.detections, OptionalCount(j, ev, "detections"));
  ABLATE_ASSIGN_OR_RETURN(e.images, OptionalCount(j, ev, "images"));
  ABLATE_ASSIGN_OR_RETURN(e.detections_per_image_max,
                          OptionalCount(j, ev, "detections_per_image_max"));
  ABLATE_ASSIGN_OR_RETURN(e.results_bytes, OptionalCount(j, ev, "results_bytes"));
  if (j.contains("gallery") && !j["gallery"].is_null()) {
    ABLATE_ASSIGN_OR_RETURN(e.gallery, ParseGallery(j["gallery"]));
  }
  return e;
}

}  // namespace

StatusOr<TrialEvent> ParseTrialEvent(const std::string& line) {
  auto parsed = ParseUntrustedJson(line, "trial event");
  if (!parsed.ok() && parsed.status().message().find("nests deeper") != std::string_view::npos) {
    return parsed.status();
  }
  json j = parsed.ok() ? std::move(*parsed) : json();
  if (!parsed.ok() || !j.is_object()) {
    return absl::InvalidArgumentError("not a trial event (not a JSON object): " +
                                      line.substr(0, 120));
  }
  if (!j.contains("event") || !j["event"].is_string()) {
    return absl::InvalidArgumentError("trial event without an \"event\" name: " +
                                      line.substr(0, 120));
  }
  const std::string ev = j["event"];
  if (ev == "started") {
    StartedEvent e;
    if (j.contains("protocol")) {
      ABLATE_ASSIGN_OR_RETURN(e.protocol, Int(j, ev, "protocol"));
      if (e.protocol < 1 || e.protocol > kTrialProtocolVersion) {
        return absl::InvalidArgumentError("trial event 'started': protocol " +
                                          std::to_string(e.protocol) +
                                          " is not supported (this worker reads version 1 to " +
                                          std::to_string(kTrialProtocolVersion) + ")");
      }
    }
    ABLATE_ASSIGN_OR_RETURN(e.step, Int(j, ev, "step"));
    ABLATE_ASSIGN_OR_RETURN(e.total_steps, Int(j, ev, "total_steps"));
    if (j.contains("restored") && j["restored"].is_object()) {
      e.restored_weights = j["restored"].value("weights", false);
      e.restored_optimizer = j["restored"].value("optimizer", false);
      e.restored_schedule = j["restored"].value("schedule", false);
    }
    if (j.contains("init") && j["init"].is_object()) e.init = j["init"];
    return e;
  }
  if (ev == "metrics") {
    MetricsEvent e;
    ABLATE_ASSIGN_OR_RETURN(e.step, Int(j, ev, "step"));
    if (!j.contains("values") || !j["values"].is_object()) {
      return Missing(ev, "values", "an object");
    }
    for (const auto& [key, value] : j["values"].items()) {
      if (!value.is_number() || !std::isfinite(value.get<double>())) {
        return absl::InvalidArgumentError("trial event 'metrics': value of '" + key +
                                          "' is not a finite number");
      }
      e.values[key] = value.get<double>();
    }
    return e;
  }
  if (ev == "checkpoint") {
    CheckpointEvent e;
    ABLATE_ASSIGN_OR_RETURN(e.name, String(j, ev, "name"));
    ABLATE_ASSIGN_OR_RETURN(e.path, String(j, ev, "path"));
    ABLATE_ASSIGN_OR_RETURN(e.step, Int(j, ev, "step"));
    ABLATE_ASSIGN_OR_RETURN(e.epoch, Int(j, ev, "epoch"));
    ABLATE_ASSIGN_OR_RETURN(e.loss, Number(j, ev, "loss"));
    ABLATE_ASSIGN_OR_RETURN(e.sha256, String(j, ev, "sha256"));
    ABLATE_ASSIGN_OR_RETURN(e.bytes, Int(j, ev, "bytes"));
    return e;
  }
  if (ev == "evaluation") return ParseEvaluation(j);
  if (ev == "diverged") {
    DivergedEvent e;
    ABLATE_ASSIGN_OR_RETURN(e.step, Int(j, ev, "step"));
    ABLATE_ASSIGN_OR_RETURN(e.reason, String(j, ev, "reason"));
    ABLATE_ASSIGN_OR_RETURN(e.last_checkpoint, OptionalString(j, ev, "last_checkpoint"));
    return e;
  }
  if (ev == "finished") {
    FinishedEvent e;
    ABLATE_ASSIGN_OR_RETURN(e.status, String(j, ev, "status"));
    ABLATE_ASSIGN_OR_RETURN(e.checkpoint, OptionalString(j, ev, "checkpoint"));
    if (j.contains("images_per_s") && !j["images_per_s"].is_null()) {
      ABLATE_ASSIGN_OR_RETURN(e.images_per_s, Number(j, ev, "images_per_s"));
    }
    return e;
  }
  return absl::InvalidArgumentError("unknown trial event '" + ev + "'");
}

std::string FormatTrialEvent(const TrialEvent& event) {
  auto opt = [](const std::optional<std::string>& s) { return s ? json(*s) : json(nullptr); };
  json j = std::visit(
      [&](const auto& e) -> json {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, StartedEvent>) {
          json started = {{"event", "started"},
                          {"protocol", e.protocol},
                          {"step", e.step},
                          {"total_steps", e.total_steps},
                          {"restored",
                           {{"weights", e.restored_weights},
                            {"optimizer", e.restored_optimizer},
                            {"schedule", e.restored_schedule}}}};
          if (e.init.is_object()) started["init"] = e.init;
          return started;
        } else if constexpr (std::is_same_v<T, MetricsEvent>) {
          return {{"event", "metrics"}, {"step", e.step}, {"values", e.values}};
        } else if constexpr (std::is_same_v<T, CheckpointEvent>) {
          return {{"event", "checkpoint"}, {"name", e.name},   {"path", e.path},
                  {"step", e.step},        {"epoch", e.epoch}, {"loss", e.loss},
                  {"sha256", e.sha256},    {"bytes", e.bytes}};
        } else if constexpr (std::is_same_v<T, EvaluationEvent>) {
          json stats = json::object();
          for (int i = 0; i < kNumCocoStats; ++i)
            stats[std::string(kCocoStatNames[i])] = e.stats[i];
          json cats = json::array();
          for (const auto& c : e.per_category) {
            cats.push_back({{"id", c.category_id}, {"name", c.name}, {"ap", c.ap}});
          }
          json out = {{"event", "evaluation"},
                      {"checkpoint", e.checkpoint},
                      {"iou_type", e.iou_type},
                      {"stats", stats},
                      {"per_category", cats},
                      {"dataset_fingerprint", e.dataset_fingerprint},
                      {"settings",
                       {{"score_threshold", e.score_threshold},
                        {"top_k", e.top_k},
                        {"nms_iou", e.nms_iou},
                        {"max_dets", e.max_dets}}}};
          if (e.detections) out["detections"] = *e.detections;
          if (e.images) out["images"] = *e.images;
          if (e.detections_per_image_max) {
            out["detections_per_image_max"] = *e.detections_per_image_max;
          }
          if (e.results_bytes) out["results_bytes"] = *e.results_bytes;
          if (e.gallery) {
            json images = json::array();
            for (const auto& i : e.gallery->images) {
              images.push_back({{"image_id", i.image_id},
                                {"file", i.file},
                                {"bytes", i.bytes},
                                {"detections", i.detections}});
            }
            out["gallery"] = {
                {"dir", e.gallery->dir}, {"images", images}, {"seed", e.gallery->seed}};
          }
          return out;
        } else if constexpr (std::is_same_v<T, DivergedEvent>) {
          return {{"event", "diverged"},
                  {"step", e.step},
                  {"reason", e.reason},
                  {"last_checkpoint", opt(e.last_checkpoint)}};
        } else {
          json out = {
              {"event", "finished"}, {"status", e.status}, {"checkpoint", opt(e.checkpoint)}};
          if (e.images_per_s) out["images_per_s"] = *e.images_per_s;
          return out;
        }
      },
      event);
  return j.dump();
}

void EmitTrialEvent(const TrialEvent& event) {
  std::cout << FormatTrialEvent(event) << "\n" << std::flush;
}

}  // namespace ablate::protocol
