#include "detector/config/train_config.h"

#include <gtest/gtest.h>

#include "nlohmann/json.hpp"

namespace ablate::detector {
namespace {

TEST(TrainConfigTest, ParsesEveryKindOfValue) {
  TrainConfig c;
  ASSERT_TRUE(c.ParseOverride("pos_threshold", "0.6").ok());
  ASSERT_TRUE(c.ParseOverride("conf_loss", "focal").ok());
  ASSERT_TRUE(c.ParseOverride("box_loss", "ciou").ok());
  ASSERT_TRUE(c.ParseOverride("ghm_bins", "10").ok());
  ASSERT_TRUE(c.ParseAssignment("lr_steps=100,200").ok());
  ASSERT_TRUE(c.ParseAssignment("optimizer=adamw").ok());
  EXPECT_DOUBLE_EQ(c.pos_threshold, 0.6);
  EXPECT_EQ(c.conf_loss, ConfLoss::kFocalSigmoid);
  EXPECT_EQ(c.box_loss, BoxLoss::kCiou);
  EXPECT_EQ(c.ghm_bins, 10);
  EXPECT_EQ(c.lr_steps, (std::vector<int>{100, 200}));
  EXPECT_EQ(c.optimizer, OptimizerType::kAdamW);
}

TEST(TrainConfigTest, UnknownKeyNamesTheKey) {
  TrainConfig c;
  Status s = c.ParseOverride("pos_treshold", "0.5");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("unknown key 'pos_treshold'"), std::string::npos);
}

TEST(TrainConfigTest, UnknownLossNameIsRejected) {
  TrainConfig c;
  Status s = c.ParseOverride("conf_loss", "hinge");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("unknown conf_loss"), std::string::npos);
  s = c.ParseOverride("box_loss", "giou");
  EXPECT_NE(std::string(s.message()).find("unknown box_loss"), std::string::npos);
}

TEST(TrainConfigTest, BadNumbersAreRejected) {
  TrainConfig c;
  EXPECT_EQ(c.ParseOverride("lr", "fast").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.ParseOverride("batch_size", "2.5").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.ParseOverride("batch_size", "0").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.ParseOverride("focal_alpha", "1.5").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.ParseOverride("lr_steps", "200,100").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.ParseAssignment("lr").code(), absl::StatusCode::kInvalidArgument);
}

TEST(TrainConfigTest, NegAtOrAbovePosIsAnError) {
  auto c = TrainPreset("tiny");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->Validate().ok());
  ASSERT_TRUE(c->ParseOverride("neg_threshold", "0.5").ok());
  Status s = c->Validate();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("neg_threshold"), std::string::npos);
  // Best-anchor mode: pos > 1 with any neg below it is fine.
  ASSERT_TRUE(c->ParseOverride("pos_threshold", "2").ok());
  EXPECT_TRUE(c->Validate().ok());
}

TEST(TrainConfigTest, PresetsAndJsonRoundTrip) {
  for (const char* name : {"tiny", "r50", "r101"}) {
    auto c = TrainPreset(name);
    ASSERT_TRUE(c.ok()) << name;
    EXPECT_TRUE(c->Validate().ok()) << name << ": " << c->Validate();
    auto back = TrainConfigFromJson(TrainConfigToJson(*c));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(TrainConfigToJson(*back), TrainConfigToJson(*c)) << name;
  }
  EXPECT_EQ(TrainPreset("r9000").status().code(), absl::StatusCode::kNotFound);
  // r50-dcn: YOLACT++ layout with deformable convs in stages 2-4.
  auto dcn = TrainPreset("r50-dcn");
  ASSERT_TRUE(dcn.ok());
  EXPECT_TRUE(dcn->Validate().ok()) << dcn->Validate();
  dcn->model.dcn_layers = {0, 9, 0, 0};
  EXPECT_EQ(dcn->Validate().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TrainConfigTest, ReferenceAnchorsFollowTheRule) {
  // YOLACT++: 24 * 2^(j/3) at 550 px; scaled with the image size.
  auto levels = ReferenceAnchors(128, 3, 1.0);
  ASSERT_EQ(levels.size(), 5u);
  EXPECT_NEAR(levels[0].scales[0], 24.0 * 128 / 550, 1e-12);
  EXPECT_NEAR(levels[0].scales[1], 24.0 * 128 / 550 * std::pow(2.0, 1.0 / 3), 1e-12);
  EXPECT_NEAR(levels[4].scales[2], 384.0 * 128 / 550 * std::pow(2.0, 2.0 / 3), 1e-12);
  EXPECT_EQ(levels[0].PriorsPerLocation(), 9);
}

TEST(TrainConfigTest, ImageSizeOverrideScalesAnchors) {
  auto c = TrainPreset("tiny");
  ASSERT_TRUE(c.ok());
  const double before = c->model.anchors[0].scales[0];
  ASSERT_TRUE(c->ParseOverride("image_size", "256").ok());
  EXPECT_EQ(c->model.image_size, 256);
  EXPECT_NEAR(c->model.anchors[0].scales[0], before * 2, 1e-12);
}

TEST(TrainConfigTest, ModelKnobsChangeTheNetworkAndRoundTrip) {
  auto c = TrainPreset("tiny");
  ASSERT_TRUE(c.ok());
  // Order-independent: the protonet keeps both the new width and the new prototype count.
  ASSERT_TRUE(c->ParseAssignment("num_prototypes=12").ok());
  ASSERT_TRUE(c->ParseAssignment("fpn_features=48").ok());
  ASSERT_TRUE(c->ParseAssignment("backbone_block=basic").ok());
  ASSERT_TRUE(c->ParseAssignment("backbone_width=24").ok());
  ASSERT_TRUE(c->ParseAssignment("backbone_layers=2,1,1,1").ok());
  ASSERT_TRUE(c->ParseAssignment("anchor_scale=3").ok());
  EXPECT_EQ(c->model.block, BlockType::kBasic);
  EXPECT_EQ(c->model.base_width, 24);
  EXPECT_EQ(c->model.StageChannels(3), 24 * 8);  // basic blocks: no x4 expansion
  EXPECT_EQ(c->model.layers, (std::vector<int>{2, 1, 1, 1}));
  EXPECT_EQ(c->model.fpn_features, 48);
  EXPECT_EQ(c->model.NumPrototypes(), 12);
  EXPECT_EQ(c->model.proto_net.front().out_channels, 48);
  EXPECT_EQ(c->model.head_extra.front().out_channels, 48);
  // anchor_scale is relative to the reference rule (24 px at 550, scaled to 128 px) and sets:
  // giving it twice does not compound.
  EXPECT_NEAR(c->model.anchors[0].scales[0], 3 * 24.0 * 128 / 550, 1e-9);
  EXPECT_NEAR(c->model.anchors[4].scales[0], 3 * 384.0 * 128 / 550, 1e-9);
  ASSERT_TRUE(c->ParseAssignment("anchor_scale=3").ok());
  EXPECT_NEAR(c->model.anchors[0].scales[0], 3 * 24.0 * 128 / 550, 1e-9);
  EXPECT_TRUE(c->Validate().ok()) << c->Validate();

  const nlohmann::json j = TrainConfigToJson(*c);
  EXPECT_FALSE(j.contains("backbone_width")) << "model knobs live inside \"model\"";
  auto back = TrainConfigFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(TrainConfigToJson(*back), j);
  EXPECT_EQ(back->model.NumPrototypes(), 12);
}

TEST(TrainConfigTest, InitFromAndItsSha256) {
  auto c = TrainPreset("r50");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->ParseAssignment("init_from=/w/resnet50-19c8e357.pth").ok());
  EXPECT_EQ(c->init_from, "/w/resnet50-19c8e357.pth");
  const std::string sha(64, 'a');
  ASSERT_TRUE(c->ParseAssignment("init_sha256=" + sha).ok());
  EXPECT_TRUE(c->Validate().ok()) << c->Validate();
  auto back = TrainConfigFromJson(TrainConfigToJson(*c));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->init_from, "/w/resnet50-19c8e357.pth");
  EXPECT_EQ(back->init_sha256, sha);
  EXPECT_EQ(c->ParseAssignment("init_sha256=ABC").message(),
            "--set init_sha256=ABC: expected 64 lowercase hex digits (a sha256) or empty");
  c->init_from.clear();
  EXPECT_EQ(c->Validate().message(), "init_sha256: set without init_from");
}

TEST(TrainConfigTest, BadModelKnobsNameTheProblem) {
  auto c = TrainPreset("tiny");
  ASSERT_TRUE(c.ok());
  for (const char* bad :
       {"backbone_block=dense", "backbone_layers=1,1,1", "backbone_layers=1,0,1,1",
        "backbone_layers=1,x,1,1", "backbone_width=0", "fpn_features=-4", "num_prototypes=0",
        "anchor_scale=0", "anchor_scale=nan"}) {
    Status s = c->ParseAssignment(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    const std::string key = std::string(bad).substr(0, std::string(bad).find('='));
    EXPECT_NE(std::string(s.message()).find(key), std::string::npos) << s;
  }
  // Structure errors surface at validation: deformable convs need bottleneck blocks.
  auto dcn = TrainPreset("r50-dcn");
  ASSERT_TRUE(dcn.ok());
  ASSERT_TRUE(dcn->ParseAssignment("backbone_block=basic").ok());
  EXPECT_EQ(dcn->Validate().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ablate::detector
