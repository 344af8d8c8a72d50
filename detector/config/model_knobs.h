// `--set` keys that change the network itself (sweep dimensions inside TrainConfig::model):
//
//   image_size       input size in px, [32, 4096]; anchor scales follow proportionally
//   freeze_bn        true|false: BatchNorm on running statistics, affine parameters frozen
//   backbone_block   basic|bottleneck (ResNet block; deformable convs need bottleneck)
//   backbone_width   planes of the first stage (stages use width * 1, 2, 4, 8), [1, 1024]
//   backbone_layers  blocks per stage, e.g. "2,2,2,2" (4 stages, each >= 1)
//   fpn_features     FPN / protonet / head width, [1, 4096]
//   num_prototypes   prototype count k (protonet output and mask coefficients), [1, 1024]
//   anchor_scale     anchor sizes relative to the reference rule (24, 48, ... px at 550 scaled to
//                    image_size): 1 = reference, 2 = the tiny preset. Sets, never compounds.
//
// Setting a key rebuilds what depends on it (the reference protonet and head layout), so the
// keys can be given in any order. The result is checked by ModelConfig::Validate later (e.g.
// basic blocks with deformable stages), not here.
// Thread safety: functions only.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "detector/config/model_config.h"
#include "nlohmann/json_fwd.hpp"

namespace ablate::detector {

const std::vector<std::string>& ModelKnobKeys();
bool IsModelKnob(const std::string& key);

// InvalidArgument naming the key and value when the value does not parse or is out of range;
// NotFound for a key that is not a model knob.
Status SetModelKnob(ModelConfig& model, const std::string& key, const std::string& value);

// The knob's current value as JSON (number, bool, string or array); null for unknown keys.
nlohmann::json GetModelKnob(const ModelConfig& model, const std::string& key);

}  // namespace ablate::detector
