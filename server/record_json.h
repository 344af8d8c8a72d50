// The JSON vocabulary of Ablate's records: one function per entity, shared by `ablate ... --json`
// (cli/proto_json.h converts the coordinator's answers back to these records first) and the
// dashboard's /api/ (dashboard/views.h), so a run, checkpoint, evaluation, job, leaderboard row
// or sweep prints with the same field names and the same nulls in both. docs/dashboard.md "JSON
// vocabulary" lists the fields; a field added here appears in both.
//
// Conventions:
// - snake_case keys, except the 12 stats, named as everywhere else: AP, AP50, ..., ARl.
// - null means none or unknown: no sweep, no parent, no checkpoint, no worker, no error, a loss
//   or step not recorded, a retention job that did not happen. Never "" or 0 as a stand-in.
// - a stat pycocotools could not score (it writes -1: no ground truth of that size) or a
//   non-finite one is null, never a number to rank or subtract.
// - times are *_unix_ms, sizes *bytes, references to other records by name ("run",
//   "checkpoint") with the record's own numeric "id".
//
// Pure functions of their arguments; safe from any thread. Torch-free and gRPC-free.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/coco_stats.h"
#include "server/job_scheduler.h"
#include "server/job_store.h"
#include "server/leaderboard.h"
#include "server/run_store.h"

namespace ablate::server {

// {"AP": 0.312, ..., "ARl": null}: null for -1 and non-finite values.
nlohmann::json StatsJson(const CocoStats& stats);
// b - a per stat as `delta` carries it; null where a or b has no value.
nlohmann::json StatsDeltaJson(const CocoStats& a, const CocoStats& b, const CocoStats& delta);

// {"iou_type", "score_threshold", "top_k", "nms_iou", "max_dets" (each null when unknown),
//  "dataset", "eval_key"}.
nlohmann::json EvalSettingsJson(const EvalSettings& settings);

// {"id", "name", "sweep", "status", "config" (object), "config_fingerprint", "parent_run",
//  "parent_checkpoint", "created_unix_ms", "updated_unix_ms", "stopped_at_step", "stop_reason"
//  (both null unless the run is stopped)}.
nlohmann::json RunJson(const Run& run);

// A checkpoint's or gallery image's file under retention: "kept", "deleting" (a retention job
// holds it) or "deleted" (the row stays, the file is gone).
std::string FileState(const Checkpoint& checkpoint);
std::string FileState(const GalleryImage& image);
// A gallery's: "kept", "deleting" (a job holds some image), "deleted" (every image) or
// "partly deleted".
std::string GalleryState(const Gallery& gallery);

// {"id", "run", "name", "step", "epoch", "loss" (null: not recorded), "uri", "sha256", "bytes",
//  "pinned", "created_unix_ms", "state" (FileState), "deleted_unix_ms", "deleted_by_job",
//  "deleting_job" (each null while not set)}.
nlohmann::json CheckpointJson(const Checkpoint& checkpoint);

// {"detections", "images", "detections_per_image_mean", "detections_per_image_max",
//  "results_bytes"} (unknown values null); null when the evaluation recorded none.
nlohmann::json OutputsJson(const std::optional<EvaluationOutputs>& outputs);

// {"image_id", "uri", "bytes", "detections", "state" (FileState), "deleted_by_job"}.
nlohmann::json GalleryImageJson(const GalleryImage& image);
// {"dir_uri", "dir" (the path of a file:// URI), "seed", "count", "bytes" (of all images),
//  "state" (GalleryState), "deleted_by_job" (the newest job that deleted images; null: none),
//  "images": [GalleryImageJson...]}; null when there is no gallery.
nlohmann::json GalleryJson(const std::optional<Gallery>& gallery);

// {"id", "run", "checkpoint" (null: the run itself was evaluated), "step" (the checkpoint's step;
//  null when not known to the caller), "iou_type", "eval_key", "settings" (EvalSettingsJson),
//  "stats", "outputs", "created_unix_ms"}; with `detail` also "per_category":
//  [{"category_id", "name", "AP"}] and "gallery" (GalleryJson).
nlohmann::json EvaluationJson(const Evaluation& evaluation, std::optional<int64_t> step,
                              bool detail);

// {"eval_key", "settings", "run_count", "selected"}.
nlohmann::json LeaderboardGroupJson(const LeaderboardGroup& group);
// {"rank", "run" (RunJson), "evaluation" (EvaluationJson without detail; its eval_key names the
//  row's group), "value" (the stat ranked by; null when pycocotools could not score it)}.
nlohmann::json LeaderboardRowJson(const LeaderboardRow& row, std::optional<int64_t> step);

// {"id", "kind", "state", "run", "sweep", "attempts", "max_attempts", "worker", "last_error",
//  "spec", "result" (parsed JSON; null when empty or unreadable), "created_unix_ms",
//  "updated_unix_ms"}.
nlohmann::json JobJson(const Job& job);

// {"id" (null when unknown), "name" (null: the runs in no sweep), "progress": {"total", "queued",
//  "running", "succeeded", "failed", "cancelled", "diverged", "stopped"}, "finished" (succeeded
//  + failed + cancelled + diverged + stopped), "active" (some run queued or running)}.
nlohmann::json SweepJson(std::optional<int64_t> id, const std::string& name,
                         const SweepProgressCounts& progress);

// "/abs/dir" for "file:///abs/dir"; other URIs unchanged.
std::string PathOfUri(const std::string& uri);

}  // namespace ablate::server
