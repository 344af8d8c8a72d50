#include "detector/config/model_config.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace ablate::detector {
namespace {

using nlohmann::json;

Status Invalid(const std::string& message) { return absl::InvalidArgumentError(message); }

std::vector<NetLayerSpec> ConvStack(int channels, int count, int kernel, int padding) {
  std::vector<NetLayerSpec> out;
  for (int i = 0; i < count; ++i) out.push_back({channels, kernel, 1, padding, false});
  return out;
}

json NetToJson(const std::vector<NetLayerSpec>& net) {
  json out = json::array();
  for (const NetLayerSpec& l : net) {
    if (l.upsample) {
      out.push_back(json::array({nullptr, -2, json::object()}));
    } else {
      json kwargs = json::object();
      if (l.padding != 0) kwargs["padding"] = l.padding;
      if (l.stride != 1) kwargs["stride"] = l.stride;
      out.push_back(json::array({l.out_channels, l.kernel_size, kwargs}));
    }
  }
  return out;
}

StatusOr<std::vector<NetLayerSpec>> NetFromJson(const json& j, const std::string& field) {
  std::vector<NetLayerSpec> net;
  if (!j.is_array()) return Invalid(field + ": expected a list of [out, kernel, {kwargs}]");
  for (const json& e : j) {
    if (!e.is_array() || e.size() < 2) return Invalid(field + ": bad layer " + e.dump());
    NetLayerSpec l;
    if (e[0].is_null() || e[1].get<int>() < 0) {
      if (e[1].get<int>() != -2) return Invalid(field + ": only (None, -2) upsampling supported");
      l.upsample = true;
      l.kernel_size = -2;
    } else {
      l.out_channels = e[0].get<int>();
      l.kernel_size = e[1].get<int>();
      if (e.size() > 2 && e[2].is_object()) {
        for (const auto& [k, v] : e[2].items()) {
          if (k == "padding") {
            l.padding = v.get<int>();
          } else if (k == "stride") {
            l.stride = v.get<int>();
          } else {
            return Invalid(field + ": unsupported conv argument '" + k + "'");
          }
        }
      }
    }
    net.push_back(l);
  }
  return net;
}

}  // namespace

std::vector<NetLayerSpec> ReferenceProtoNet(int channels, int prototypes) {
  std::vector<NetLayerSpec> net = ConvStack(channels, 3, 3, 1);
  net.push_back({0, -2, 1, 0, true});
  net.push_back({channels, 3, 1, 1, false});
  net.push_back({prototypes, 1, 1, 0, false});
  return net;
}

int AnchorLevelSpec::PriorsPerLocation() const {
  int n = 0;
  for (const auto& group : aspect_ratios) n += static_cast<int>(group.size() * scales.size());
  return n;
}

int ModelConfig::NumPrototypes() const {
  return proto_net.empty() ? 0 : proto_net.back().out_channels;
}

int ModelConfig::PriorsPerLocation() const {
  return anchors.empty() ? 0 : anchors.front().PriorsPerLocation();
}

int ModelConfig::StageChannels(int stage) const {
  const int expansion = block == BlockType::kBottleneck ? 4 : 1;
  return base_width * (1 << stage) * expansion;
}

Status ModelConfig::Validate() const {
  if (image_size < 32) return Invalid(absl::StrCat("image_size: must be >= 32, got ", image_size));
  if (num_classes < 2) return Invalid("num_classes: needs background plus at least one class");
  if (layers.empty() || layers.size() > 4) return Invalid("layers: 1 to 4 stages");
  for (int n : layers) {
    if (n < 1) return Invalid("layers: every stage needs at least one block");
  }
  if (dcn_layers.size() != layers.size()) return Invalid("dcn_layers: one entry per stage");
  for (size_t i = 0; i < dcn_layers.size(); ++i) {
    if (dcn_layers[i] < 0 || dcn_layers[i] > layers[i]) {
      return Invalid("dcn_layers: between 0 and the stage's block count");
    }
    if (dcn_layers[i] > 0 && block != BlockType::kBottleneck) {
      return Invalid("dcn_layers: deformable convs need Bottleneck blocks");
    }
  }
  if (dcn_interval < 1) return Invalid("dcn_interval: must be >= 1");
  if (base_width < 1) return Invalid("base_width: must be positive");
  if (selected_layers.empty()) return Invalid("selected_layers: empty");
  for (size_t i = 0; i < selected_layers.size(); ++i) {
    if (selected_layers[i] < 0 || selected_layers[i] >= static_cast<int>(layers.size()) ||
        (i > 0 && selected_layers[i] <= selected_layers[i - 1])) {
      return Invalid("selected_layers: must be increasing backbone stage indices");
    }
  }
  if (fpn_features < 1) return Invalid("fpn_features: must be positive");
  if (fpn_num_downsample < 0) return Invalid("fpn_num_downsample: must be >= 0");
  if (proto_net.empty() || proto_net.back().upsample || NumPrototypes() < 1) {
    return Invalid("proto_net: must end in a conv with the prototype count");
  }
  if (static_cast<int>(anchors.size()) != FpnLevels()) {
    return Invalid(
        absl::StrCat("anchors: ", anchors.size(), " levels given, the FPN has ", FpnLevels()));
  }
  for (const AnchorLevelSpec& level : anchors) {
    if (level.PriorsPerLocation() != PriorsPerLocation() || PriorsPerLocation() == 0) {
      return Invalid("anchors: every level needs the same, non-zero number of priors per location");
    }
    for (double s : level.scales) {
      if (!(s > 0)) return Invalid("anchors: scales must be positive");
    }
    for (const auto& g : level.aspect_ratios) {
      for (double r : g) {
        if (!(r > 0)) return Invalid("anchors: aspect ratios must be positive");
      }
    }
  }
  return absl::OkStatus();
}

std::vector<AnchorLevelSpec> ReferenceAnchors(int image_size, int scales_per_level,
                                              double multiplier) {
  std::vector<AnchorLevelSpec> levels;
  for (double base : {24.0, 48.0, 96.0, 192.0, 384.0}) {
    AnchorLevelSpec level;
    const double s0 = base * multiplier * image_size / 550.0;
    for (int j = 0; j < scales_per_level; ++j) {
      level.scales.push_back(s0 * std::pow(2.0, j / static_cast<double>(scales_per_level)));
    }
    level.aspect_ratios = {{1.0, 0.5, 2.0}};
    levels.push_back(level);
  }
  return levels;
}

StatusOr<ModelConfig> ModelPreset(const std::string& name) {
  ModelConfig c;
  if (name == "tiny") {
    // Sized for 10 minutes of training on 2 CPU cores (docs/detector.md, "Acceptance runs"):
    // 128 px, a width-32 ResNet of Basic blocks [1,1,1,1] (stages 32..256 channels), FPN 32,
    // 16 prototypes, and anchors 3x the reference rule's size: at 128 px the rule's anchors
    // leave small objects without an anchor of IoU >= 0.5 (STACK-NOTES.md); 3x gave twice the AP
    // of 2x at equal steps, Basic/32 beat Bottleneck/16 and 16 prototypes lifted mask AP.
    c.image_size = 128;
    c.num_classes = 5;
    c.block = BlockType::kBasic;
    c.layers = {1, 1, 1, 1};
    c.base_width = 32;
    c.freeze_bn = false;
    c.fpn_features = 32;
    c.proto_net = ReferenceProtoNet(32, 16);
    c.head_extra = {{32, 3, 1, 1, false}};
    c.anchors = ReferenceAnchors(c.image_size, 1, 3.0);
    c.square_anchors = true;
  } else if (name == "r50" || name == "r101" || name == "r50-dcn") {
    c.image_size = 550;
    c.num_classes = 81;
    c.layers = name == "r101" ? std::vector<int>{3, 4, 23, 3} : std::vector<int>{3, 4, 6, 3};
    c.base_width = 64;
    c.freeze_bn = true;
    c.fpn_features = 256;
    c.proto_net = ReferenceProtoNet(256, 32);
    c.head_extra = {{256, 3, 1, 1, false}};
    if (name == "r50-dcn") {
      // YOLACT++ R50-DCN: DCNv2 in the 3x3 conv of every 3rd block of stages 2-4, 3 scales.
      c.dcn_layers = {0, 4, 6, 3};
      c.dcn_interval = 3;
      c.anchors = ReferenceAnchors(c.image_size, 3, 1.0);
      c.square_anchors = false;
      c.maskiou = true;
      c.maskiou_net = {{8, 3, 2, 0, false},
                       {16, 3, 2, 0, false},
                       {32, 3, 2, 0, false},
                       {64, 3, 2, 0, false},
                       {128, 3, 2, 0, false}};
    } else {
      c.anchors = ReferenceAnchors(c.image_size, 1, 1.0);
      c.square_anchors = true;
    }
  } else {
    return absl::NotFoundError("unknown preset '" + name + "' (tiny, r50, r50-dcn, r101)");
  }
  return c;
}

StatusOr<ModelConfig> ModelConfigFromManifest(const nlohmann::json& manifest) {
  try {
    const json& cfg = manifest.at("config");
    ModelConfig c;
    c.image_size = cfg.at("image_size").get<int>();
    c.num_classes = cfg.at("num_classes").get<int>();
    const json& bb = cfg.at("backbone");
    c.layers = bb.at("layers").get<std::vector<int>>();
    c.base_width = bb.at("base_width").get<int>();
    c.selected_layers = bb.at("selected_layers").get<std::vector<int>>();
    const std::string block = bb.value("block", std::string("Bottleneck"));
    c.block = block.rfind("Basic", 0) == 0 ? BlockType::kBasic : BlockType::kBottleneck;
    c.dcn_layers.assign(c.layers.size(), 0);
    c.freeze_bn = true;
    const json& fpn = cfg.at("fpn");
    c.fpn_features = fpn.at("num_features").get<int>();
    c.fpn_num_downsample = fpn.at("num_downsample").get<int>();
    ABLATE_ASSIGN_OR_RETURN(c.proto_net, NetFromJson(cfg.at("proto").at("net"), "proto.net"));
    ABLATE_ASSIGN_OR_RETURN(
        c.head_extra, NetFromJson(cfg.at("head").at("extra_head_net"), "head.extra_head_net"));
    c.semantic_segmentation = cfg.at("semantic_segmentation").at("enabled").get<bool>();
    c.maskiou = cfg.at("maskiou").at("enabled").get<bool>();
    if (c.maskiou) {
      ABLATE_ASSIGN_OR_RETURN(c.maskiou_net,
                              NetFromJson(cfg.at("maskiou").at("net"), "maskiou.net"));
      // The manifest lists the last 1x1 conv to num_classes-1 too; the model adds it itself.
      if (!c.maskiou_net.empty() && c.maskiou_net.back().out_channels == c.num_classes - 1 &&
          c.maskiou_net.back().kernel_size == 1) {
        c.maskiou_net.pop_back();
      }
    }
    const json& anchors = cfg.at("anchors");
    c.square_anchors = anchors.at("use_square_anchors").get<bool>();
    if (!anchors.at("use_pixel_scales").get<bool>() || anchors.at("preapply_sqrt").get<bool>()) {
      return Invalid("anchors: only use_pixel_scales=true, preapply_sqrt=false are supported");
    }
    for (const json& level : anchors.at("levels")) {
      AnchorLevelSpec spec;
      spec.scales = level.at("scales").get<std::vector<double>>();
      spec.aspect_ratios = level.at("aspect_ratios").get<std::vector<std::vector<double>>>();
      c.anchors.push_back(spec);
    }
    ABLATE_RETURN_IF_ERROR(c.Validate());
    return c;
  } catch (const json::exception& e) {
    return Invalid(std::string("manifest config: ") + e.what());
  }
}

json ModelConfigToJson(const ModelConfig& c) {
  json anchors = json::array();
  for (const AnchorLevelSpec& l : c.anchors) {
    anchors.push_back({{"scales", l.scales}, {"aspect_ratios", l.aspect_ratios}});
  }
  return {{"image_size", c.image_size},
          {"num_classes", c.num_classes},
          {"block", c.block == BlockType::kBasic ? "basic" : "bottleneck"},
          {"layers", c.layers},
          {"base_width", c.base_width},
          {"dcn_layers", c.dcn_layers},
          {"dcn_interval", c.dcn_interval},
          {"selected_layers", c.selected_layers},
          {"freeze_bn", c.freeze_bn},
          {"fpn_features", c.fpn_features},
          {"fpn_num_downsample", c.fpn_num_downsample},
          {"proto_net", NetToJson(c.proto_net)},
          {"head_extra", NetToJson(c.head_extra)},
          {"semantic_segmentation", c.semantic_segmentation},
          {"maskiou", c.maskiou},
          {"maskiou_net", NetToJson(c.maskiou_net)},
          {"anchors", anchors},
          {"square_anchors", c.square_anchors}};
}

StatusOr<ModelConfig> ModelConfigFromJson(const nlohmann::json& j) {
  try {
    ModelConfig c;
    c.image_size = j.at("image_size").get<int>();
    c.num_classes = j.at("num_classes").get<int>();
    c.block =
        j.at("block").get<std::string>() == "basic" ? BlockType::kBasic : BlockType::kBottleneck;
    c.layers = j.at("layers").get<std::vector<int>>();
    c.base_width = j.at("base_width").get<int>();
    c.dcn_layers = j.at("dcn_layers").get<std::vector<int>>();
    c.dcn_interval = j.at("dcn_interval").get<int>();
    c.selected_layers = j.at("selected_layers").get<std::vector<int>>();
    c.freeze_bn = j.at("freeze_bn").get<bool>();
    c.fpn_features = j.at("fpn_features").get<int>();
    c.fpn_num_downsample = j.at("fpn_num_downsample").get<int>();
    ABLATE_ASSIGN_OR_RETURN(c.proto_net, NetFromJson(j.at("proto_net"), "proto_net"));
    ABLATE_ASSIGN_OR_RETURN(c.head_extra, NetFromJson(j.at("head_extra"), "head_extra"));
    c.semantic_segmentation = j.at("semantic_segmentation").get<bool>();
    c.maskiou = j.at("maskiou").get<bool>();
    ABLATE_ASSIGN_OR_RETURN(c.maskiou_net, NetFromJson(j.at("maskiou_net"), "maskiou_net"));
    for (const json& l : j.at("anchors")) {
      c.anchors.push_back({l.at("scales").get<std::vector<double>>(),
                           l.at("aspect_ratios").get<std::vector<std::vector<double>>>()});
    }
    c.square_anchors = j.at("square_anchors").get<bool>();
    return c;
  } catch (const json::exception& e) {
    return Invalid(std::string("model config JSON: ") + e.what());
  }
}

}  // namespace ablate::detector
