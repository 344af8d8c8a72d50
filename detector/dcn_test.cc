// DCNv2 from LibTorch ops: equivalences with plain convolution worked out by hand, a finite-
// difference gradient check, and the YOLACT++ R50-DCN block placement / parameter names.
#include "detector/dcn.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "detector/config/model_config.h"
#include "detector/model.h"
#include "detector/weights.h"

namespace ablate::detector {
namespace {

namespace F = torch::nn::functional;

struct Case {
  torch::Tensor x, weight, bias;
};
Case MakeCase() {
  torch::manual_seed(5);
  return {torch::randn({2, 3, 6, 7}, torch::kFloat64), torch::randn({4, 3, 3, 3}, torch::kFloat64),
          torch::randn({4}, torch::kFloat64)};
}
torch::Tensor Conv(const Case& c, const torch::Tensor& x, int stride, int padding, int dilation) {
  return F::conv2d(
      x, c.weight,
      F::Conv2dFuncOptions().bias(c.bias).stride(stride).padding(padding).dilation(dilation));
}

TEST(DeformConvTest, ZeroOffsetsAndUnitMaskEqualConv2d) {
  Case c = MakeCase();
  for (auto [stride, padding, dilation] : {std::tuple{1, 1, 1}, {2, 1, 1}, {1, 2, 2}}) {
    torch::Tensor ref = Conv(c, c.x, stride, padding, dilation);
    const int64_t ho = ref.size(2), wo = ref.size(3);
    torch::Tensor y = DeformConv2d(c.x, torch::zeros({2, 18, ho, wo}, torch::kFloat64),
                                   torch::ones({2, 9, ho, wo}, torch::kFloat64), c.weight, c.bias,
                                   stride, padding, dilation);
    EXPECT_TRUE(torch::allclose(y, ref, 1e-10, 1e-10)) << stride << padding << dilation;
  }
}

TEST(DeformConvTest, IntegerAndHalfPixelOffsetsShiftTheInput) {
  Case c = MakeCase();
  // dx = +1 at every tap samples one column to the right of where a padded conv samples: conv
  // (no padding) of the zero-padded input shifted left by one column.
  torch::Tensor padded = F::pad(c.x, F::PadFuncOptions({1, 1, 1, 1}));
  torch::Tensor shifted = F::pad(padded.slice(3, 1), F::PadFuncOptions({0, 1}));
  torch::Tensor offset = torch::zeros({2, 9, 2, 6, 7}, torch::kFloat64);
  offset.select(2, 1).fill_(1.0);
  torch::Tensor ones = torch::ones({2, 9, 6, 7}, torch::kFloat64);
  torch::Tensor y = DeformConv2d(c.x, offset.view({2, 18, 6, 7}), ones, c.weight, c.bias, 1, 1, 1);
  EXPECT_TRUE(torch::allclose(y, Conv(c, shifted, 1, 0, 1), 1e-10, 1e-10));
  // dx = 0.5: bilinear half way: the mean of the input and its shift.
  offset.select(2, 1).fill_(0.5);
  y = DeformConv2d(c.x, offset.view({2, 18, 6, 7}), ones, c.weight, c.bias, 1, 1, 1);
  EXPECT_TRUE(torch::allclose(y, Conv(c, (padded + shifted) / 2, 1, 0, 1), 1e-10, 1e-10));
  // dy = -1 with mask 0.5: the input shifted down one row, half weight (bias unscaled).
  torch::Tensor down = F::pad(padded.slice(2, 0, 7), F::PadFuncOptions({0, 0, 1, 0}));
  offset.zero_();
  offset.select(2, 0).fill_(-1.0);
  y = DeformConv2d(c.x, offset.view({2, 18, 6, 7}), ones * 0.5, c.weight, c.bias, 1, 1, 1);
  torch::Tensor ref = Conv(c, down * 0.5, 1, 0, 1);
  EXPECT_TRUE(torch::allclose(y, ref, 1e-10, 1e-10));
}

TEST(DeformConvTest, GradientsMatchFiniteDifferences) {
  torch::manual_seed(7);
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  torch::Tensor x = torch::randn({1, 2, 5, 5}, opts).requires_grad_(true);
  // Fractional offsets away from integer sample positions (bilinear is not differentiable there).
  torch::Tensor offset = (torch::rand({1, 18, 3, 3}, opts) * 0.6 + 0.2).requires_grad_(true);
  torch::Tensor mask = torch::rand({1, 9, 3, 3}, opts).requires_grad_(true);
  torch::Tensor weight = torch::randn({3, 2, 3, 3}, opts).requires_grad_(true);
  torch::Tensor bias = torch::randn({3}, opts).requires_grad_(true);
  torch::Tensor probe = torch::randn({1, 3, 3, 3}, opts);
  auto f = [&] { return (DeformConv2d(x, offset, mask, weight, bias, 2, 1, 1) * probe).sum(); };
  f().backward();
  for (torch::Tensor* t : {&x, &offset, &mask, &weight, &bias}) {
    torch::Tensor grad = t->grad().clone();
    torch::NoGradGuard no_grad;
    torch::Tensor flat = t->view({-1});
    for (int64_t i = 0; i < flat.numel(); i += std::max<int64_t>(1, flat.numel() / 13)) {
      const double saved = flat[i].item<double>();
      const double eps = 1e-6;
      flat[i] = saved + eps;
      const double plus = f().item<double>();
      flat[i] = saved - eps;
      const double minus = f().item<double>();
      flat[i] = saved;
      EXPECT_NEAR(grad.view({-1})[i].item<double>(), (plus - minus) / (2 * eps), 1e-6)
          << "element " << i;
    }
  }
}

TEST(DeformConvTest, R50DcnPlacesDcnLikeTheReference) {
  auto preset = ModelPreset("r50-dcn");
  ASSERT_TRUE(preset.ok());
  ModelConfig c = *preset;
  c.base_width = 4;  // narrow copy: same layout, cheap
  c.fpn_features = 8;
  c.proto_net.back().out_channels = 4;
  for (auto& l : c.proto_net) {
    if (!l.upsample && &l != &c.proto_net.back()) l.out_channels = 8;
  }
  c.head_extra[0].out_channels = 8;
  c.image_size = 64;
  ASSERT_TRUE(c.Validate().ok()) << c.Validate();
  Yolact model(c);
  NamedTensors sd = StateDict(*model);
  auto has = [&](const std::string& k) { return FindTensor(sd, k).ok(); };
  // dcn_layers {0,4,6,3}, interval 3: block 0 and every 3rd block of stages 1-3.
  EXPECT_FALSE(has("backbone.layers.0.0.conv2.conv_offset_mask.weight"));
  EXPECT_TRUE(has("backbone.layers.1.0.conv2.conv_offset_mask.weight"));
  EXPECT_TRUE(has("backbone.layers.1.0.conv2.bias"));
  EXPECT_FALSE(has("backbone.layers.1.1.conv2.conv_offset_mask.weight"));
  EXPECT_TRUE(has("backbone.layers.1.3.conv2.conv_offset_mask.weight"));
  EXPECT_TRUE(has("backbone.layers.2.3.conv2.conv_offset_mask.weight"));
  EXPECT_FALSE(has("backbone.layers.2.4.conv2.conv_offset_mask.weight"));
  EXPECT_TRUE(has("backbone.layers.3.0.conv2.conv_offset_mask.weight"));
  EXPECT_FALSE(has("backbone.layers.3.1.conv2.conv_offset_mask.weight"));
  EXPECT_EQ(FindTensor(sd, "backbone.layers.1.0.conv2.conv_offset_mask.weight")->size(0), 27);
  EXPECT_TRUE(has("maskiou_net.maskiou_net.10.weight"));  // 5 convs + last, ReLUs between
  YolactOutput out = model->forward(torch::randn({1, 3, 64, 64}), true);
  EXPECT_EQ(out.loc.size(1), out.priors.size(0));
  out.loc.sum().backward();
}

}  // namespace
}  // namespace ablate::detector
