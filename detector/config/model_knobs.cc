#include "detector/config/model_knobs.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "detector/config/parse_value.h"
#include "nlohmann/json.hpp"

namespace ablate::detector {
namespace {

using config_internal::BadValue;
using config_internal::ParseBool;
using config_internal::ParseInt;
using config_internal::ParseIntList;
using nlohmann::json;

// The first level's first scale under the reference rule with multiplier 1.
double ReferenceFirstScale(int image_size) { return 24.0 * image_size / 550.0; }

StatusOr<int> IntInRange(const std::string& key, const std::string& value, int min, int max) {
  ABLATE_ASSIGN_OR_RETURN(int v, ParseInt(key, value));
  if (v < min || v > max)
    return BadValue(key, value, absl::StrCat("an integer in [", min, ", ", max, "]"));
  return v;
}

}  // namespace

const std::vector<std::string>& ModelKnobKeys() {
  static const auto* keys = new std::vector<std::string>{
      "anchor_scale", "backbone_block", "backbone_layers", "backbone_width",
      "fpn_features", "freeze_bn",      "image_size",      "num_prototypes"};
  return *keys;
}

bool IsModelKnob(const std::string& key) {
  const auto& keys = ModelKnobKeys();
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

Status SetModelKnob(ModelConfig& m, const std::string& key, const std::string& value) {
  if (key == "image_size") {
    ABLATE_ASSIGN_OR_RETURN(int s, IntInRange(key, value, 32, 4096));
    // Anchor scales are pixels at image_size: keep them proportional.
    for (AnchorLevelSpec& level : m.anchors) {
      for (double& scale : level.scales) scale = scale * s / m.image_size;
    }
    m.image_size = s;
  } else if (key == "freeze_bn") {
    ABLATE_ASSIGN_OR_RETURN(m.freeze_bn, ParseBool(key, value));
  } else if (key == "backbone_block") {
    if (value == "basic") {
      m.block = BlockType::kBasic;
    } else if (value == "bottleneck") {
      m.block = BlockType::kBottleneck;
    } else {
      return BadValue(key, value, "basic or bottleneck");
    }
  } else if (key == "backbone_width") {
    ABLATE_ASSIGN_OR_RETURN(m.base_width, IntInRange(key, value, 1, 1024));
  } else if (key == "backbone_layers") {
    ABLATE_ASSIGN_OR_RETURN(std::vector<int> layers, ParseIntList(key, value));
    if (layers.size() != 4 || *std::min_element(layers.begin(), layers.end()) < 1) {
      return BadValue(key, value, "4 comma-separated block counts, each >= 1");
    }
    m.layers = layers;
    m.dcn_layers.resize(layers.size(), 0);
    for (size_t i = 0; i < layers.size(); ++i)
      m.dcn_layers[i] = std::min(m.dcn_layers[i], layers[i]);
  } else if (key == "fpn_features") {
    ABLATE_ASSIGN_OR_RETURN(int f, IntInRange(key, value, 1, 4096));
    m.fpn_features = f;
    m.proto_net = ReferenceProtoNet(f, m.NumPrototypes());
    for (NetLayerSpec& layer : m.head_extra) {
      if (!layer.upsample) layer.out_channels = f;
    }
  } else if (key == "num_prototypes") {
    ABLATE_ASSIGN_OR_RETURN(int k, IntInRange(key, value, 1, 1024));
    if (m.proto_net.empty()) return BadValue(key, value, "a model with a protonet");
    m.proto_net.back().out_channels = k;
  } else if (key == "anchor_scale") {
    ABLATE_ASSIGN_OR_RETURN(double s, config_internal::ParseDouble(key, value));
    if (!(s > 0) || s > 100) return BadValue(key, value, "a number in (0, 100]");
    if (m.anchors.empty() || m.anchors[0].scales.empty()) {
      return BadValue(key, value, "a model with anchors");
    }
    const double factor = s * ReferenceFirstScale(m.image_size) / m.anchors[0].scales[0];
    for (AnchorLevelSpec& level : m.anchors) {
      for (double& scale : level.scales) scale *= factor;
    }
  } else {
    return absl::NotFoundError("not a model knob: " + key);
  }
  return absl::OkStatus();
}

json GetModelKnob(const ModelConfig& m, const std::string& key) {
  if (key == "image_size") return m.image_size;
  if (key == "freeze_bn") return m.freeze_bn;
  if (key == "backbone_block") return m.block == BlockType::kBasic ? "basic" : "bottleneck";
  if (key == "backbone_width") return m.base_width;
  if (key == "backbone_layers") return m.layers;
  if (key == "fpn_features") return m.fpn_features;
  if (key == "num_prototypes") return m.NumPrototypes();
  if (key == "anchor_scale") {
    if (m.anchors.empty() || m.anchors[0].scales.empty()) return nullptr;
    return m.anchors[0].scales[0] / ReferenceFirstScale(m.image_size);
  }
  return nullptr;
}

}  // namespace ablate::detector
