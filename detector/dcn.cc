#include "detector/dcn.h"

#include <torch/torch.h>

#include <cmath>

namespace ablate::detector {

namespace F = torch::nn::functional;

torch::Tensor DeformConv2d(const torch::Tensor& x, const torch::Tensor& offset,
                           const torch::Tensor& mask, const torch::Tensor& weight,
                           const torch::Tensor& bias, int stride, int padding, int dilation) {
  const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const int64_t kh = weight.size(2), kw = weight.size(3), k = kh * kw;
  const int64_t ho = offset.size(2), wo = offset.size(3);
  const auto opts = x.options();
  // Base sampling positions of every tap: p = o * stride - padding + tap * dilation.
  torch::Tensor oy = torch::arange(ho, opts).mul(stride).sub(padding).view({1, 1, ho, 1});
  torch::Tensor ox = torch::arange(wo, opts).mul(stride).sub(padding).view({1, 1, 1, wo});
  torch::Tensor ty = torch::arange(kh, opts).mul(dilation).repeat_interleave(kw).view({1, k, 1, 1});
  torch::Tensor tx = torch::arange(kw, opts).mul(dilation).repeat({kh}).view({1, k, 1, 1});
  torch::Tensor off = offset.reshape({b, k, 2, ho, wo});
  torch::Tensor py = oy + ty + off.select(2, 0);  // [B,K,Ho,Wo]
  torch::Tensor px = ox + tx + off.select(2, 1);
  // align_corners=false: pixel p maps to (2p + 1) / size - 1; zero padding outside.
  torch::Tensor gy = (2 * py + 1) / static_cast<double>(h) - 1;
  torch::Tensor gx = (2 * px + 1) / static_cast<double>(w) - 1;
  torch::Tensor grid = torch::stack({gx, gy}, -1).view({b, k * ho, wo, 2});
  torch::Tensor sampled = F::grid_sample(x, grid,
                                         F::GridSampleFuncOptions()
                                             .mode(torch::kBilinear)
                                             .padding_mode(torch::kZeros)
                                             .align_corners(false));  // [B,C,K*Ho,Wo]
  sampled = sampled.reshape({b, c, k, ho, wo}) * mask.reshape({b, 1, k, ho, wo});
  torch::Tensor out =
      torch::matmul(weight.reshape({weight.size(0), c * k}), sampled.reshape({b, c * k, ho * wo}));
  if (bias.defined()) out = out + bias.view({1, -1, 1});
  return out.view({b, weight.size(0), ho, wo});
}

DcnImpl::DcnImpl(int in_channels, int out_channels, int kernel_size, int stride, int padding,
                 int dilation)
    : kernel_size_(kernel_size), stride_(stride), padding_(padding), dilation_(dilation) {
  weight = register_parameter("weight",
                              torch::empty({out_channels, in_channels, kernel_size, kernel_size}));
  bias = register_parameter("bias", torch::zeros({out_channels}));
  const double stdv = 1.0 / std::sqrt(static_cast<double>(in_channels * kernel_size * kernel_size));
  {
    torch::NoGradGuard no_grad;
    weight.uniform_(-stdv, stdv);  // DCNv2 reset_parameters
  }
  conv_offset_mask_ =
      register_module("conv_offset_mask",
                      torch::nn::Conv2d(torch::nn::Conv2dOptions(
                                            in_channels, 3 * kernel_size * kernel_size, kernel_size)
                                            .stride(stride)
                                            .padding(padding)
                                            .bias(true)));
  torch::NoGradGuard no_grad;
  conv_offset_mask_->weight.zero_();
  conv_offset_mask_->bias.zero_();
}

torch::Tensor DcnImpl::forward(torch::Tensor x) {
  torch::Tensor out = conv_offset_mask_(x);
  auto parts = torch::chunk(out, 3, /*dim=*/1);
  torch::Tensor offset = torch::cat({parts[0], parts[1]}, 1);
  torch::Tensor mask = torch::sigmoid(parts[2]);
  return DeformConv2d(x, offset, mask, weight, bias, stride_, padding_, dilation_);
}

}  // namespace ablate::detector
