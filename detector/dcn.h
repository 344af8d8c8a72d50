// Modulated deformable convolution (DCNv2, Zhu et al. 2019) from LibTorch ops: bilinear sampling
// (grid_sample, zero outside the image) at learned offsets, times a sigmoid mask, then a matmul
// with the kernel. LibTorch has no deformable conv; this is the YOLACT++ "R50-DCN" building block.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/types.h>

namespace ablate::detector {

// x [B,C,H,W]; offset [B,2K,Ho,Wo] with channel 2k = dy, 2k+1 = dx of kernel tap k (row-major
// over the kernel), as DCNv2; mask [B,K,Ho,Wo] (already in [0,1]); weight [O,C,kh,kw]; bias [O]
// or undefined. Returns [B,O,Ho,Wo]. With zero offsets and a mask of ones it equals conv2d.
torch::Tensor DeformConv2d(const torch::Tensor& x, const torch::Tensor& offset,
                           const torch::Tensor& mask, const torch::Tensor& weight,
                           const torch::Tensor& bias, int stride, int padding, int dilation);

// The reference DCN module (external/DCNv2 "DCN"): parameters weight [O,C,k,k], bias [O], and
// conv_offset_mask (a k x k conv to 3K channels: dy/dx halves then the mask logits). Offsets and
// mask start at zero / sigmoid(0), as the reference Bottleneck initialises them.
class DcnImpl : public torch::nn::Module {
 public:
  DcnImpl(int in_channels, int out_channels, int kernel_size, int stride, int padding,
          int dilation = 1);
  torch::Tensor forward(torch::Tensor x);

  torch::Tensor weight, bias;

 private:
  int kernel_size_, stride_, padding_, dilation_;
  torch::nn::Conv2d conv_offset_mask_{nullptr};
};
TORCH_MODULE(Dcn);

}  // namespace ablate::detector
