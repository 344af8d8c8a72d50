#include "server/run_comparison.h"

#include <gtest/gtest.h>

#include "server/test_util.h"

namespace ablate::server {
namespace {

using testing::AddEval;
using testing::AddRun;
using testing::Settings;
using testing::StatsWithAp;

TEST(DiffConfigsTest, KeyByKeyWithNestedPaths) {
  auto a = nlohmann::json::parse(R"({"lr": 0.001, "loss": {"conf": "ohem", "box": "l1"}, "x": 1})");
  auto b =
      nlohmann::json::parse(R"({"lr": 0.001, "loss": {"conf": "focal", "box": "l1"}, "y": 2})");
  auto d = DiffConfigs(a, b);
  ASSERT_EQ(d.size(), 5u);
  EXPECT_EQ(d[0].key, "loss.box");
  EXPECT_TRUE(d[0].same);
  EXPECT_EQ(d[1].key, "loss.conf");
  EXPECT_EQ(d[1].a_json, "\"ohem\"");
  EXPECT_EQ(d[1].b_json, "\"focal\"");
  EXPECT_FALSE(d[1].same);
  EXPECT_EQ(d[2].key, "lr");
  EXPECT_TRUE(d[2].same);
  EXPECT_EQ(d[3].key, "x");
  EXPECT_FALSE(d[3].b_json.has_value());
  EXPECT_EQ(d[4].key, "y");
  EXPECT_FALSE(d[4].a_json.has_value());
}

class CompareRunsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::OpenTestStore();
    a_ = AddRun(*store_, "a", {{"conf_loss", "ohem"}}).id;
    b_ = AddRun(*store_, "b", {{"conf_loss", "focal"}}).id;
  }
  std::unique_ptr<SqliteRunStore> store_;
  RunId a_, b_;
};

TEST_F(CompareRunsTest, ComparableEvaluationsWithDeltasAndCategories) {
  AddEval(*store_, a_, std::nullopt, Settings(0.05), StatsWithAp(0.262),
          {{1, "person", 0.50}, {2, "car", 0.30}, {3, "dog", 0.20}});
  AddEval(*store_, b_, std::nullopt, Settings(0.05), StatsWithAp(0.268),
          {{1, "person", 0.51}, {2, "car", 0.20}, {3, "dog", 0.25}});
  // b also has a better evaluation at another threshold; it must not be picked.
  AddEval(*store_, b_, std::nullopt, Settings(0.005), StatsWithAp(0.271));
  auto cmp = CompareRuns(*store_, a_, b_, 2);
  ASSERT_TRUE(cmp.ok()) << cmp.status();
  ASSERT_EQ(cmp->config_diff.size(), 1u);
  EXPECT_FALSE(cmp->config_diff[0].same);
  ASSERT_EQ(cmp->stats.size(), 1u);
  const auto& s = cmp->stats[0];
  EXPECT_TRUE(s.comparable);
  EXPECT_DOUBLE_EQ(s.b->stats[0], 0.268);
  EXPECT_NEAR(s.delta[0], 0.006, 1e-12);
  ASSERT_EQ(s.category_deltas.size(), 2u);
  EXPECT_EQ(s.category_deltas[0].category_name, "car");  // |-0.10| largest
  EXPECT_NEAR(s.category_deltas[0].delta, -0.10, 1e-12);
  EXPECT_EQ(s.category_deltas[1].category_name, "dog");
}

TEST_F(CompareRunsTest, NoCommonSettingsIsFlaggedWithReason) {
  AddEval(*store_, a_, std::nullopt, Settings(0.05), StatsWithAp(0.262));
  AddEval(*store_, b_, std::nullopt, Settings(0.005), StatsWithAp(0.271));
  auto cmp = CompareRuns(*store_, a_, b_, 10);
  ASSERT_TRUE(cmp.ok());
  const auto& s = cmp->stats[0];
  EXPECT_FALSE(s.comparable);
  EXPECT_EQ(s.reason,
            "no common eval settings; compared each run's best bbox AP: score_threshold 0.05 vs "
            "0.005");
}

TEST_F(CompareRunsTest, MissingIouTypeOnOneSide) {
  AddEval(*store_, a_, std::nullopt, Settings(0.05, "d", IouType::kSegm), StatsWithAp(0.2));
  auto cmp = CompareRuns(*store_, a_, b_, 10);
  ASSERT_TRUE(cmp.ok());
  ASSERT_EQ(cmp->stats.size(), 1u);
  EXPECT_EQ(cmp->stats[0].iou_type, IouType::kSegm);
  EXPECT_FALSE(cmp->stats[0].comparable);
  EXPECT_EQ(cmp->stats[0].reason, "run b has no segm evaluation");
}

TEST_F(CompareRunsTest, Errors) {
  EXPECT_EQ(CompareRuns(*store_, a_, a_, 10).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CompareRuns(*store_, a_, RunId{99}, 10).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace ablate::server
