// Structural description of a YOLACT / YOLACT++ network: everything needed to build the module
// tree and the prior boxes. Torch-free, so the coordinator can validate sweeps without LibTorch.
//
// Names follow the reference implementation (github.com/dbolya/yolact) and the fidelity vectors in
// ../shared/yolact-vectors (see their manifest.json "config" section, which ModelConfigFromManifest
// reads). Sizes are in pixels of the network input unless a field says otherwise.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "nlohmann/json_fwd.hpp"

namespace ablate::detector {

// One entry of a reference "make_net" list: a conv (+ ReLU) or, with upsample set, a bilinear x2
// upsampling (+ ReLU). The reference writes the upsampling as (None, -2, {}).
struct NetLayerSpec {
  int out_channels = 0;  // conv output channels; ignored for upsampling
  int kernel_size = 3;
  int stride = 1;
  int padding = 0;
  bool upsample = false;
};

// Prior boxes of one FPN level. Every (aspect-ratio group, scale, ratio) triple makes one prior per
// location, in that nesting order.
struct AnchorLevelSpec {
  std::vector<double> scales;                      // pixels at image_size
  std::vector<std::vector<double>> aspect_ratios;  // groups of w/h ratios (sqrt applied later)
  int PriorsPerLocation() const;
};

enum class BlockType { kBottleneck, kBasic };

struct ModelConfig {
  int image_size = 550;  // S: the training/eval resize target; prior sizes are scale / S
  int num_classes = 81;  // including background (class 0)

  // Backbone: ResNet with stage planes base_width * (1, 2, 4, 8); Bottleneck expands x4.
  BlockType block = BlockType::kBottleneck;
  std::vector<int> layers = {3, 4, 6, 3};
  int base_width = 64;
  // Number of trailing blocks per stage whose 3x3 conv is deformable (DCNv2); YOLACT++ uses
  // {0, 4, 6, 3} with dcn_interval 3 (DCNv2 from LibTorch ops, detector/dcn.h).
  std::vector<int> dcn_layers = {0, 0, 0, 0};
  int dcn_interval = 1;
  std::vector<int> selected_layers = {1, 2, 3};  // backbone stages fed to the FPN (C3, C4, C5)
  // Frozen BatchNorm uses running statistics in train mode too and does not train its affine
  // parameters (the reference with a pretrained backbone). Off for training from scratch.
  bool freeze_bn = true;

  // FPN.
  int fpn_features = 256;
  int fpn_num_downsample = 2;  // extra stride-2 levels (P6, P7)

  // Protonet (on P3), head and optional heads.
  std::vector<NetLayerSpec> proto_net;   // the last entry's out_channels = number of prototypes
  std::vector<NetLayerSpec> head_extra;  // "extra_head_net" (upfeature), ReLU after every layer
  bool semantic_segmentation = true;
  bool maskiou = false;
  std::vector<NetLayerSpec> maskiou_net;  // without the last 1x1 conv to num_classes-1

  // Anchors: one spec per prediction level (P3..P7); every level must have the same number of
  // priors per location (the head is shared).
  std::vector<AnchorLevelSpec> anchors;
  bool square_anchors = false;  // YOLACT v1: h = w

  int NumPrototypes() const;
  int FpnLevels() const { return static_cast<int>(selected_layers.size()) + fpn_num_downsample; }
  int PriorsPerLocation() const;
  // Output channels of backbone stage i (0-based).
  int StageChannels(int stage) const;

  // Checks internal consistency (positive sizes, shared priors per location, ...). InvalidArgument
  // naming the field otherwise.
  Status Validate() const;
};

// The "reference rule" anchor scales for a given input size: base * size / 550 per level, with
// `scales_per_level` scales base * 2^(i/scales_per_level) (YOLACT++) or one scale (v1).
std::vector<AnchorLevelSpec> ReferenceAnchors(int image_size, int scales_per_level,
                                              double multiplier);

// The reference protonet layout: 3 x (3x3, channels), upsample x2, 3x3 channels, 1x1 prototypes.
std::vector<NetLayerSpec> ReferenceProtoNet(int channels, int prototypes);

// Named model presets: "tiny" (128 px, width-16 ResNet [1,1,1,1], FPN 32, 8 prototypes),
// "r50", "r101" (YOLACT v1, 550 px), "r50-dcn" (YOLACT++ layout; needs DCN, not implemented).
StatusOr<ModelConfig> ModelPreset(const std::string& name);

// Reads the "config" object of a yolact-vectors manifest.json (format "yolact-vectors/1").
StatusOr<ModelConfig> ModelConfigFromManifest(const nlohmann::json& manifest);

nlohmann::json ModelConfigToJson(const ModelConfig& config);
StatusOr<ModelConfig> ModelConfigFromJson(const nlohmann::json& json);

}  // namespace ablate::detector
