// Matcher and loss terms against small hand-computed cases (values derived in the comments).
#include "detector/losses.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "detector/config/train_config.h"
#include "detector/model.h"

namespace ablate::detector {
namespace {

const double kLn2 = std::log(2.0);

torch::Tensor T(std::vector<float> v, std::vector<int64_t> shape) {
  return torch::tensor(v, torch::kFloat32).view(shape);
}
torch::Tensor L(std::vector<int64_t> v) { return torch::tensor(v, torch::kLong); }
std::vector<int64_t> Vec(const torch::Tensor& t) {
  torch::Tensor c = t.to(torch::kLong).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

// Priors (center form): the four quadrants of the unit square, a centred box and a box inside
// the bottom-right quadrant.
//   p0 [0,0,.5,.5]  p1 [.5,0,1,.5]  p2 [0,.5,.5,1]  p3 [.5,.5,1,1]  p4 [.25,.25,.75,.75]
//   p5 [.5,.55,1,.95]
torch::Tensor Priors() {
  return T({.25f, .25f, .5f, .5f, .75f, .25f, .5f, .5f, .25f, .75f, .5f, .5f,
            .75f, .75f, .5f, .5f, .5f,  .5f,  .5f, .5f, .75f, .75f, .5f, .4f},
           {6, 4});
}
// g0 [0,0,.5,.4] label 2: IoU p0 0.8, p4 0.0909. g1 [.5,.5,1,1] label 0: IoU p3 1, p4 0.1429,
// p5 0.8.
torch::Tensor Truths() { return T({0, 0, .5f, .4f, .5f, .5f, 1, 1}, {2, 4}); }
torch::Tensor NoBoxes() { return torch::zeros({0, 4}); }

TEST(MatchTest, ThresholdsGivePositiveBackgroundAndIgnored) {
  auto m =
      Match({/*pos=*/0.5, /*neg=*/0.1, /*crowd=*/0.7}, Truths(), L({2, 0}), NoBoxes(), Priors());
  ASSERT_TRUE(m.ok()) << m.status();
  // p4's best IoU 0.1429 lies between neg 0.1 and pos 0.5: ignored.
  EXPECT_EQ(Vec(m->conf_t), (std::vector<int64_t>{3, 0, 0, 1, -1, 1}));
  EXPECT_EQ(Vec(m->idx_t)[0], 0);
  EXPECT_EQ(Vec(m->idx_t)[5], 1);
  // p0 <- g0: centre (.25,.2) vs (.25,.25), size (.5,.4) vs (.5,.5):
  // dy = -.05 / (.1 * .5) = -1, dh = log(.8) / .2.
  EXPECT_NEAR(m->loc_t[0][0].item<float>(), 0.0, 1e-6);
  EXPECT_NEAR(m->loc_t[0][1].item<float>(), -1.0, 1e-5);
  EXPECT_NEAR(m->loc_t[0][2].item<float>(), 0.0, 1e-6);
  EXPECT_NEAR(m->loc_t[0][3].item<float>(), -1.1157177565710485, 1e-5);
  EXPECT_NEAR(m->loc_t[3].abs().sum().item<float>(), 0.0, 1e-6);  // identical box
}

TEST(MatchTest, BestAnchorOnlyModeWithPosThresholdAboveOne) {
  auto m =
      Match({/*pos=*/2.0, /*neg=*/0.4, /*crowd=*/0.7}, Truths(), L({2, 0}), NoBoxes(), Priors());
  ASSERT_TRUE(m.ok());
  // Only the forced best anchors (p0 for g0, p3 for g1) are positive; p5 (IoU 0.8) is ignored.
  EXPECT_EQ(Vec(m->conf_t), (std::vector<int64_t>{3, 0, 0, 1, 0, -1}));
}

TEST(MatchTest, EveryTruthIsForceMatchedEvenWithLowIou) {
  // g [0,0,.1,.1]: best IoU 0.01/0.25 = 0.04 (p0), below neg 0.4, still positive.
  auto m = Match({0.5, 0.4, 0.7}, T({0, 0, .1f, .1f}, {1, 4}), L({1}), NoBoxes(), Priors());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(Vec(m->conf_t), (std::vector<int64_t>{2, 0, 0, 0, 0, 0}));
}

TEST(MatchTest, CrowdBoxesIgnoreCoveredNonPositiveAnchors) {
  // Crowd [.5,0,1,.5] covers p1 entirely (fraction 1 > .7), p4 by 0.25 only.
  auto m = Match({0.5, 0.4, 0.7}, Truths(), L({2, 0}), T({.5f, 0, 1, .5f}, {1, 4}), Priors());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(Vec(m->conf_t), (std::vector<int64_t>{3, -1, 0, 1, 0, 1}));
  // A crowd box never turns a positive into ignored: crowd over p3 (positive for g1).
  m = Match({0.5, 0.4, 0.7}, Truths(), L({2, 0}), T({.5f, .5f, 1, 1}, {1, 4}), Priors());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(Vec(m->conf_t)[3], 1);
  EXPECT_EQ(Vec(m->conf_t)[5], 1);
  // crowd_threshold >= 1 disables it.
  m = Match({0.5, 0.4, 1.0}, Truths(), L({2, 0}), T({.5f, 0, 1, .5f}, {1, 4}), Priors());
  EXPECT_EQ(Vec(m->conf_t)[1], 0);
}

TEST(MatchTest, EmptyImageIsAllBackgroundExceptCrowd) {
  auto m = Match({0.5, 0.4, 0.7}, NoBoxes(), torch::zeros({0}, torch::kLong), NoBoxes(), Priors());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(Vec(m->conf_t), (std::vector<int64_t>(6, 0)));
  m = Match({0.5, 0.4, 0.7}, NoBoxes(), torch::zeros({0}, torch::kLong),
            T({.5f, 0, 1, .5f}, {1, 4}), Priors());
  EXPECT_EQ(Vec(m->conf_t), (std::vector<int64_t>{0, -1, 0, 0, 0, 0}));
}

TEST(MatchTest, NegAbovePosIsAnError) {
  auto m = Match({0.4, 0.5, 0.7}, Truths(), L({2, 0}), NoBoxes(), Priors());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(m.status().message()).find("neg_threshold"), std::string::npos);
}

TEST(BoxLossTest, SmoothL1) {
  // |d| = .5 -> .5*.25 = .125; 2 -> 1.5; 1 -> .5; 0 -> 0.
  torch::Tensor l = SmoothL1BoxLoss(torch::zeros({1, 4}), T({.5f, 2, -1, 0}, {1, 4}));
  EXPECT_NEAR(l.item<float>(), 2.125, 1e-6);
}

TEST(BoxLossTest, CompleteIou) {
  // Same aspect: IoU 1/3, centre distance^2 1, enclosing diagonal^2 13, v = 0.
  torch::Tensor l = CiouBoxLoss(T({0, 0, 2, 2}, {1, 4}), T({1, 0, 3, 2}, {1, 4}));
  EXPECT_NEAR(l.item<float>(), 1 - 1.0 / 3 + 1.0 / 13, 1e-6);
  // Aspect term: [0,0,2,1] vs [0,0,1,1]: IoU .5, rho^2/c^2 = .25/5,
  // v = 4/pi^2 (atan 1 - atan 2)^2, alpha = v / (1 - .5 + v): 0.553248129298557.
  l = CiouBoxLoss(T({0, 0, 2, 1}, {1, 4}), T({0, 0, 1, 1}, {1, 4}));
  EXPECT_NEAR(l.item<float>(), 0.553248129298557, 1e-6);
  EXPECT_NEAR(CiouBoxLoss(T({1, 1, 2, 3}, {1, 4}), T({1, 1, 2, 3}, {1, 4})).item<float>(), 0, 1e-6);
}

// Rows: p0 [0,0] positive class 1; p1 [0,ln3] background (bg loss ln4); p2 [0,0] background
// (ln2); p3 [0,ln7] ignored (would be the hardest, ln8).
torch::Tensor OhemConf() { return T({0, 0, 0, std::log(3.f), 0, 0, 0, std::log(7.f)}, {1, 4, 2}); }
torch::Tensor OhemTargets() { return L({1, 0, 0, -1}).view({1, 4}); }

TEST(ConfLossTest, CrossEntropyUsesAllNonIgnored) {
  torch::Tensor l = CeConfLoss(OhemConf().view({4, 2}), OhemTargets().view({4}));
  EXPECT_NEAR(l.item<float>(), kLn2 + 2 * kLn2 + kLn2, 1e-5);
}

TEST(ConfLossTest, OhemKeepsHardestNegativesPerRatio) {
  EXPECT_NEAR(OhemConfLoss(OhemConf(), OhemTargets(), 1).item<float>(), 3 * kLn2, 1e-5);
  EXPECT_NEAR(OhemConfLoss(OhemConf(), OhemTargets(), 2).item<float>(), 4 * kLn2, 1e-5);
  // More negatives requested than exist: still only p1 and p2, never the ignored p3.
  EXPECT_NEAR(OhemConfLoss(OhemConf(), OhemTargets(), 3).item<float>(), 4 * kLn2, 1e-5);
  // No positives: no negatives either (reference), a zero that still backpropagates.
  torch::Tensor conf = OhemConf().clone().requires_grad_(true);
  torch::Tensor l = OhemConfLoss(conf, L({0, 0, 0, -1}).view({1, 4}), 3);
  EXPECT_EQ(l.item<float>(), 0);
  l.backward();
}

TEST(ConfLossTest, FocalSoftmax) {
  // alpha .25, gamma 2, p_t = .5: foreground .25*.25*ln2, background .75*.25*ln2.
  torch::Tensor conf = torch::zeros({3, 2});
  torch::Tensor l = FocalSoftmaxConfLoss(conf, L({1, 0, -1}), 0.25, 2);
  EXPECT_NEAR(l.item<float>(), 0.25 * kLn2, 1e-6);
}

TEST(ConfLossTest, FocalSigmoidIgnoresBackgroundColumn) {
  // Row t=1, logits [5,0,0]: class 1 .25*.25*ln2 + class 2 .75*.25*ln2 (column 0 unused).
  // Row t=0, logits 0: two negatives .75*.25*ln2 each. Row t=-1 ignored.
  torch::Tensor conf = T({5, 0, 0, 0, 0, 0, 9, 9, 9}, {3, 3});
  torch::Tensor l = FocalSigmoidConfLoss(conf, L({1, 0, -1}), 0.25, 2);
  EXPECT_NEAR(l.item<float>(), 0.625 * kLn2, 1e-6);
}

TEST(ConfLossTest, GhmcWeightsByGradientDensity) {
  // C = 2 (one sigmoid class). Logits 0 and 0, targets 1 and 0: both g = .5, one bin, weight 1:
  // (ln2 + ln2) / 2 valid elements.
  GhmcLoss ghm(/*bins=*/2, /*momentum=*/0);
  EXPECT_NEAR(ghm(torch::zeros({3, 2}), L({1, 0, -1})).item<float>(), kLn2, 1e-6);
  // Logits 2 and 0: g = .119 (bin 0) and .5 (bin 1); weight tot/1/n = 2/1/2 = 1 each:
  // (log(1+e^-2) + ln2) / 2.
  torch::Tensor conf = T({0, 2, 0, 0}, {2, 2});
  EXPECT_NEAR(ghm(conf, L({1, 0})).item<float>(), 0.41003759580145893, 1e-6);
  // Momentum: first call acc = (1-m)*count, so weights scale by 1/(1-m).
  GhmcLoss ghm_m(/*bins=*/2, /*momentum=*/0.75);
  EXPECT_NEAR(ghm_m(conf, L({1, 0})).item<float>(), 0.41003759580145893 / 0.25, 1e-5);
}

TEST(MaskLossTest, BceNormalisedByBoxArea) {
  // Zero prototypes: every prediction is sigmoid(0) = .5.
  torch::Tensor proto = torch::zeros({4, 4, 1}), coeff = torch::ones({1, 1});
  // Full box, full mask: 16 px of ln2 / 16 px box area.
  torch::Tensor l = MaskLoss(proto, coeff, T({0, 0, 1, 1}, {1, 4}), torch::ones({1, 4, 4}));
  EXPECT_NEAR(l.item<float>(), kLn2, 1e-6);
  // Box [0,0,.5,1]: crop (padding 1 px) keeps columns 0-2; mask = columns 0-1. Columns 0-2 cost
  // ln2 each pixel (12 px), column 3 predicts 0 for target 0 (0). Box area 2 x 4 = 8 px.
  torch::Tensor mask = torch::zeros({1, 4, 4});
  mask.index_put_({0, torch::indexing::Slice(), torch::indexing::Slice(0, 2)}, 1);
  l = MaskLoss(proto, coeff, T({0, 0, .5f, 1}, {1, 4}), mask);
  EXPECT_NEAR(l.item<float>(), 1.5 * kLn2, 1e-6);
}

TEST(SemanticSegLossTest, PerClassUnionOfMasks) {
  // Zero logits: BCE ln2 at every pixel of every class whatever the target: 2 classes -> 2 ln2.
  torch::Tensor masks = torch::ones({1, 4, 4});
  EXPECT_NEAR(SemanticSegLoss(torch::zeros({2, 2, 2}), masks, L({0})).item<float>(), 2 * kLn2,
              1e-6);
  // Class 0 logits 2 with target 1 everywhere: log(1+e^-2); class 1 logits 0: ln2.
  torch::Tensor segm = torch::zeros({2, 2, 2});
  segm[0].fill_(2);
  EXPECT_NEAR(SemanticSegLoss(segm, masks, L({0})).item<float>(), 0.8200751916029179, 1e-6);
}

class YolactLossTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = TrainPreset("tiny");
    ASSERT_TRUE(c.ok());
    config_ = *c;
    config_.model.num_classes = 3;
    model_ = Yolact(config_.model);
  }
  std::vector<ImageTargets> Targets(bool empty) {
    std::vector<ImageTargets> t(2);
    for (auto& im : t) {
      im.boxes = empty ? NoBoxes() : T({.1f, .1f, .5f, .6f}, {1, 4});
      im.labels = empty ? torch::zeros({0}, torch::kLong) : L({1});
      im.masks = torch::zeros({empty ? 0 : 1, 128, 128});
      if (!empty) {
        im.masks.index_put_({0, torch::indexing::Slice(13, 77), torch::indexing::Slice(13, 64)}, 1);
      }
      im.crowd_boxes = NoBoxes();
    }
    return t;
  }
  TrainConfig config_;
  Yolact model_{nullptr};
};

TEST_F(YolactLossTest, ZeroWeightSkipsTerms) {
  config_.box_weight = config_.mask_weight = config_.semantic_weight = 0;
  YolactLoss loss(config_);
  YolactOutput out = model_->forward(torch::randn({2, 3, 128, 128}), /*with_segm=*/true);
  auto r = loss(out, Targets(false), *model_);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->terms.size(), 1u);
  EXPECT_EQ(r->terms.count("conf"), 1u);
  EXPECT_GT(r->num_positives, 0);
  r->total.backward();
}

TEST_F(YolactLossTest, EveryLossOptionGivesFiniteGradients) {
  for (ConfLoss conf : {ConfLoss::kCe, ConfLoss::kOhem, ConfLoss::kFocalSigmoid,
                        ConfLoss::kFocalSoftmax, ConfLoss::kGhmC}) {
    for (BoxLoss box : {BoxLoss::kSmoothL1, BoxLoss::kCiou}) {
      config_.conf_loss = conf;
      config_.box_loss = box;
      YolactLoss loss(config_);
      model_->zero_grad();
      YolactOutput out = model_->forward(torch::randn({2, 3, 128, 128}), true);
      auto r = loss(out, Targets(false), *model_);
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->terms.size(), 4u);  // box, conf, mask, semantic
      EXPECT_TRUE(std::isfinite(r->total.item<float>())) << ConfLossName(conf);
      r->total.backward();
    }
  }
}

TEST_F(YolactLossTest, EmptyImagesGiveFiniteLoss) {
  YolactLoss loss(config_);
  YolactOutput out = model_->forward(torch::randn({2, 3, 128, 128}), true);
  auto r = loss(out, Targets(true), *model_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->num_positives, 0);
  EXPECT_TRUE(std::isfinite(r->total.item<float>()));
  r->total.backward();
  auto bad = loss(out, {Targets(true)[0]}, *model_);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ablate::detector
