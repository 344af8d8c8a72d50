// Job specs shared by tests of the contract (protocol/) and of the worker that reads it
// (worker/): test data, not part of any library.
#pragma once

#include <nlohmann/json.hpp>

namespace ablate::protocol::testing {

// A train job's spec as the scheduler writes it: a resumed run with overrides and eval settings.
inline nlohmann::json TrainJson() {
  return nlohmann::json::parse(R"({
    "kind": "train", "run": "r1", "preset": "tiny",
    "set": {"conf_loss": "focal", "focal_alpha": 0.25, "batch_size": 8},
    "data": {"train": "/d/train.json", "val": "/d/val.json"},
    "steps": 600, "checkpoint_every": 200, "eval_every": 200,
    "eval": {"score_threshold": 0.005, "top_k": 100, "nms_iou": 0.5, "max_dets": 100},
    "init_checkpoint": null, "reset_optimizer": false,
    "resume_checkpoint": {"name": "step0000200-ep003-loss4.000", "uri": "file:///ck/a.pt"}})");
}

}  // namespace ablate::protocol::testing
