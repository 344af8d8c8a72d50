#include "server/sqlite_run_store.h"

#include <gtest/gtest.h>

#include "server/test_util.h"

namespace ablate::server {
namespace {

class SqliteRunStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ =
        (testing::FreshTempDir(::testing::UnitTest::GetInstance()->current_test_info()->name()) /
         "ablate.db")
            .string();
    SqliteRunStoreOptions options;
    options.path = path_;
    options.clock = &clock_;
    auto store = SqliteRunStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  server::Run MakeRun(const std::string& name, nlohmann::json config = nlohmann::json::object()) {
    NewRun nr;
    nr.name = name;
    nr.sweep = "s1";
    nr.config = config;
    auto r = store_->CreateRun(nr);
    EXPECT_TRUE(r.ok()) << r.status();
    return r->value;
  }

  FakeClock clock_;
  std::string path_;
  std::unique_ptr<SqliteRunStore> store_;
};

TEST_F(SqliteRunStoreTest, OpensInWalModeWithForeignKeys) {
  auto db = SqliteDb::Open(path_);
  ASSERT_TRUE(db.ok());
  auto q = (*db)->Prepare("PRAGMA journal_mode");
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(*(*q)->Step());
  EXPECT_EQ((*q)->ColumnText(0), "wal");
}

TEST_F(SqliteRunStoreTest, CreateRunStoresCanonicalConfigAndFingerprint) {
  server::Run r = MakeRun("r1", nlohmann::json::parse(R"({"lr": 0.001, "conf_loss": "focal"})"));
  EXPECT_EQ(r.name, "r1");
  EXPECT_EQ(r.sweep, "s1");
  EXPECT_EQ(r.status, RunStatus::kQueued);
  EXPECT_EQ(r.config_json, R"({"conf_loss":"focal","lr":0.001})");
  EXPECT_EQ(r.config_fingerprint.rfind("sha256:", 0), 0u);
  EXPECT_EQ(r.created_unix_ms, clock_.NowUnixMs());
}

TEST_F(SqliteRunStoreTest, CreateRunIsIdempotentForSameConfigAndRefusesDifferentConfig) {
  server::Run r = MakeRun("r1", {{"lr", 0.1}});
  NewRun same;
  same.name = "r1";
  same.sweep = "s1";
  same.config = {{"lr", 0.1}};
  auto again = store_->CreateRun(same);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->value.id, r.id);
  same.config = {{"lr", 0.2}};
  auto other = store_->CreateRun(same);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kAlreadyExists);
  same.name = "r2";
  same.config = nlohmann::json::array();
  auto bad = store_->CreateRun(same);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SqliteRunStoreTest, UnnamedRunGetsIdName) {
  auto r = store_->CreateRun(NewRun());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->value.name, "run-" + std::to_string(r->value.id.value));
}

TEST_F(SqliteRunStoreTest, UnknownRunIsNotFound) {
  EXPECT_EQ(store_->GetRun(RunId{42}).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(std::string(store_->FindRunByName("nope").status().message()), "run 'nope' not found");
  EXPECT_EQ(store_->SetRunStatus(RunId{42}, RunStatus::kFailed).status().code(),
            absl::StatusCode::kNotFound);
  MetricPoint p{1, "loss", 2.0};
  EXPECT_EQ(store_->LogMetrics(RunId{42}, {&p, 1}).code(), absl::StatusCode::kNotFound);
}

TEST_F(SqliteRunStoreTest, ListRunsFiltersAndPages) {
  for (int i = 0; i < 5; ++i) MakeRun("r" + std::to_string(i));
  ASSERT_TRUE(store_->SetRunStatus(RunId{2}, RunStatus::kDiverged).ok());
  RunFilter f;
  f.limit = 2;
  auto page = store_->ListRuns(f);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  f.after_id = (*page)[1].id.value;
  f.limit = 10;
  auto next = store_->ListRuns(f);
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->size(), 3u);
  EXPECT_EQ((*next)[0].name, "r2");
  RunFilter by_status;
  by_status.statuses = {RunStatus::kDiverged};
  auto diverged = store_->ListRuns(by_status);
  ASSERT_TRUE(diverged.ok());
  ASSERT_EQ(diverged->size(), 1u);
  EXPECT_EQ((*diverged)[0].name, "r1");
  RunFilter by_sweep;
  by_sweep.sweep = "other";
  auto other_sweep = store_->ListRuns(by_sweep);
  ASSERT_TRUE(other_sweep.ok());
  EXPECT_TRUE(other_sweep->empty());
}

TEST_F(SqliteRunStoreTest, MetricPointsAreIdempotentPerRunStepKey) {
  server::Run r = MakeRun("r1");
  std::vector<MetricPoint> pts = {{1, "loss", 5.0}, {2, "loss", 4.0}, {1, "lr", 0.1}};
  ASSERT_TRUE(store_->LogMetrics(r.id, pts).ok());
  ASSERT_TRUE(store_->LogMetrics(r.id, pts).ok());
  auto loss = store_->ListMetrics(r.id, "loss");
  ASSERT_TRUE(loss.ok());
  ASSERT_EQ(loss->size(), 2u);
  auto latest = store_->LatestMetrics(r.id);
  ASSERT_TRUE(latest.ok());
  ASSERT_EQ(latest->size(), 2u);
  EXPECT_EQ((*latest)[0].key, "loss");
  EXPECT_EQ((*latest)[0].step, 2);
  EXPECT_DOUBLE_EQ((*latest)[0].value, 4.0);
}

TEST_F(SqliteRunStoreTest, CheckpointNaturalKey) {
  server::Run r = MakeRun("r1");
  NewCheckpoint c;
  c.run = r.id;
  c.name = "step0200000-ep014-loss4.902";
  c.step = 200000;
  c.epoch = 14;
  c.loss = 4.902;
  c.uri = "file:///c.pt";
  c.sha256 = "ab";
  auto a = store_->RegisterCheckpoint(c);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->created);
  auto b = store_->RegisterCheckpoint(c);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->created);
  EXPECT_EQ(a->value.id, b->value.id);
  c.sha256 = "cd";
  EXPECT_EQ(store_->RegisterCheckpoint(c).status().code(), absl::StatusCode::kAlreadyExists);
  auto found = store_->FindCheckpointsByNamePrefix("step0200000", std::nullopt);
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].run_name, "r1");
}

TEST_F(SqliteRunStoreTest, EvaluationNaturalKeyAndPerCategory) {
  server::Run r = MakeRun("r1");
  NewEvaluation e;
  e.run = r.id;
  e.settings.iou_type = IouType::kSegm;
  e.settings.score_threshold = 0.05;
  e.settings.top_k = 100;
  e.settings.dataset_fingerprint = "sha256:x";
  e.stats = {0.3, 0.5, 0.3, 0.1, 0.3, 0.4, 0.2, 0.3, 0.4, 0.1, 0.4, 0.5};
  e.per_category = {{1, "person", 0.4}, {3, "car", 0.2}};
  auto a = store_->RecordEvaluation(e);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->created);
  EXPECT_EQ(a->value.per_category.size(), 2u);
  EXPECT_EQ(a->value.settings.iou_type, IouType::kSegm);
  EXPECT_FALSE(a->value.settings.nms_iou.has_value());
  auto b = store_->RecordEvaluation(e);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->created);
  e.stats[0] = 0.31;
  EXPECT_EQ(store_->RecordEvaluation(e).status().code(), absl::StatusCode::kAlreadyExists);
  e.settings.score_threshold = 0.005;  // a different eval key: a new evaluation
  auto c = store_->RecordEvaluation(e);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->created);
  EvaluationFilter ef;
  ef.iou_type = IouType::kSegm;
  auto all = store_->ListEvaluations(ef);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
}

TEST_F(SqliteRunStoreTest, EvaluationOfAnotherRunsCheckpointIsInvalid) {
  server::Run r1 = MakeRun("r1");
  server::Run r2 = MakeRun("r2");
  NewCheckpoint nc;
  nc.run = r1.id;
  nc.name = "step1";
  nc.step = 1;
  auto c = store_->RegisterCheckpoint(nc);
  ASSERT_TRUE(c.ok());
  NewEvaluation ne;
  ne.run = r2.id;
  ne.checkpoint = c->value.id;
  ne.settings.dataset_fingerprint = "d";
  auto e = store_->RecordEvaluation(ne);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SqliteRunStoreTest, TransactRollsBackEverythingOnError) {
  Status st = store_->Transact([&]() -> Status {
    NewRun nr;
    nr.name = "inside";
    ABLATE_RETURN_IF_ERROR(store_->CreateRun(nr).status());
    return absl::InvalidArgumentError("stop");
  });
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->FindRunByName("inside").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(SqliteRunStoreTest, DataSurvivesReopen) {
  server::Run r = MakeRun("r1", {{"lr", 0.5}});
  store_.reset();
  SqliteRunStoreOptions options;
  options.path = path_;
  options.clock = &clock_;
  auto store = SqliteRunStore::Open(options);
  ASSERT_TRUE(store.ok());
  auto again = (*store)->FindRunByName("r1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->config_json, r.config_json);
}

}  // namespace
}  // namespace ablate::server
