#include "server/leaderboard.h"

#include <gtest/gtest.h>

#include "server/test_util.h"

namespace ablate::server {
namespace {

using testing::AddEval;
using testing::AddRun;
using testing::Settings;
using testing::StatsWithAp;

class LeaderboardTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = testing::OpenTestStore(); }
  std::vector<std::string> RunNames(const LeaderboardGroup& g) {
    std::vector<std::string> out;
    for (const auto& r : g.rows) out.push_back(r.run.name);
    return out;
  }
  std::unique_ptr<SqliteRunStore> store_;
};

TEST_F(LeaderboardTest, OneRowPerRunBestEvaluationSortedByStat) {
  RunId a = AddRun(*store_, "a").id;
  RunId b = AddRun(*store_, "b").id;
  RunId c = AddRun(*store_, "c").id;
  AddEval(*store_, a, std::nullopt, Settings(0.05), StatsWithAp(0.30));
  auto ck = testing::AddCheckpoint(*store_, a, "step2", 2);
  AddEval(*store_, a, ck.id, Settings(0.05), StatsWithAp(0.35));  // a's best
  AddEval(*store_, b, std::nullopt, Settings(0.05), StatsWithAp(0.33));
  AddEval(*store_, c, std::nullopt, Settings(0.05), StatsWithAp(0.10));
  auto board = BuildLeaderboard(*store_, LeaderboardQuery{});
  ASSERT_TRUE(board.ok()) << board.status();
  ASSERT_EQ(board->groups.size(), 1u);
  const auto& g = board->groups[0];
  EXPECT_EQ(RunNames(g), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(g.rows[0].evaluation.checkpoint_name, "step2");
  EXPECT_DOUBLE_EQ(g.rows[0].sort_value, 0.35);
  EXPECT_EQ(g.rows[2].rank, 3);
}

TEST_F(LeaderboardTest, SortsByAnyStat) {
  RunId a = AddRun(*store_, "a").id;
  RunId b = AddRun(*store_, "b").id;
  CocoStats sa = StatsWithAp(0.4);
  CocoStats sb = StatsWithAp(0.3);
  sb[11] = 0.99;  // b has the better ARl
  AddEval(*store_, a, std::nullopt, Settings(0.05), sa);
  AddEval(*store_, b, std::nullopt, Settings(0.05), sb);
  LeaderboardQuery q;
  q.stat_index = 11;
  auto board = BuildLeaderboard(*store_, q);
  ASSERT_TRUE(board.ok());
  EXPECT_EQ(RunNames(board->groups[0]), (std::vector<std::string>{"b", "a"}));
  EXPECT_DOUBLE_EQ(board->groups[0].rows[0].sort_value, 0.99);
}

TEST_F(LeaderboardTest, DifferentSettingsOrDatasetsAreSeparateGroups) {
  RunId a = AddRun(*store_, "a").id;
  RunId b = AddRun(*store_, "b").id;
  RunId c = AddRun(*store_, "c").id;
  AddEval(*store_, a, std::nullopt, Settings(0.05), StatsWithAp(0.30));
  AddEval(*store_, b, std::nullopt, Settings(0.05), StatsWithAp(0.20));
  // Higher AP but at a lower score threshold: must not outrank a and b.
  AddEval(*store_, c, std::nullopt, Settings(0.005), StatsWithAp(0.90));
  // Same settings, another dataset.
  AddEval(*store_, c, std::nullopt, Settings(0.05, "sha256:other"), StatsWithAp(0.95));
  auto board = BuildLeaderboard(*store_, LeaderboardQuery{});
  ASSERT_TRUE(board.ok());
  ASSERT_EQ(board->groups.size(), 3u);
  EXPECT_TRUE(board->groups[0].selected);
  EXPECT_EQ(board->groups[0].run_count, 2);
  EXPECT_EQ(RunNames(board->groups[0]), (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(board->groups[1].selected);
  EXPECT_TRUE(board->groups[1].rows.empty());

  LeaderboardQuery pick;
  pick.score_threshold = 0.005;
  auto filtered = BuildLeaderboard(*store_, pick);
  ASSERT_TRUE(filtered.ok());
  ASSERT_EQ(filtered->groups.size(), 1u);
  EXPECT_EQ(RunNames(filtered->groups[0]), (std::vector<std::string>{"c"}));

  LeaderboardQuery all;
  all.all_groups = true;
  auto every = BuildLeaderboard(*store_, all);
  ASSERT_TRUE(every.ok());
  for (const auto& g : every->groups) EXPECT_FALSE(g.rows.empty()) << g.eval_key;

  LeaderboardQuery by_key;
  by_key.group = EvalKey(Settings(0.05, "sha256:other"));
  auto chosen = BuildLeaderboard(*store_, by_key);
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ(chosen->groups[0].eval_key, by_key.group);
  EXPECT_EQ(RunNames(chosen->groups[0]), (std::vector<std::string>{"c"}));
}

TEST_F(LeaderboardTest, FiltersBySweepStatusAndIouType) {
  RunId a = AddRun(*store_, "a", {}, "s1").id;
  RunId b = AddRun(*store_, "b", {}, "s2").id;
  AddEval(*store_, a, std::nullopt, Settings(0.05), StatsWithAp(0.30));
  AddEval(*store_, b, std::nullopt, Settings(0.05), StatsWithAp(0.40));
  AddEval(*store_, b, std::nullopt, Settings(0.05, "sha256:d", IouType::kSegm), StatsWithAp(0.2));
  ASSERT_TRUE(store_->SetRunStatus(b, RunStatus::kDiverged).ok());
  LeaderboardQuery q;
  q.sweep = "s1";
  EXPECT_EQ(RunNames(BuildLeaderboard(*store_, q)->groups[0]), (std::vector<std::string>{"a"}));
  LeaderboardQuery st;
  st.statuses = {RunStatus::kDiverged};
  EXPECT_EQ(RunNames(BuildLeaderboard(*store_, st)->groups[0]), (std::vector<std::string>{"b"}));
  LeaderboardQuery segm;
  segm.iou_type = IouType::kSegm;
  auto s = BuildLeaderboard(*store_, segm);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->groups.size(), 1u);
  EXPECT_DOUBLE_EQ(s->groups[0].rows[0].sort_value, 0.2);
  LeaderboardQuery top;
  top.top = 1;
  EXPECT_EQ(BuildLeaderboard(*store_, top)->groups[0].rows.size(), 1u);
}

TEST_F(LeaderboardTest, AscendingListsWorstFirstKeepsBestFirstRanksAndUnscoredLast) {
  RunId a = AddRun(*store_, "a").id;
  RunId b = AddRun(*store_, "b").id;
  RunId c = AddRun(*store_, "c").id;
  RunId d = AddRun(*store_, "d").id;
  AddEval(*store_, a, std::nullopt, Settings(0.05), StatsWithAp(0.30));
  AddEval(*store_, b, std::nullopt, Settings(0.05), StatsWithAp(0.10));
  AddEval(*store_, c, std::nullopt, Settings(0.05), StatsWithAp(-1));  // pycocotools: no value
  AddEval(*store_, d, std::nullopt, Settings(0.05), StatsWithAp(0.20));
  LeaderboardQuery q;
  q.ascending = true;
  auto board = BuildLeaderboard(*store_, q);
  ASSERT_TRUE(board.ok()) << board.status();
  const auto& rows = board->groups[0].rows;
  EXPECT_EQ(RunNames(board->groups[0]), (std::vector<std::string>{"b", "d", "a", "c"}));
  // Best first a (1), d (2), b (3), c (4): each row keeps that rank.
  EXPECT_EQ(rows[0].rank, 3);
  EXPECT_EQ(rows[1].rank, 2);
  EXPECT_EQ(rows[2].rank, 1);
  EXPECT_EQ(rows[3].rank, 4);
  q.top = 2;  // the two worst scored runs
  EXPECT_EQ(RunNames(BuildLeaderboard(*store_, q)->groups[0]),
            (std::vector<std::string>{"b", "d"}));
}

TEST_F(LeaderboardTest, Errors) {
  LeaderboardQuery bad;
  bad.stat_index = 12;
  EXPECT_EQ(BuildLeaderboard(*store_, bad).status().code(), absl::StatusCode::kInvalidArgument);
  LeaderboardQuery neg;
  neg.top = -1;
  EXPECT_EQ(BuildLeaderboard(*store_, neg).status().code(), absl::StatusCode::kInvalidArgument);
  LeaderboardQuery group;
  group.group = "bbox|nothing";
  EXPECT_EQ(BuildLeaderboard(*store_, group).status().code(), absl::StatusCode::kNotFound);
  auto empty = BuildLeaderboard(*store_, LeaderboardQuery{});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->groups.empty());
}

}  // namespace
}  // namespace ablate::server
