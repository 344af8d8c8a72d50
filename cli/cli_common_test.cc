#include "cli/cli_common.h"

#include <gtest/gtest.h>

namespace ablate::cli {
namespace {

TEST(TableTest, AlignsColumnsAndRightAlignsNumbers) {
  Table t({"run", "AP"});
  t.AddRow({"tuning-diary-3", "0.268"});
  t.AddRow({"b", "-0.1"});
  EXPECT_EQ(t.Render(),
            "run                AP\n"
            "tuning-diary-3  0.268\n"
            "b                -0.1\n");
}

TEST(TableTest, WideCharactersCountAsOneColumn) {
  Table t({"name", "x"});
  t.AddRow({"从头", "1"});
  t.AddRow({"abcd", "2"});
  EXPECT_EQ(t.Render(), "name  x\n从头    1\nabcd  2\n");
}

TEST(StatsJsonTest, UsesTheTwelveStatNamesInOrder) {
  CocoStats s{};
  for (int i = 0; i < kNumCocoStats; ++i) s[static_cast<size_t>(i)] = i / 100.0;
  v1::CocoStats p;
  StatsToProto(s, &p);
  EXPECT_DOUBLE_EQ(p.ap50(), 0.01);
  EXPECT_DOUBLE_EQ(p.arl(), 0.11);
  nlohmann::json j = StatsJson(p);
  ASSERT_EQ(j.size(), 12u);
  EXPECT_EQ(j["AP"], 0.0);
  EXPECT_EQ(j["APs"], 0.03);
  EXPECT_EQ(j["AR100"], 0.08);
  EXPECT_EQ(j["ARl"], 0.11);
  EXPECT_EQ(StatsFromProto(p), s);
}

TEST(FormatTest, FixedAndSigned) {
  EXPECT_EQ(Fixed(0.2684), "0.268");
  EXPECT_EQ(Signed(0.006), "+0.006");
  EXPECT_EQ(Signed(-0.1), "-0.100");
}

TEST(FormatTest, Bytes) {
  EXPECT_EQ(Bytes(0), "0 B");
  EXPECT_EQ(Bytes(1023), "1023 B");
  EXPECT_EQ(Bytes(5000), "4.9 KiB");
  EXPECT_EQ(Bytes(int64_t{3} << 20), "3.0 MiB");
  EXPECT_EQ(Bytes(int64_t{5} << 30), "5.00 GiB");
}

TEST(CheckpointJsonTest, RetentionState) {
  v1::Checkpoint c;
  c.set_name("step100");
  EXPECT_EQ(CheckpointState(c), "kept");
  EXPECT_TRUE(CheckpointJson(c)["deleted_by_job"].is_null());
  c.set_deleting_job_id(4);
  EXPECT_EQ(CheckpointStateText(c), "deleting (job 4)");
  c.set_deleting_job_id(0);
  c.set_deleted_unix_ms(1700000000000);
  c.set_deleted_by_job_id(4);
  EXPECT_EQ(CheckpointStateText(c), "deleted (job 4)");
  EXPECT_EQ(CheckpointJson(c)["state"], "deleted");
  EXPECT_EQ(CheckpointJson(c)["deleted_by_job"], 4);
}

TEST(SettingsTextTest, UnknownFieldsAreQuestionMarks) {
  v1::EvalSettings s;
  s.set_score_threshold(0.05);
  s.set_top_k(100);
  s.set_dataset_fingerprint("diary:x.txt");
  EXPECT_EQ(SettingsText(s),
            "score_threshold=0.05 top_k=100 nms_iou=? max_dets=? dataset=diary:x.txt");
}

}  // namespace
}  // namespace ablate::cli
