// Model fidelity against ../shared/yolact-vectors (outside golden data) plus structural checks
// whose expected values are derived by hand from the YOLACT layout.
#include "detector/model.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "detector/config/model_config.h"
#include "detector/detect.h"
#include "detector/reference_check.h"
#include "detector/weights.h"
#include "nlohmann/json.hpp"

namespace ablate::detector {
namespace {

const std::filesystem::path kVectors = "../shared/yolact-vectors";

std::string MissingVectors(const std::filesystem::path& dir) {
  return "reference vectors missing: " +
         std::filesystem::absolute(dir).lexically_normal().string() +
         " (tests run from the repository root and need the shared test data at " +
         kVectors.string() + ")";
}

class ReferenceVectorTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ReferenceVectorTest, MatchesEveryStoredOutput) {
  const auto dir = kVectors / GetParam();
  // Outside golden data is the point of this test: without it the suite fails, never skips.
  ASSERT_TRUE(std::filesystem::exists(dir)) << MissingVectors(dir);
  torch::set_num_threads(1);
  auto report = RunReferenceCheck(dir);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok()) << report->ToText(0);
  // The check must actually cover forward, priors, Detect (both NMS kinds) and postprocess.
  int forward = 0, detect = 0, detect_cc = 0, post = 0, priors = 0;
  for (const auto& c : report->comparisons) {
    forward += c.name.find(".loc") != std::string::npos;
    detect += c.name.find(".detect.") != std::string::npos;
    detect_cc += c.name.find(".detect_cc.") != std::string::npos;
    post += c.name.find(".post.") != std::string::npos;
    priors += c.name == "priors";
  }
  EXPECT_EQ(forward, 2);  // b1 and b2
  EXPECT_EQ(priors, 1);
  EXPECT_EQ(detect, 12);  // 3 images x {box, class, score, mask_coeff}
  EXPECT_EQ(detect_cc, 12);
  EXPECT_GE(post, 5);
}

INSTANTIATE_TEST_SUITE_P(PublicVectors, ReferenceVectorTest,
                         ::testing::Values("v1_tiny_s1", "plus_tiny_s1"));

// Frozen BatchNorm folded into the convolution: same output and the same gradients (input, conv
// weight, BN affine) as LibTorch's conv followed by an eval-mode BatchNorm.
TEST(ConvBnTest, FoldedFrozenBatchNormEqualsConvThenBatchNorm) {
  torch::manual_seed(3);
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(4, 6, 3).stride(2).padding(1).bias(false));
  torch::nn::BatchNorm2d bn(torch::nn::BatchNorm2dOptions(6));
  {
    torch::NoGradGuard no_grad;
    bn->weight.uniform_(0.5, 1.5);
    bn->bias.uniform_(-0.2, 0.2);
    bn->running_mean.uniform_(-1, 1);
    bn->running_var.uniform_(0.5, 2);
  }
  bn->eval();
  const torch::Tensor x = torch::randn({2, 4, 9, 9}).requires_grad_();
  const torch::Tensor upstream = torch::randn({2, 6, 5, 5});
  auto run = [&](bool folded) {
    for (torch::Tensor t : {x, conv->weight, bn->weight, bn->bias}) {
      if (t.grad().defined()) t.mutable_grad().zero_();
    }
    torch::Tensor y = folded ? ConvBn(*conv, *bn, x) : bn(conv(x));
    (y * upstream).sum().backward();
    return std::vector<torch::Tensor>{y.detach(), x.grad().clone(), conv->weight.grad().clone(),
                                      bn->weight.grad().clone(), bn->bias.grad().clone()};
  };
  const std::vector<torch::Tensor> expected = run(false), folded = run(true);
  const char* names[] = {"output", "grad x", "grad conv weight", "grad bn weight", "grad bn bias"};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_TRUE(torch::allclose(folded[i], expected[i], 1e-5, 1e-5))
        << names[i] << ": max diff " << (folded[i] - expected[i]).abs().max().item<double>();
  }
  // Training mode (batch statistics) is not folded: running statistics are updated.
  bn->train();
  const torch::Tensor mean_before = bn->running_mean.clone();
  const torch::Tensor y = ConvBn(*conv, *bn, x.detach());
  EXPECT_EQ(bn->num_batches_tracked.item<int64_t>(), 1);
  EXPECT_FALSE(torch::equal(bn->running_mean, mean_before));
  // Normalised with the batch's statistics: per channel the output's mean is the BN bias.
  EXPECT_TRUE(torch::allclose(y.mean({0, 2, 3}), bn->bias.detach(), 1e-4, 1e-4));
}

nlohmann::json ReadManifest(const std::string& name) {
  std::ifstream in(kVectors / name / "manifest.json");
  return nlohmann::json::parse(in);
}

TEST(ModelShapeTest, NonMultipleOf32InputAndBatchTwo) {
  ASSERT_TRUE(std::filesystem::exists(kVectors / "plus_tiny_s1"))
      << MissingVectors(kVectors / "plus_tiny_s1");
  auto config = ModelConfigFromManifest(ReadManifest("plus_tiny_s1"));
  ASSERT_TRUE(config.ok()) << config.status();
  Yolact model(*config);
  model->eval();
  torch::NoGradGuard no_grad;
  // 144 px: stem /2 -> 72, maxpool -> 36 (C2), C3 18, C4 9, C5 5, P6 3, P7 2.
  YolactOutput out = model->forward(torch::randn({2, 3, 144, 144}), /*with_segm=*/true);
  const std::vector<int64_t> sizes = {18, 9, 5, 3, 2};
  ASSERT_EQ(out.fpn.size(), sizes.size());
  int64_t cells = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_EQ(out.fpn[i].size(2), sizes[i]);
    EXPECT_EQ(out.fpn[i].size(3), sizes[i]);
    cells += sizes[i] * sizes[i];
  }
  const int64_t priors = cells * 9;  // 3 scales x 3 ratios
  EXPECT_EQ(out.priors.size(0), priors);
  EXPECT_EQ(out.loc.sizes(), (std::vector<int64_t>{2, priors, 4}));
  EXPECT_EQ(out.conf.sizes(), (std::vector<int64_t>{2, priors, 5}));
  EXPECT_EQ(out.mask_coeff.sizes(), (std::vector<int64_t>{2, priors, 8}));
  EXPECT_EQ(out.proto.sizes(), (std::vector<int64_t>{2, 36, 36, 8}));
  EXPECT_EQ(out.segm.sizes(), (std::vector<int64_t>{2, 4, 18, 18}));
  // First P3 prior: centre of cell (0,0) of an 18x18 grid, first scale, ratio 1.
  const double s0 = (*config).anchors[0].scales[0] / 128.0;
  EXPECT_FLOAT_EQ(out.priors[0][0].item<float>(), static_cast<float>(0.5 / 18));
  EXPECT_FLOAT_EQ(out.priors[0][2].item<float>(), static_cast<float>(s0));
  // Image 1 of a batch equals the same image alone (eval, frozen BN).
  torch::Tensor x = torch::randn({2, 3, 136, 200});
  YolactOutput both = model->forward(x);
  YolactOutput alone = model->forward(x.slice(0, 1, 2));
  EXPECT_TRUE(torch::allclose(both.loc[1], alone.loc[0], 1e-4, 1e-4));
  EXPECT_EQ(both.fpn[0].size(2), 17);  // 136 -> 68 -> 34 -> 17
  EXPECT_EQ(both.fpn[0].size(3), 25);  // 200 -> 100 -> 50 -> 25
  // Detect + postprocess run on a non-square batch.
  auto dets = Detect(both.loc, torch::softmax(both.conf, -1), both.mask_coeff, both.priors, {});
  ASSERT_EQ(dets.size(), 2u);
  PostprocessOptions post;
  post.width = 200;
  post.height = 136;
  ImageDetections img = Postprocess(dets[0], both.proto[0], post, model->maskiou_net().get());
  EXPECT_EQ(img.masks.size(1), 136);
  EXPECT_EQ(img.masks.size(2), 200);
}

TEST(ModelShapeTest, BasicBlockBackboneNamesAndChannels) {
  auto preset = ModelPreset("tiny");
  ASSERT_TRUE(preset.ok());
  ModelConfig c = *preset;
  c.block = BlockType::kBasic;
  c.base_width = 16;
  c.layers = {2, 2, 2, 2};  // ResNet-18 layout at width 16
  Yolact model(c);
  NamedTensors sd = StateDict(*model);
  auto has = [&](const std::string& k) { return FindTensor(sd, k).ok(); };
  EXPECT_TRUE(has("backbone.layers.0.1.conv2.weight"));
  EXPECT_FALSE(has("backbone.layers.0.0.downsample.0.weight"));  // 16 -> 16, stride 1
  EXPECT_TRUE(has("backbone.layers.1.0.downsample.0.weight"));
  EXPECT_FALSE(has("backbone.layers.0.0.conv3.weight"));
  EXPECT_EQ(FindTensor(sd, "fpn.lat_layers.0.weight")->size(1), 128);  // C5 of width 16 basic
  model->eval();
  torch::NoGradGuard no_grad;
  YolactOutput out = model->forward(torch::randn({1, 3, 128, 128}));
  EXPECT_EQ(out.loc.size(1), out.priors.size(0));
}

TEST(WeightsTest, MismatchedStateDictNamesTheKeys) {
  auto preset = ModelPreset("tiny");
  ASSERT_TRUE(preset.ok());
  Yolact model(*preset);
  NamedTensors sd = StateDict(*model);
  sd.erase(sd.begin());
  sd.emplace_back("backbone.extra.weight", torch::zeros({1}));
  Status s = LoadStateDict(*model, sd);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("missing [backbone.layers.0.0.conv1.weight]"),
            std::string::npos)
      << s;
  EXPECT_NE(std::string(s.message()).find("unexpected [backbone.extra.weight]"), std::string::npos);
  EXPECT_EQ(LoadTensorDict("/nonexistent/weights.pt").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace ablate::detector
