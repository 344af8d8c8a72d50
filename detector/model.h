// YOLACT / YOLACT++ network in LibTorch, built from a ModelConfig. Module and parameter names
// follow the reference state-dict layout (backbone.layers.{i}.{j}.conv2.weight, fpn.lat_layers.0 =
// the coarsest level, proto_net.10, prediction_layers.0.bbox_layer, semantic_seg_conv,
// maskiou_net.maskiou_net.{i}) so that reference weights load by name (weights.h).
//
// Thread safety: a module is not safe for concurrent forward calls with gradients; use one per
// thread or guard it.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>

#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "common/mutex.h"
#include "detector/config/model_config.h"

namespace ablate::detector {

// Everything one forward pass produces. Shapes: B images, P priors, C classes incl. background,
// k prototypes, (h, w) the prototype size (1/4 of the input).
struct YolactOutput {
  torch::Tensor loc;         // [B,P,4] raw box regression (cx, cy, w, h offsets; variances 0.1/0.2)
  torch::Tensor conf;        // [B,P,C] raw class logits; class 0 = background
  torch::Tensor mask_coeff;  // [B,P,k] after tanh
  torch::Tensor proto;       // [B,h,w,k] after ReLU, channels last
  torch::Tensor segm;        // [B,C-1,h3,w3] semantic logits on P3; undefined unless requested
  torch::Tensor priors;      // [P,4] (cx, cy, w, h) relative to the image, float32
  std::vector<torch::Tensor> backbone;  // C2..C5 stage outputs (all stages)
  std::vector<torch::Tensor> fpn;       // P3..P7
};

// Prior boxes for the given per-level feature sizes (rows, cols), P3 first. Computed in double and
// rounded to float32 once, row-major over (j, i), then aspect-ratio group, scale, ratio, exactly as
// the reference make_priors with use_pixel_scales and no preapply_sqrt. Sizes are divided by
// config.image_size.
torch::Tensor MakePriors(const ModelConfig& config,
                         const std::vector<std::pair<int64_t, int64_t>>& level_sizes);

// bn(conv(x)) for a convolution without bias. When the BatchNorm uses its running statistics (eval
// mode, or frozen BN in training) it is an affine map per channel, so it is folded into the
// convolution: conv(x, W * s) + (beta - mean * s) with s = gamma / sqrt(var + eps). That saves the
// BatchNorm's pass over the activation forward and backward (and the activation it keeps for
// backward); gradients still reach x and W (and gamma / beta when they train). Equal to
// bn(conv(x)) up to float rounding. In training mode (batch statistics) it is bn(conv(x)).
torch::Tensor ConvBn(torch::nn::Conv2dImpl& conv, torch::nn::BatchNorm2dImpl& bn,
                     const torch::Tensor& x);

// A residual block (Bottleneck or Basic); forward(x) -> y.
class ResBlockImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor x) = 0;
};

class BackboneImpl : public torch::nn::Module {
 public:
  explicit BackboneImpl(const ModelConfig& config);
  // Returns every stage's output (C2..C5 for four stages).
  std::vector<torch::Tensor> forward(torch::Tensor x);

 private:
  torch::nn::ModuleList layers_{nullptr};
  std::vector<std::vector<std::shared_ptr<ResBlockImpl>>> blocks_;
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr};
};
TORCH_MODULE(Backbone);

class FpnImpl : public torch::nn::Module {
 public:
  FpnImpl(const std::vector<int>& in_channels, int features, int num_downsample);
  // `inputs` finest first (C3, C4, C5); returns P3..P(5+num_downsample).
  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs);

 private:
  torch::nn::ModuleList lat_layers_{nullptr}, pred_layers_{nullptr}, downsample_layers_{nullptr};
};
TORCH_MODULE(Fpn);

// The shared prediction head (prediction_layers.0): upfeature, then 3x3 box/conf/mask convs.
class PredictionHeadImpl : public torch::nn::Module {
 public:
  PredictionHeadImpl(int in_channels, const ModelConfig& config);
  // Returns {loc [B,n,4], conf [B,n,C], mask [B,n,k] (tanh)} for one level.
  std::vector<torch::Tensor> forward(torch::Tensor x);
  torch::nn::Conv2d conf_layer() { return conf_layer_; }

 private:
  int num_classes_, num_prototypes_;
  torch::nn::Sequential upfeature_{nullptr};
  torch::nn::Conv2d bbox_layer_{nullptr}, conf_layer_{nullptr}, mask_layer_{nullptr};
};
TORCH_MODULE(PredictionHead);

// YOLACT++ mask re-scoring net: convs + ReLU, max-pool over the map -> [N, C-1].
class MaskIouNetImpl : public torch::nn::Module {
 public:
  explicit MaskIouNetImpl(const ModelConfig& config);
  torch::Tensor forward(torch::Tensor masks);  // masks [N,1,h,w]

 private:
  torch::nn::Sequential net_{nullptr};
};
TORCH_MODULE(MaskIouNet);

class YolactImpl : public torch::nn::Module {
 public:
  explicit YolactImpl(const ModelConfig& config);

  // x: [B,3,H,W] normalised images. `with_segm` computes the semantic-segmentation logits.
  // The network runs in channels-last memory format (x is converted; every conv output follows):
  // oneDNN's convolutions then skip the reorders to and from their blocked layout (R50 inference
  // ~1.5x faster on CPU, bench/detector). Output tensors have the documented shapes; the 4-D
  // ones (backbone, fpn, segm) may be channels-last strided: use reshape, not view, on them.
  YolactOutput forward(torch::Tensor x, bool with_segm = false);

  // Default true. False keeps contiguous NCHW throughout (the benchmark's comparison switch).
  void set_channels_last(bool on) { channels_last_ = on; }

  // Keeps BatchNorm in eval mode when config.freeze_bn (frozen statistics in training).
  void train(bool on = true) override;

  // Reference init for training from scratch: backbone convs keep the default init, every other
  // conv gets xavier_uniform and zero bias. With `focal_init_pi` > 0 the conf-layer bias is set
  // as in the focal-loss paper (sigmoid: every class -log((1-pi)/pi); softmax: background
  // log((1-pi)/pi), others -log(C-1)), for every prior of the location.
  void InitWeights(double focal_init_pi, bool sigmoid_scores);

  const ModelConfig& config() const { return config_; }
  MaskIouNet maskiou_net() { return maskiou_net_; }
  bool has_maskiou() const { return !maskiou_net_.is_empty(); }

 private:
  ModelConfig config_;
  Backbone backbone_{nullptr};
  Fpn fpn_{nullptr};
  torch::nn::Sequential proto_net_{nullptr};
  torch::nn::ModuleList prediction_layers_{nullptr};
  PredictionHead head_{nullptr};
  torch::nn::Conv2d semantic_seg_conv_{nullptr};
  MaskIouNet maskiou_net_{nullptr};
  bool channels_last_ = true;
  Mutex priors_mu_;
  std::map<std::vector<std::pair<int64_t, int64_t>>, torch::Tensor> priors_cache_
      ABSL_GUARDED_BY(priors_mu_);
};
TORCH_MODULE(Yolact);

// Builds a Sequential the way the reference make_net does: conv (+ReLU) per entry, bilinear x2
// (+ReLU) for upsampling entries; indices count the ReLU modules. Returns the output channels.
std::pair<torch::nn::Sequential, int> MakeNet(int in_channels, const std::vector<NetLayerSpec>& net,
                                              bool include_last_relu);

}  // namespace ablate::detector
