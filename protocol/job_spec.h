// What a leased job tells a worker to do, as stored in jobs.spec_json by the coordinator and
// read by the worker. JSON, so the coordinator and worker never share C++ types beyond this.
//
//   {"kind": "train"|"eval", "run": NAME,
//    "preset": "tiny", "set": {KEY: VALUE, ...},
//    "data": {"train": PATH, "val": PATH,
//             "train_images": DIR, "val_images": DIR},            // image folders: optional
//    "steps": N, "checkpoint_every": N, "eval_every": N,
//    "eval": {"score_threshold": x, "top_k": k, "nms_iou": x, "max_dets": m},
//    "init_checkpoint": {"name": NAME, "uri": URI} | null,   // fork point, or what to evaluate
//    "reset_optimizer": bool,                                  // fork: fresh optimiser/schedule
//    "resume_checkpoint": {"name": NAME, "uri": URI} | null,  // set at lease time: continue here
//    "trainer": {"command": [ARG, ...], "output": "summaries"|"events", "iou": "bbox"|"segm"}}
//                                       // absent or null: ablate-train (docs/sweeps.md, trainer)
//
// URIs are `file:///abs/path` (shared filesystem) in this version. The coordinator builds every
// spec with JobSpecToJson (server/job_scheduler.cc) and the worker reads it with ParseJobSpec.
// Retention jobs have their own spec: protocol/retention_spec.h.
// With a "trainer", "command" is final (its `{key}` placeholders were replaced at submit time),
// "set" is the trial's flat config, and "data", "preset" and "steps" are informational.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace ablate::protocol {

struct CheckpointRef {
  std::string name;
  std::string uri;
};

// A user's training program instead of ablate-train (issue 14).
struct TrainerSpec {
  std::vector<std::string> command;  // argv; run in the trial folder; argv[0] looked up in PATH
  std::string output = "events";     // "events" (docs/worker-protocol.md) or "summaries"
  std::string iou = "bbox";          // summaries: the table type when the text near it does not say
};

struct JobSpec {
  std::string kind = "train";  // "train" or "eval"
  std::string run;
  std::string preset = "tiny";
  nlohmann::json set = nlohmann::json::object();
  std::string train_path;
  std::string val_path;
  std::string train_images_dir;  // empty: ablate-train's default (next to the JSON)
  std::string val_images_dir;
  int64_t steps = 0;
  int64_t checkpoint_every = 0;
  int64_t eval_every = 0;
  double score_threshold = 0.05;
  int top_k = 100;
  double nms_iou = 0.5;
  int max_dets = 100;
  std::optional<CheckpointRef> init_checkpoint;
  bool reset_optimizer = false;
  std::optional<CheckpointRef> resume_checkpoint;
  std::optional<TrainerSpec> trainer;  // nullopt: ablate-train
};

// InvalidArgument naming the field for a malformed spec (unknown kind, eval without a
// checkpoint, missing data paths, a URI that is not file://).
StatusOr<JobSpec> ParseJobSpec(const nlohmann::json& json);
nlohmann::json JobSpecToJson(const JobSpec& spec);

// "file:///a/b" -> "/a/b"; InvalidArgument for other schemes.
StatusOr<std::string> PathFromUri(const std::string& uri);
std::string UriFromPath(const std::string& absolute_path);

// InvalidArgument naming the field for a trainer that is not {command: non-empty list of strings,
// output: summaries|events, iou: bbox|segm} (output and iou may be left out: events, bbox).
StatusOr<TrainerSpec> ParseTrainerSpec(const nlohmann::json& json);
nlohmann::json TrainerSpecToJson(const TrainerSpec& trainer);

// Replaces every `{key}` in the command's arguments by the config's value for `key` (a string
// as it is, anything else as its JSON text: 0.5, true, [1,2]); `{{` and `}}` are a literal brace.
// InvalidArgument naming the argument for an unknown key or an unclosed `{`.
StatusOr<std::vector<std::string>> SubstituteTrainerCommand(const std::vector<std::string>& command,
                                                            const nlohmann::json& config);

}  // namespace ablate::protocol
