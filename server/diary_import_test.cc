#include "server/diary_import.h"

#include <gtest/gtest.h>

#include "common/atomic_file.h"
#include "server/diary/diary_parser.h"
#include "server/test_util.h"

namespace ablate::server {
namespace {

// The CLI's mapping, reproduced here so the core is tested without gRPC.
DiaryImport FromParse(const diary::DiaryParseResult& parsed, const std::string& dataset) {
  DiaryImport import;
  import.source = "tuning-diary.txt";
  import.sweep = "tuning-diary";
  for (const auto& e : parsed.evaluations) {
    DiaryImportEntry d;
    d.line = e.line;
    d.run_name = e.run_name;
    d.new_run = e.new_run;
    d.config = e.config;
    d.checkpoint = e.checkpoint.value_or("");
    d.checkpoint_uri = e.checkpoint_file;
    d.parent_checkpoint = e.parent_checkpoint.value_or("");
    d.settings.iou_type = e.eval.iou_type == "segm" ? IouType::kSegm : IouType::kBbox;
    d.settings.score_threshold = e.eval.score_threshold;
    d.settings.top_k = e.eval.top_k;
    d.settings.nms_iou = e.eval.nms_iou;
    d.settings.max_dets = e.eval.max_dets;
    d.settings.dataset_fingerprint = dataset;
    d.stats = e.stats;
    import.entries.push_back(std::move(d));
  }
  return import;
}

class DiaryImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::OpenTestStore();
    auto text = ReadFile("../shared/samples/tuning-diary.txt");
    ASSERT_TRUE(text.ok()) << text.status();
    import_ = FromParse(diary::ParseDiary(*text, "tuning-diary.txt"), "diary:tuning-diary.txt");
  }
  std::unique_ptr<SqliteRunStore> store_;
  DiaryImport import_;
};

TEST_F(DiaryImportTest, SharedSampleGivesFourRunsThreeCheckpointsFiveEvaluations) {
  auto r = ImportDiary(*store_, import_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->runs_created, 4);
  EXPECT_EQ(r->checkpoints_created, 3);
  EXPECT_EQ(r->evaluations_created, 5);
  auto runs = store_->ListRuns(RunFilter{});
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 4u);
  EXPECT_EQ((*runs)[2].name, "tuning-diary-3");
  EXPECT_EQ((*runs)[2].parent_run_name, "tuning-diary-2");
  EXPECT_EQ((*runs)[2].parent_checkpoint_name, "step0200000-ep014-loss4.902");
  EXPECT_EQ((*runs)[2].sweep, "tuning-diary");
  EXPECT_EQ((*runs)[2].status, RunStatus::kSucceeded);
  auto ckpts = store_->ListCheckpoints(std::nullopt);
  ASSERT_TRUE(ckpts.ok());
  ASSERT_EQ(ckpts->size(), 3u);
  EXPECT_EQ((*ckpts)[0].name, "step0200000-ep014-loss4.902");
  EXPECT_EQ((*ckpts)[0].step, 200000);
  EXPECT_EQ((*ckpts)[0].epoch, 14);
  EXPECT_DOUBLE_EQ(*(*ckpts)[0].loss, 4.902);
  // The re-scoring is a second evaluation of the focal run's checkpoint.
  EvaluationFilter f;
  f.run = (*runs)[2].id;
  auto evals = store_->ListEvaluations(f);
  ASSERT_TRUE(evals.ok());
  ASSERT_EQ(evals->size(), 2u);
  EXPECT_EQ((*evals)[0].checkpoint_id, (*evals)[1].checkpoint_id);
  EXPECT_EQ((*evals)[1].settings.score_threshold, 0.005);
  EXPECT_DOUBLE_EQ((*evals)[1].stats[0], 0.271);
}

TEST_F(DiaryImportTest, ReimportDuplicatesNothing) {
  ASSERT_TRUE(ImportDiary(*store_, import_).ok());
  auto again = ImportDiary(*store_, import_);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->runs_created, 0);
  EXPECT_EQ(again->checkpoints_created, 0);
  EXPECT_EQ(again->evaluations_created, 0);
  EXPECT_EQ(store_->ListRuns(RunFilter{})->size(), 4u);
  EXPECT_EQ(store_->ListEvaluations(EvaluationFilter{})->size(), 5u);
}

TEST_F(DiaryImportTest, FailureInALaterEntryStoresNothing) {
  // The last entry re-scores a checkpoint nobody has: NotFound at its line, and the earlier
  // entries of the same import must be rolled back.
  DiaryImportEntry bad = import_.entries.back();
  bad.line = 999;
  bad.run_name.clear();
  bad.new_run = false;
  bad.checkpoint = "step0777777";
  import_.entries.push_back(bad);
  auto r = ImportDiary(*store_, import_);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(std::string(r.status().message()), "line 999: no checkpoint matches 'step0777777'");
  EXPECT_TRUE(store_->ListRuns(RunFilter{})->empty());
  EXPECT_TRUE(store_->ListCheckpoints(std::nullopt)->empty());
  EXPECT_TRUE(store_->ListEvaluations(EvaluationFilter{})->empty());
}

TEST_F(DiaryImportTest, ChangedNumbersOnReimportAreRefusedWithLine) {
  ASSERT_TRUE(ImportDiary(*store_, import_).ok());
  import_.entries[1].stats[0] = 0.999;
  auto r = ImportDiary(*store_, import_);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(std::string(r.status().message()).rfind("line 19: ", 0), 0u) << r.status();
}

}  // namespace
}  // namespace ablate::server
