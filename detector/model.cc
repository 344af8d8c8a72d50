#include "detector/model.h"

#include <torch/torch.h>

#include <cmath>
#include <string>

#include "detector/dcn.h"

namespace ablate::detector {
namespace {

namespace F = torch::nn::functional;

torch::nn::Conv2d Conv(int in, int out, int kernel, int stride, int padding, bool bias) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(bias));
}

torch::nn::BatchNorm2d Bn(int channels) {
  return torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(channels).eps(1e-5));
}

class BottleneckImpl : public ResBlockImpl {
 public:
  BottleneckImpl(int inplanes, int planes, int stride, bool downsample, bool use_dcn) {
    conv1_ = register_module("conv1", Conv(inplanes, planes, 1, 1, 0, false));
    bn1_ = register_module("bn1", Bn(planes));
    if (use_dcn) {
      dcn2_ = register_module("conv2", Dcn(planes, planes, 3, stride, 1));
    } else {
      conv2_ = register_module("conv2", Conv(planes, planes, 3, stride, 1, false));
    }
    bn2_ = register_module("bn2", Bn(planes));
    conv3_ = register_module("conv3", Conv(planes, planes * 4, 1, 1, 0, false));
    bn3_ = register_module("bn3", Bn(planes * 4));
    if (downsample) {
      downsample_ = register_module(
          "downsample",
          torch::nn::Sequential(Conv(inplanes, planes * 4, 1, stride, 0, false), Bn(planes * 4)));
    }
  }
  torch::Tensor forward(torch::Tensor x) override {
    // In-place add and ReLU as the reference does: no backward here needs the tensors they
    // overwrite (conv and BatchNorm keep their inputs, ReLU its output).
    torch::Tensor out = ConvBn(*conv1_, *bn1_, x).relu_();
    out = (dcn2_.is_empty() ? ConvBn(*conv2_, *bn2_, out) : bn2_(dcn2_(out))).relu_();
    out = ConvBn(*conv3_, *bn3_, out);
    out += downsample_.is_empty() ? x : Downsample(x);
    return out.relu_();
  }

 private:
  torch::Tensor Downsample(const torch::Tensor& x) {
    return ConvBn(*downsample_[0]->as<torch::nn::Conv2dImpl>(),
                  *downsample_[1]->as<torch::nn::BatchNorm2dImpl>(), x);
  }

  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  Dcn dcn2_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  torch::nn::Sequential downsample_{nullptr};
};

// torchvision-style basic block (ResNet-18/34): 3x3 (stride) -> 3x3, expansion 1.
class BasicBlockImpl : public ResBlockImpl {
 public:
  BasicBlockImpl(int inplanes, int planes, int stride, bool downsample) {
    conv1_ = register_module("conv1", Conv(inplanes, planes, 3, stride, 1, false));
    bn1_ = register_module("bn1", Bn(planes));
    conv2_ = register_module("conv2", Conv(planes, planes, 3, 1, 1, false));
    bn2_ = register_module("bn2", Bn(planes));
    if (downsample) {
      downsample_ = register_module(
          "downsample",
          torch::nn::Sequential(Conv(inplanes, planes, 1, stride, 0, false), Bn(planes)));
    }
  }
  torch::Tensor forward(torch::Tensor x) override {
    torch::Tensor out = ConvBn(*conv1_, *bn1_, x).relu_();
    out = ConvBn(*conv2_, *bn2_, out);
    out += downsample_.is_empty() ? x : Downsample(x);
    return out.relu_();
  }

 private:
  torch::Tensor Downsample(const torch::Tensor& x) {
    return ConvBn(*downsample_[0]->as<torch::nn::Conv2dImpl>(),
                  *downsample_[1]->as<torch::nn::BatchNorm2dImpl>(), x);
  }

  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  torch::nn::Sequential downsample_{nullptr};
};

}  // namespace

torch::Tensor ConvBn(torch::nn::Conv2dImpl& conv, torch::nn::BatchNorm2dImpl& bn,
                     const torch::Tensor& x) {
  if (bn.is_training()) return bn.forward(conv.forward(x));
  const torch::Tensor scale = bn.weight * torch::rsqrt(bn.running_var + bn.options.eps());
  const torch::Tensor shift = bn.bias - bn.running_mean * scale;
  const auto& o = conv.options;
  return torch::conv2d(x, conv.weight * scale.view({-1, 1, 1, 1}), shift, o.stride(),
                       c10::get<torch::ExpandingArray<2>>(o.padding()), o.dilation(), o.groups());
}

torch::Tensor MakePriors(const ModelConfig& config,
                         const std::vector<std::pair<int64_t, int64_t>>& level_sizes) {
  std::vector<double> data;
  const double size = config.image_size;
  for (size_t l = 0; l < level_sizes.size() && l < config.anchors.size(); ++l) {
    const auto [conv_h, conv_w] = level_sizes[l];
    const AnchorLevelSpec& spec = config.anchors[l];
    for (int64_t j = 0; j < conv_h; ++j) {
      for (int64_t i = 0; i < conv_w; ++i) {
        const double x = (i + 0.5) / conv_w;
        const double y = (j + 0.5) / conv_h;
        for (const auto& ratios : spec.aspect_ratios) {
          for (double scale : spec.scales) {
            for (double ar : ratios) {
              const double r = std::sqrt(ar);
              const double w = scale * r / size;
              double h = scale / r / size;
              if (config.square_anchors) h = w;
              data.insert(data.end(), {x, y, w, h});
            }
          }
        }
      }
    }
  }
  const int64_t n = static_cast<int64_t>(data.size() / 4);
  return torch::from_blob(data.data(), {n, 4}, torch::kFloat64).to(torch::kFloat32).clone();
}

std::pair<torch::nn::Sequential, int> MakeNet(int in_channels, const std::vector<NetLayerSpec>& net,
                                              bool include_last_relu) {
  torch::nn::Sequential seq;
  int channels = in_channels;
  for (size_t i = 0; i < net.size(); ++i) {
    const NetLayerSpec& l = net[i];
    if (l.upsample) {
      seq->push_back(torch::nn::Functional([](torch::Tensor x) {
        return F::interpolate(x, F::InterpolateFuncOptions()
                                     .scale_factor(std::vector<double>{2.0, 2.0})
                                     .mode(torch::kBilinear)
                                     .align_corners(false));
      }));
    } else {
      seq->push_back(Conv(channels, l.out_channels, l.kernel_size, l.stride, l.padding, true));
      channels = l.out_channels;
    }
    if (include_last_relu || i + 1 < net.size()) {
      // In place: the conv / upsampling before it does not need its output for backward.
      seq->push_back(torch::nn::Functional([](torch::Tensor x) { return x.relu_(); }));
    }
  }
  return {seq, channels};
}

BackboneImpl::BackboneImpl(const ModelConfig& config) {
  // Registration order as in the reference: layers first, then the stem.
  layers_ = register_module("layers", torch::nn::ModuleList());
  const bool bottleneck = config.block == BlockType::kBottleneck;
  const int expansion = bottleneck ? 4 : 1;
  int inplanes = config.base_width;
  for (size_t s = 0; s < config.layers.size(); ++s) {
    const int planes = config.base_width * (1 << s);
    const int stride = s == 0 ? 1 : 2;
    torch::nn::ModuleList stage;
    std::vector<std::shared_ptr<ResBlockImpl>> blocks;
    for (int b = 0; b < config.layers[s]; ++b) {
      const bool downsample = b == 0 && (stride != 1 || inplanes != planes * expansion);
      // Reference _make_layer: DCN in the last dcn_layers blocks, every dcn_interval-th.
      const int dcn = s < config.dcn_layers.size() ? config.dcn_layers[s] : 0;
      const bool use_dcn = b == 0 ? dcn >= config.layers[s]
                                  : (b + dcn >= config.layers[s]) && (b % config.dcn_interval == 0);
      std::shared_ptr<ResBlockImpl> block;
      if (bottleneck) {
        block = std::make_shared<BottleneckImpl>(inplanes, planes, b == 0 ? stride : 1, downsample,
                                                 use_dcn);
      } else {
        block = std::make_shared<BasicBlockImpl>(inplanes, planes, b == 0 ? stride : 1, downsample);
      }
      stage->push_back(block);
      blocks.push_back(block);
      inplanes = planes * expansion;
    }
    layers_->push_back(stage);
    blocks_.push_back(std::move(blocks));
  }
  conv1_ = register_module("conv1", Conv(3, config.base_width, 7, 2, 3, false));
  bn1_ = register_module("bn1", Bn(config.base_width));
}

std::vector<torch::Tensor> BackboneImpl::forward(torch::Tensor x) {
  x = ConvBn(*conv1_, *bn1_, x).relu_();
  x = torch::max_pool2d(x, /*kernel_size=*/{3, 3}, /*stride=*/{2, 2}, /*padding=*/{1, 1});
  std::vector<torch::Tensor> outs;
  for (auto& stage : blocks_) {
    for (auto& block : stage) x = block->forward(x);
    outs.push_back(x);
  }
  return outs;
}

FpnImpl::FpnImpl(const std::vector<int>& in_channels, int features, int num_downsample) {
  lat_layers_ = register_module("lat_layers", torch::nn::ModuleList());
  pred_layers_ = register_module("pred_layers", torch::nn::ModuleList());
  downsample_layers_ = register_module("downsample_layers", torch::nn::ModuleList());
  for (auto it = in_channels.rbegin(); it != in_channels.rend(); ++it) {
    lat_layers_->push_back(Conv(*it, features, 1, 1, 0, true));
  }
  for (size_t i = 0; i < in_channels.size(); ++i) {
    pred_layers_->push_back(Conv(features, features, 3, 1, 1, true));
  }
  for (int i = 0; i < num_downsample; ++i) {
    downsample_layers_->push_back(Conv(features, features, 3, 2, 1, true));
  }
}

std::vector<torch::Tensor> FpnImpl::forward(const std::vector<torch::Tensor>& inputs) {
  const int n = static_cast<int>(inputs.size());
  std::vector<torch::Tensor> out(n);
  torch::Tensor x;
  for (int i = 0; i < n; ++i) {
    const int j = n - 1 - i;
    torch::Tensor lat = lat_layers_[i]->as<torch::nn::Conv2d>()->forward(inputs[j]);
    if (i == 0) {
      x = lat;
    } else {
      x = F::interpolate(x, F::InterpolateFuncOptions()
                                .size(std::vector<int64_t>{inputs[j].size(2), inputs[j].size(3)})
                                .mode(torch::kBilinear)
                                .align_corners(false)) +
          lat;
    }
    out[j] = x;
  }
  for (int i = 0; i < n; ++i) {
    const int j = n - 1 - i;
    out[j] = pred_layers_[i]->as<torch::nn::Conv2d>()->forward(out[j]).relu_();
  }
  for (const auto& layer : *downsample_layers_) {
    out.push_back(layer->as<torch::nn::Conv2d>()->forward(out.back()));
  }
  return out;
}

PredictionHeadImpl::PredictionHeadImpl(int in_channels, const ModelConfig& config)
    : num_classes_(config.num_classes), num_prototypes_(config.NumPrototypes()) {
  int channels = in_channels;
  if (!config.head_extra.empty()) {
    auto [net, out] = MakeNet(in_channels, config.head_extra, /*include_last_relu=*/true);
    upfeature_ = register_module("upfeature", net);
    channels = out;
  }
  const int priors = config.PriorsPerLocation();
  bbox_layer_ = register_module("bbox_layer", Conv(channels, priors * 4, 3, 1, 1, true));
  conf_layer_ = register_module("conf_layer", Conv(channels, priors * num_classes_, 3, 1, 1, true));
  mask_layer_ =
      register_module("mask_layer", Conv(channels, priors * num_prototypes_, 3, 1, 1, true));
}

std::vector<torch::Tensor> PredictionHeadImpl::forward(torch::Tensor x) {
  if (!upfeature_.is_empty()) x = upfeature_->forward(x);
  const int64_t b = x.size(0);
  torch::Tensor loc = bbox_layer_(x).permute({0, 2, 3, 1}).contiguous().view({b, -1, 4});
  torch::Tensor conf =
      conf_layer_(x).permute({0, 2, 3, 1}).contiguous().view({b, -1, num_classes_});
  torch::Tensor mask =
      mask_layer_(x).permute({0, 2, 3, 1}).contiguous().view({b, -1, num_prototypes_});
  return {loc, conf, torch::tanh(mask)};
}

MaskIouNetImpl::MaskIouNetImpl(const ModelConfig& config) {
  std::vector<NetLayerSpec> net = config.maskiou_net;
  net.push_back({config.num_classes - 1, 1, 1, 0, false});
  net_ = register_module("maskiou_net", MakeNet(1, net, /*include_last_relu=*/true).first);
}

torch::Tensor MaskIouNetImpl::forward(torch::Tensor masks) {
  torch::Tensor x = net_->forward(masks);
  return torch::max_pool2d(x, {x.size(2), x.size(3)}).squeeze(-1).squeeze(-1);
}

YolactImpl::YolactImpl(const ModelConfig& config) : config_(config) {
  backbone_ = register_module("backbone", Backbone(config));
  std::vector<int> in_channels;
  for (int s : config.selected_layers) in_channels.push_back(config.StageChannels(s));
  proto_net_ = register_module(
      "proto_net",
      MakeNet(config.fpn_features, config.proto_net, /*include_last_relu=*/false).first);
  if (config.maskiou) maskiou_net_ = register_module("maskiou_net", MaskIouNet(config));
  fpn_ = register_module("fpn", Fpn(in_channels, config.fpn_features, config.fpn_num_downsample));
  prediction_layers_ = register_module("prediction_layers", torch::nn::ModuleList());
  head_ = PredictionHead(config.fpn_features, config);
  prediction_layers_->push_back(head_);
  if (config.semantic_segmentation) {
    semantic_seg_conv_ = register_module(
        "semantic_seg_conv", Conv(config.fpn_features, config.num_classes - 1, 1, 1, 0, true));
  }
  if (config.freeze_bn) {
    for (auto& m : modules(/*include_self=*/false)) {
      if (auto* bn = m->as<torch::nn::BatchNorm2dImpl>()) {
        bn->weight.set_requires_grad(false);
        bn->bias.set_requires_grad(false);
      }
    }
  }
  train(true);
}

void YolactImpl::train(bool on) {
  torch::nn::Module::train(on);
  if (config_.freeze_bn) {
    for (auto& m : modules(/*include_self=*/false)) {
      if (auto* bn = m->as<torch::nn::BatchNorm2dImpl>()) bn->eval();
    }
  }
}

void YolactImpl::InitWeights(double focal_init_pi, bool sigmoid_scores) {
  torch::NoGradGuard no_grad;
  for (const auto& item : named_modules()) {
    if (item.key().rfind("backbone", 0) == 0) continue;
    if (auto* conv = item.value()->as<torch::nn::Conv2dImpl>()) {
      torch::nn::init::xavier_uniform_(conv->weight);
      if (conv->bias.defined()) conv->bias.zero_();
    }
  }
  if (focal_init_pi > 0) {
    const double pi = focal_init_pi;
    torch::Tensor bias = head_->conf_layer()->bias.view({-1, config_.num_classes});
    if (sigmoid_scores) {
      bias.fill_(-std::log((1 - pi) / pi));
    } else {
      bias.select(1, 0).fill_(std::log((1 - pi) / pi));
      bias.narrow(1, 1, config_.num_classes - 1).fill_(-std::log(config_.num_classes - 1.0));
    }
  }
}

YolactOutput YolactImpl::forward(torch::Tensor x, bool with_segm) {
  YolactOutput out;
  if (channels_last_ && x.dim() == 4) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  out.backbone = backbone_->forward(x);
  std::vector<torch::Tensor> selected;
  for (int s : config_.selected_layers) selected.push_back(out.backbone[s]);
  out.fpn = fpn_->forward(selected);

  out.proto = proto_net_->forward(out.fpn[0]).relu_().permute({0, 2, 3, 1}).contiguous();

  std::vector<torch::Tensor> locs, confs, masks;
  std::vector<std::pair<int64_t, int64_t>> sizes;
  for (const torch::Tensor& level : out.fpn) {
    std::vector<torch::Tensor> head = head_->forward(level);
    locs.push_back(head[0]);
    confs.push_back(head[1]);
    masks.push_back(head[2]);
    sizes.emplace_back(level.size(2), level.size(3));
  }
  out.loc = torch::cat(locs, 1);
  out.conf = torch::cat(confs, 1);
  out.mask_coeff = torch::cat(masks, 1);
  {
    MutexLock lock(&priors_mu_);
    auto it = priors_cache_.find(sizes);
    if (it == priors_cache_.end()) {
      it = priors_cache_.emplace(sizes, MakePriors(config_, sizes)).first;
    }
    out.priors = it->second.to(x.device());
  }
  if (with_segm && !semantic_seg_conv_.is_empty()) out.segm = semantic_seg_conv_(out.fpn[0]);
  return out;
}

}  // namespace ablate::detector
