// The event stream a trial process (`ablate-train run|eval --events`, or a user's trainer with
// `output: events`) writes to its stdout, one JSON object per line, its writer and its parser.
// This is the contract between trial programs and the LibTorch-free worker daemon;
// docs/worker-protocol.md describes it for humans, clients/python/ablate_events.py writes it.
//
// Protocol version 1 (kTrialProtocolVersion). "protocol" in "started" says which version a
// program writes; a started event without it is version 1 (ablate-train before issue 14).
//
//   {"event":"started","protocol":1,"step":S,"total_steps":N,
//    "restored":{"weights":b,"optimizer":b,"schedule":b}}
//   {"event":"metrics","step":S,"values":{"loss":x,"loss_box":x,...,"lr":x,"images_per_s":x}}
//   {"event":"checkpoint","name":"step0000200-ep003-loss4.123","path":P,"step":S,"epoch":E,
//    "loss":x,"sha256":H,"bytes":B}
//   {"event":"evaluation","checkpoint":NAME,"iou_type":"bbox"|"segm","stats":{"AP":x,...12},
//    "per_category":[{"id":I,"name":N,"ap":x}],"dataset_fingerprint":F,
//    "settings":{"score_threshold":x,"top_k":k,"nms_iou":x,"max_dets":m},
//    "detections":D,"images":I,"detections_per_image_max":M,"results_bytes":B,
//    "gallery":{"dir":"/abs/dir","images":[{"image_id":12,"file":"000012.jpg","bytes":B,
//               "detections":D}],"seed":S}}
//     The last five (issue 7) are optional: events of older ablate-train builds lack some or
//     all of them; "gallery" is absent when the gallery is disabled. Both iou-type events of one
//     evaluation carry the same values.
//   {"event":"diverged","step":S,"reason":TEXT,"last_checkpoint":NAME|null}
//   {"event":"finished","status":"succeeded"|"diverged","checkpoint":NAME|null,
//    "images_per_s":x}                                   // images_per_s optional
//
// Lines that are not JSON objects with a known "event" are reported as errors (the worker logs
// and skips them; a trial's library may print to stdout by accident).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/coco_stats.h"
#include "common/status.h"

namespace ablate::protocol {

inline constexpr int64_t kTrialProtocolVersion = 1;

struct StartedEvent {
  int64_t step = 0;
  int64_t total_steps = 0;
  bool restored_weights = false;
  bool restored_optimizer = false;
  bool restored_schedule = false;
  int64_t protocol = kTrialProtocolVersion;  // a version above kTrialProtocolVersion is refused
  // What `--init` loaded (docs/worker-protocol.md: source, format, loaded, reinitialised,
  // missing, unexpected...); null when the run starts without pretrained weights.
  nlohmann::json init = nullptr;
};

struct MetricsEvent {
  int64_t step = 0;
  std::map<std::string, double> values;
};

struct CheckpointEvent {
  std::string name;
  std::string path;
  int64_t step = 0;
  int64_t epoch = 0;
  double loss = 0;
  std::string sha256;
  int64_t bytes = 0;
};

struct CategoryAp {
  int64_t category_id = 0;
  std::string name;
  double ap = -1;
};

// One annotated image of an evaluation's gallery: a JPEG named `file` inside GalleryEvent::dir.
struct GalleryImageEvent {
  int64_t image_id = 0;  // COCO image id
  std::string file;      // a plain file name (no '/'), e.g. "000012.jpg"
  int64_t bytes = 0;
  int64_t detections = 0;  // detections drawn on it
};

// The evaluation's gallery: a fixed, seeded sample of validation images, written by the trial
// on the worker's filesystem (the same images for every run with the same seed).
struct GalleryEvent {
  std::string dir;  // absolute path of the folder holding the files
  std::vector<GalleryImageEvent> images;
  int64_t seed = 0;
};

struct EvaluationEvent {
  std::string checkpoint;
  std::string iou_type;  // "bbox" or "segm"
  CocoStats stats{};
  std::vector<CategoryAp> per_category;
  std::string dataset_fingerprint;
  double score_threshold = 0;
  int top_k = 0;
  double nms_iou = 0;
  int max_dets = 0;
  // Issue 7; nullopt when the event does not carry the field (older ablate-train builds).
  std::optional<int64_t> detections;  // total over the evaluated images
  std::optional<int64_t> images;      // images evaluated
  std::optional<int64_t> detections_per_image_max;
  std::optional<int64_t> results_bytes;  // size of the COCO results file; 0: none written
  std::optional<GalleryEvent> gallery;   // nullopt: gallery disabled
};

struct DivergedEvent {
  int64_t step = 0;
  std::string reason;
  std::optional<std::string> last_checkpoint;
};

struct FinishedEvent {
  std::string status;  // "succeeded" or "diverged"
  std::optional<std::string> checkpoint;
  std::optional<double> images_per_s = std::nullopt;  // training throughput, when measured
};

using TrialEvent = std::variant<StartedEvent, MetricsEvent, CheckpointEvent, EvaluationEvent,
                                DivergedEvent, FinishedEvent>;

// Parses one line. InvalidArgument naming the problem (not JSON, unknown event, missing or
// mistyped field, a stat name missing from "stats", a non-finite metric value, a negative count,
// a gallery dir that is not absolute or a gallery file name that is not a plain name, a
// "protocol" newer than kTrialProtocolVersion).
StatusOr<TrialEvent> ParseTrialEvent(const std::string& line);

// Serialises an event as one line (no trailing newline); ParseTrialEvent(FormatTrialEvent(e))
// gives e back.
std::string FormatTrialEvent(const TrialEvent& event);

// Writes FormatTrialEvent(event) and a newline to stdout and flushes (the worker reads events as
// they come). For trial programs (ablate-train --events).
void EmitTrialEvent(const TrialEvent& event);

}  // namespace ablate::protocol
