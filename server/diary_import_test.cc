#include "server/diary_import.h"

#include <gtest/gtest.h>

#include "common/atomic_file.h"
#include "diary/diary_parser.h"
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

TEST_F(DiaryImportTest, FailingEntryIsSkippedWithItsLineAndTheRestIsStored) {
  // An entry re-scores a checkpoint nobody has: it is skipped with its line and reason; every
  // other entry of the same import is stored.
  DiaryImportEntry bad = import_.entries.back();
  bad.line = 999;
  bad.run_name.clear();
  bad.new_run = false;
  bad.checkpoint = "step0777777";
  import_.entries.insert(import_.entries.begin() + 2, bad);
  auto r = ImportDiary(*store_, import_);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->skipped.size(), 1u);
  EXPECT_EQ(r->skipped[0].line, 999);
  EXPECT_EQ(r->skipped[0].reason, "no checkpoint matches 'step0777777'");
  EXPECT_EQ(r->entries.size(), 5u);
  EXPECT_EQ(r->runs_created, 4);
  EXPECT_EQ(store_->ListRuns(RunFilter{})->size(), 4u);
  EXPECT_EQ(store_->ListEvaluations(EvaluationFilter{})->size(), 5u);
}

TEST_F(DiaryImportTest, AnEntryIsAllOrNothing) {
  // A new run whose parent cannot be resolved: neither the run nor its checkpoint is stored.
  DiaryImportEntry orphan = import_.entries[1];
  orphan.line = 500;
  orphan.run_name = "orphan";
  orphan.checkpoint = "step0300000-ep020-loss3.000";
  orphan.parent_checkpoint = "step0999999";
  import_.entries = {orphan};
  auto r = ImportDiary(*store_, import_);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->skipped.size(), 1u);
  EXPECT_EQ(r->skipped[0].reason, "no checkpoint matches 'step0999999'");
  EXPECT_TRUE(store_->ListRuns(RunFilter{})->empty());
  EXPECT_TRUE(store_->ListCheckpoints(std::nullopt)->empty());
  EXPECT_TRUE(store_->ListEvaluations(EvaluationFilter{})->empty());
}

TEST_F(DiaryImportTest, ChangedNumbersOnReimportAreSkippedWithLine) {
  ASSERT_TRUE(ImportDiary(*store_, import_).ok());
  import_.entries[1].stats[0] = 0.999;
  auto r = ImportDiary(*store_, import_);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->skipped.size(), 1u);
  EXPECT_EQ(r->skipped[0].line, 19);
  EXPECT_NE(
      r->skipped[0].reason.find("is already recorded with different stats (AP 0.262 vs 0.999)"),
      std::string::npos)
      << r->skipped[0].reason;
  EXPECT_EQ(r->evaluations_created, 0);
  // What was stored is unchanged.
  auto evals = store_->ListEvaluations(EvaluationFilter{});
  ASSERT_EQ(evals->size(), 5u);
  for (const auto& e : *evals) EXPECT_NE(e.stats[0], 0.999);
}

// The diary that used to abort: a fork right after the checkpoint it forks (diary/testdata).
TEST(DiaryImportFixtureTest, ChineseDiaryStoresForksWithLineageAndIsIdempotent) {
  auto store = testing::OpenTestStore();
  auto text = ReadFile("diary/testdata/paddle-diary-zh.txt");
  ASSERT_TRUE(text.ok()) << text.status();
  DiaryImport import =
      FromParse(diary::ParseDiary(*text, "paddle-diary-zh.txt"), "diary:paddle-diary-zh.txt");
  import.sweep = "paddle-diary-zh";
  auto r = ImportDiary(*store, import);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->skipped.empty());
  EXPECT_EQ(r->runs_created, 3);         // -1 baseline, -3 focal fork, -4 lr fork
  EXPECT_EQ(r->checkpoints_created, 2);  // step1066300, step1150000
  EXPECT_EQ(r->evaluations_created, 6);
  auto fork = store->FindRunByName("paddle-diary-zh-3");
  ASSERT_TRUE(fork.ok()) << fork.status();
  EXPECT_EQ(fork->parent_run_name, "paddle-diary-zh-1");
  EXPECT_EQ(fork->parent_checkpoint_name, "step1066300-ep073-loss5.715");
  auto again = ImportDiary(*store, import);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->skipped.empty());
  EXPECT_EQ(again->runs_created + again->checkpoints_created + again->evaluations_created, 0);
  EXPECT_EQ(store->ListEvaluations(EvaluationFilter{})->size(), 6u);
}

}  // namespace
}  // namespace ablate::server
