// Issue 7 in the store: an evaluation's detection counts, results size and gallery
// (migrations/0004_evaluation_outputs.sql), their idempotency rules and the retention hook
// (0005_gallery_retention.sql: later passes, deletion columns).
#include <gtest/gtest.h>

#include "server/migration_test_util.h"
#include "server/sqlite_run_store.h"
#include "server/test_util.h"

namespace ablate::server {
namespace {

using testing::AddCheckpoint;
using testing::AddRun;
using testing::OpenTestStore;
using testing::Settings;
using testing::StatsWithAp;

constexpr char kDir[] = "file:///work/evals/7/gallery";

Gallery TwoImageGallery(const std::string& dir = kDir) {
  // Deliberately out of order: the store returns images sorted by image_id.
  return Gallery{dir,
                 0,
                 {GalleryImage{139, dir + "/000139.jpg", 23456, 5},
                  GalleryImage{12, dir + "/000012.jpg", 19000, 2}}};
}

NewEvaluation Eval(RunId run, CheckpointId ckpt, double score_threshold, IouType iou,
                   std::optional<EvaluationOutputs> outputs,
                   std::optional<Gallery> gallery = std::nullopt) {
  NewEvaluation e;
  e.run = run;
  e.checkpoint = ckpt;
  e.settings = Settings(score_threshold, "sha256:val", iou);
  e.stats = StatsWithAp(iou == IouType::kBbox ? 0.30 : 0.27);
  e.outputs = outputs;
  e.gallery = std::move(gallery);
  return e;
}

class EvaluationOutputsStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenTestStore();
    ASSERT_NE(store_, nullptr);
    run_ = AddRun(*store_, "r1");
    ckpt_ = AddCheckpoint(*store_, run_.id, "step0000600-ep010-loss2.000", 600);
  }

  std::vector<Evaluation> List() {
    EvaluationFilter f;
    f.run = run_.id;
    auto list = store_->ListEvaluations(f);
    EXPECT_TRUE(list.ok()) << list.status();
    return list.ok() ? *list : std::vector<Evaluation>{};
  }

  std::unique_ptr<SqliteRunStore> store_;
  server::Run run_;
  server::Checkpoint ckpt_;
};

TEST_F(EvaluationOutputsStoreTest, CountsAndGalleryRoundTrip) {
  const EvaluationOutputs outputs{/*detections=*/120, /*images=*/40,
                                  /*detections_per_image_max=*/9, /*results_bytes=*/48213};
  for (IouType iou : {IouType::kBbox, IouType::kSegm}) {
    auto r =
        store_->RecordEvaluation(Eval(run_.id, ckpt_.id, 0.05, iou, outputs, TwoImageGallery()));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(r->created);
    ASSERT_TRUE(r->value.outputs.has_value());
    EXPECT_EQ(*r->value.outputs, outputs);
  }
  std::vector<Evaluation> list = List();
  ASSERT_EQ(list.size(), 2u);
  for (const Evaluation& e : list) {
    ASSERT_TRUE(e.outputs.has_value());
    EXPECT_EQ(e.outputs->detections, 120);
    EXPECT_EQ(e.outputs->images, 40);
    EXPECT_EQ(e.outputs->detections_per_image_max, 9);
    EXPECT_EQ(e.outputs->results_bytes, 48213);
    EXPECT_DOUBLE_EQ(*e.outputs->DetectionsPerImageMean(), 3.0);
    ASSERT_TRUE(e.gallery.has_value());
    EXPECT_EQ(e.gallery->dir_uri, kDir);
    EXPECT_EQ(e.gallery->seed, 0);
    ASSERT_EQ(e.gallery->images.size(), 2u);
    EXPECT_EQ(e.gallery->images[0],
              (GalleryImage{12, std::string(kDir) + "/000012.jpg", 19000, 2}));
    EXPECT_EQ(e.gallery->images[1].image_id, 139);
    EXPECT_EQ(e.gallery->images[1].detections, 5);
  }
}

TEST_F(EvaluationOutputsStoreTest, MeanIsUnknownWithoutImages) {
  EXPECT_EQ(EvaluationOutputs{}.DetectionsPerImageMean(), std::nullopt);
  EXPECT_DOUBLE_EQ(*(EvaluationOutputs{7, 2, 5, 0}.DetectionsPerImageMean()), 3.5);
  auto r = store_->RecordEvaluation(
      Eval(run_.id, ckpt_.id, 0.05, IouType::kBbox, EvaluationOutputs{0, 0, 0, 0}));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->value.outputs.has_value());
  EXPECT_EQ(r->value.outputs->DetectionsPerImageMean(), std::nullopt);
  EXPECT_FALSE(r->value.gallery.has_value());
}

// ablate-train builds from before issue 7 report detections and images only.
TEST_F(EvaluationOutputsStoreTest, UnreportedMaxAndResultsSizeStayUnknown) {
  auto r = store_->RecordEvaluation(Eval(run_.id, ckpt_.id, 0.05, IouType::kBbox,
                                         EvaluationOutputs{50, 10, std::nullopt, std::nullopt}));
  ASSERT_TRUE(r.ok()) << r.status();
  std::vector<Evaluation> list = List();
  ASSERT_EQ(list.size(), 1u);
  ASSERT_TRUE(list[0].outputs.has_value());
  EXPECT_EQ(list[0].outputs->detections, 50);
  EXPECT_DOUBLE_EQ(*list[0].outputs->DetectionsPerImageMean(), 5.0);
  EXPECT_EQ(list[0].outputs->detections_per_image_max, std::nullopt);
  EXPECT_EQ(list[0].outputs->results_bytes, std::nullopt);
  // A later report of the same pass with the max known is the same evaluation.
  auto again = store_->RecordEvaluation(
      Eval(run_.id, ckpt_.id, 0.05, IouType::kBbox, EvaluationOutputs{50, 10, 12, 9000}));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->created);
}

// The acceptance, at the store: the same checkpoint scored at 0.005 keeps far more
// detections than at the default 0.05.
TEST_F(EvaluationOutputsStoreTest, LowScoreThresholdRecordsMoreDetections) {
  ASSERT_TRUE(store_
                  ->RecordEvaluation(Eval(run_.id, ckpt_.id, 0.05, IouType::kBbox,
                                          EvaluationOutputs{120, 40, 9, 48213}))
                  .ok());
  ASSERT_TRUE(store_
                  ->RecordEvaluation(Eval(run_.id, ckpt_.id, 0.005, IouType::kBbox,
                                          EvaluationOutputs{2950, 40, 100, 1190000}))
                  .ok());
  std::vector<Evaluation> list = List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].settings.score_threshold, 0.05);
  EXPECT_EQ(list[1].settings.score_threshold, 0.005);
  EXPECT_EQ(list[0].checkpoint_id, list[1].checkpoint_id);
  EXPECT_GT(list[1].outputs->detections, list[0].outputs->detections);
  EXPECT_GT(*list[1].outputs->DetectionsPerImageMean(), *list[0].outputs->DetectionsPerImageMean());
}

TEST_F(EvaluationOutputsStoreTest, EvaluationWithoutOutputsHasNone) {
  auto r = store_->RecordEvaluation(Eval(run_.id, ckpt_.id, 0.05, IouType::kBbox, std::nullopt));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->value.outputs.has_value());
  EXPECT_FALSE(r->value.gallery.has_value());
  auto files = store_->ListGalleryFiles({});
  ASSERT_TRUE(files.ok());
  EXPECT_TRUE(files->empty());
}

TEST_F(EvaluationOutputsStoreTest, RetryIsIdempotentAndDifferentCountsAreRefused) {
  const EvaluationOutputs outputs{120, 40, 9, 48213};
  NewEvaluation e = Eval(run_.id, ckpt_.id, 0.05, IouType::kBbox, outputs, TwoImageGallery());
  ASSERT_TRUE(store_->RecordEvaluation(e).ok());
  auto again = store_->RecordEvaluation(e);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->created);

  // Another pass of the same evaluation that wrote its gallery elsewhere (a second eval job):
  // same stats and counts, so it is the same evaluation; the gallery recorded first stays shown
  // (its files are registered for retention: SecondIdenticalPassRegistersItsFilesForRetention).
  NewEvaluation elsewhere = e;
  elsewhere.gallery = TwoImageGallery("file:///work/evals/8/gallery");
  elsewhere.outputs->results_bytes = 48000;
  auto second = store_->RecordEvaluation(elsewhere);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->value.gallery->dir_uri, kDir);
  EXPECT_EQ(second->value.outputs->results_bytes, 48213);

  NewEvaluation other = e;
  other.outputs->detections = 121;
  auto refused = store_->RecordEvaluation(other);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(std::string(refused.status().message()),
            "an evaluation of run 'r1' checkpoint 'step0000600-ep010-loss2.000' with settings "
            "bbox|score_threshold=0.05|top_k=100|nms_iou=0.5|max_dets=100|dataset=sha256:val is "
            "already recorded with different detection counts (120 vs 121 detections on 40 vs "
            "40 images)");
  ASSERT_EQ(List().size(), 1u);
  auto files = store_->ListGalleryFiles({});
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(files->size(), 4u);  // the first and the second pass; nothing of the refused one
}

// Issue 7's gap closed: the files of a second identical pass (another eval job of the same
// checkpoint and settings, writing into its own folder) are registered as pass 1 of the same
// evaluation, so retention sees and deletes them; the page keeps showing the first gallery.
TEST_F(EvaluationOutputsStoreTest, SecondIdenticalPassRegistersItsFilesForRetention) {
  const EvaluationOutputs outputs{120, 40, 9, 48213};
  for (IouType iou : {IouType::kBbox, IouType::kSegm}) {
    ASSERT_TRUE(
        store_->RecordEvaluation(Eval(run_.id, ckpt_.id, 0.05, iou, outputs, TwoImageGallery()))
            .ok());
  }
  const std::string second_dir = "file:///work/evals/8/gallery";
  for (int attempt = 0; attempt < 2; ++attempt) {  // the second time: a retried record
    for (IouType iou : {IouType::kBbox, IouType::kSegm}) {
      auto r = store_->RecordEvaluation(
          Eval(run_.id, ckpt_.id, 0.05, iou, outputs, TwoImageGallery(second_dir)));
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_FALSE(r->created);
      EXPECT_EQ(r->value.gallery->dir_uri, kDir);
      ASSERT_EQ(r->value.gallery->images.size(), 2u);
      EXPECT_EQ(r->value.gallery->images[0].uri, std::string(kDir) + "/000012.jpg");
    }
  }
  // The first pass recorded again (e.g. a train job's retry into the same folder): nothing new.
  ASSERT_TRUE(store_
                  ->RecordEvaluation(
                      Eval(run_.id, ckpt_.id, 0.05, IouType::kBbox, outputs, TwoImageGallery()))
                  .ok());

  auto files = store_->ListGalleryFiles({});
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->size(), 8u);  // 2 evaluations (bbox, segm) x 2 passes x 2 images
  std::vector<std::pair<int64_t, std::string>> bbox;
  for (const GalleryFile& f : *files) {
    EXPECT_FALSE(f.deleted());
    EXPECT_EQ(f.deleting_job_id, 0);
    EXPECT_EQ(f.checkpoint, ckpt_.id);
    if (f.evaluation == (*files)[0].evaluation) bbox.emplace_back(f.pass, f.uri);
  }
  EXPECT_EQ(bbox,
            (std::vector<std::pair<int64_t, std::string>>{{0, std::string(kDir) + "/000012.jpg"},
                                                          {0, std::string(kDir) + "/000139.jpg"},
                                                          {1, second_dir + "/000012.jpg"},
                                                          {1, second_dir + "/000139.jpg"}}));
  // The shown gallery is still the first one only.
  for (const Evaluation& e : List()) {
    ASSERT_TRUE(e.gallery.has_value());
    EXPECT_EQ(e.gallery->dir_uri, kDir);
    EXPECT_EQ(e.gallery->images.size(), 2u);
  }
}

TEST_F(EvaluationOutputsStoreTest, EvaluationRecordedWithoutOutputsGetsThemLater) {
  NewEvaluation bare = Eval(run_.id, ckpt_.id, 0.05, IouType::kBbox, std::nullopt);
  ASSERT_TRUE(store_->RecordEvaluation(bare).ok());
  NewEvaluation full = bare;
  full.outputs = EvaluationOutputs{120, 40, 9, 48213};
  full.gallery = TwoImageGallery();
  auto r = store_->RecordEvaluation(full);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->created);
  ASSERT_TRUE(r->value.outputs.has_value());
  EXPECT_EQ(r->value.outputs->detections, 120);
  ASSERT_TRUE(r->value.gallery.has_value());
  EXPECT_EQ(r->value.gallery->images.size(), 2u);
  std::vector<Evaluation> list = List();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].outputs->detections, 120);
  EXPECT_EQ(list[0].gallery->images.size(), 2u);
}

TEST_F(EvaluationOutputsStoreTest, InvalidOutputsAndGalleriesAreRefusedNamingTheProblem) {
  auto refuse = [&](std::optional<EvaluationOutputs> outputs, std::optional<Gallery> gallery) {
    auto r = store_->RecordEvaluation(
        Eval(run_.id, ckpt_.id, 0.05, IouType::kBbox, outputs, std::move(gallery)));
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    return std::string(r.status().message());
  };
  EXPECT_EQ(refuse(EvaluationOutputs{-1, 4, 0, 0}, std::nullopt),
            "evaluation outputs: detections is negative (-1)");
  EXPECT_EQ(refuse(EvaluationOutputs{10, 4, 11, 0}, std::nullopt),
            "evaluation outputs: detections_per_image_max 11 exceeds the total of 10 detections");
  EXPECT_EQ(refuse(EvaluationOutputs{10, 0, 5, 0}, std::nullopt),
            "evaluation outputs: 10 detections on 0 images");
  Gallery relative{"runs/7/gallery", 0, {}};
  EXPECT_EQ(refuse(std::nullopt, relative),
            "gallery: dir uri 'runs/7/gallery' is not file:///absolute/path");
  Gallery dotdot{"file:///work/evals/../etc", 0, {}};
  EXPECT_EQ(refuse(std::nullopt, dotdot),
            "gallery: dir uri 'file:///work/evals/../etc' has a '.' or '..' component");
  Gallery outside = TwoImageGallery();
  outside.images[0].uri = "file:///etc/passwd.jpg";
  EXPECT_EQ(refuse(std::nullopt, outside),
            "gallery: image 139 uri 'file:///etc/passwd.jpg' is not a .jpg/.jpeg file directly "
            "inside file:///work/evals/7/gallery");
  Gallery escape = TwoImageGallery();
  escape.images[0].uri = std::string(kDir) + "/../../secret.jpg";
  EXPECT_NE(refuse(std::nullopt, escape).find("is not a .jpg/.jpeg file directly inside"),
            std::string::npos);
  Gallery png = TwoImageGallery();
  png.images[0].uri = std::string(kDir) + "/000139.png";
  EXPECT_NE(refuse(std::nullopt, png).find("is not a .jpg/.jpeg file"), std::string::npos);
  Gallery twice = TwoImageGallery();
  twice.images[1].image_id = 139;
  EXPECT_EQ(refuse(std::nullopt, twice), "gallery: image_id 139 is listed twice");
  EXPECT_TRUE(List().empty());
}

TEST_F(EvaluationOutputsStoreTest, ListGalleryFilesIsTheRetentionHook) {
  server::Checkpoint later = AddCheckpoint(*store_, run_.id, "step0001200-ep020-loss1.500", 1200);
  server::Run other = AddRun(*store_, "r2");
  server::Checkpoint other_ckpt =
      AddCheckpoint(*store_, other.id, "step0000600-ep010-loss2.100", 600);
  const EvaluationOutputs outputs{120, 40, 9, 48213};
  for (IouType iou : {IouType::kBbox, IouType::kSegm}) {
    ASSERT_TRUE(
        store_->RecordEvaluation(Eval(run_.id, ckpt_.id, 0.05, iou, outputs, TwoImageGallery()))
            .ok());
  }
  ASSERT_TRUE(store_
                  ->RecordEvaluation(Eval(run_.id, later.id, 0.05, IouType::kBbox, outputs,
                                          TwoImageGallery("file:///work/runs/r1/g1200")))
                  .ok());
  ASSERT_TRUE(store_
                  ->RecordEvaluation(Eval(other.id, other_ckpt.id, 0.05, IouType::kBbox, outputs,
                                          TwoImageGallery("file:///work/runs/r2/g600")))
                  .ok());

  auto all = store_->ListGalleryFiles({});
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 8u);
  EXPECT_EQ((*all)[0].run_name, "r1");
  EXPECT_EQ((*all)[0].checkpoint_name, "step0000600-ep010-loss2.000");
  EXPECT_EQ((*all)[0].image_id, 12);
  EXPECT_EQ((*all)[0].bytes, 19000);
  // bbox and segm of one pass list the same files.
  EXPECT_EQ((*all)[0].uri, (*all)[2].uri);
  EXPECT_NE((*all)[0].evaluation, (*all)[2].evaluation);

  GalleryFileFilter by_checkpoint;
  by_checkpoint.checkpoint = later.id;
  auto later_files = store_->ListGalleryFiles(by_checkpoint);
  ASSERT_TRUE(later_files.ok());
  ASSERT_EQ(later_files->size(), 2u);
  EXPECT_EQ((*later_files)[0].uri, "file:///work/runs/r1/g1200/000012.jpg");

  GalleryFileFilter by_run;
  by_run.run = other.id;
  auto other_files = store_->ListGalleryFiles(by_run);
  ASSERT_TRUE(other_files.ok());
  ASSERT_EQ(other_files->size(), 2u);
  EXPECT_EQ((*other_files)[1].uri, "file:///work/runs/r2/g600/000139.jpg");

  GalleryFileFilter by_evaluation;
  by_evaluation.evaluation = (*all)[2].evaluation;
  auto one = store_->ListGalleryFiles(by_evaluation);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 2u);
}

// A store whose file was first migrated only up to `version` and given `seed_sql` (rows in that
// version's schema), then opened normally, which migrates the rest in place.
std::unique_ptr<SqliteRunStore> OpenMigratedFrom(int version, const std::string& name,
                                                 const std::string& seed_sql, FakeClock& clock) {
  const std::string path = (testing::FreshTempDir(name) / "ablate.db").string();
  {
    auto db = testing::OpenAtVersion(path, version, clock);
    if (db == nullptr) return nullptr;
    EXPECT_TRUE(db->Exec(seed_sql).ok()) << seed_sql;
  }
  SqliteRunStoreOptions options;
  options.path = path;
  options.clock = &clock;
  auto store = SqliteRunStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return nullptr;
  EXPECT_EQ((*store)->migration_report().from_version, version);
  return std::move(*store);
}

// A database from before 0004 (evaluations without the new columns) is migrated in place: its
// evaluations read back without outputs or gallery.
TEST(EvaluationOutputsMigrationTest, OlderDatabaseMigratesWithEmptyOutputs) {
  FakeClock clock;
  auto store = OpenMigratedFrom(
      2, "outputs_migration",
      "INSERT INTO runs (id, name, status, config_json, config_fingerprint, created_unix_ms, "
      "updated_unix_ms) VALUES (1, 'old', 'succeeded', '{}', 'sha256:x', 0, 0);"
      "INSERT INTO evaluations (run_id, iou_type, dataset_fingerprint, eval_key, AP, AP50, AP75, "
      "APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl, created_unix_ms) VALUES (1, 'bbox', "
      "'diary:x', 'k', 0.2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)",
      clock);
  ASSERT_NE(store, nullptr);
  auto list = store->ListEvaluations({});
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_DOUBLE_EQ((*list)[0].stats[0], 0.2);
  EXPECT_FALSE((*list)[0].outputs.has_value());
  EXPECT_FALSE((*list)[0].gallery.has_value());
}

// 0005 rebuilds evaluation_gallery (new primary key with `pass`, retention columns): every row of
// a version-4 database survives as pass 0, not deleted, and reads back as the same gallery.
TEST(EvaluationOutputsMigrationTest, Migration0005KeepsTheGalleriesOfAVersion4Database) {
  FakeClock clock;
  auto store = OpenMigratedFrom(
      4, "gallery_migration",
      "INSERT INTO runs (id, name, status, config_json, config_fingerprint, created_unix_ms, "
      "updated_unix_ms) VALUES (1, 'old', 'succeeded', '{}', 'sha256:x', 0, 0);"
      "INSERT INTO checkpoints (id, run_id, name, step, uri, bytes, created_unix_ms) "
      "VALUES (3, 1, 'step0000600', 600, 'file:///w/a.pt', 10, 0);"
      "INSERT INTO evaluations (id, run_id, checkpoint_id, iou_type, dataset_fingerprint, "
      "eval_key, AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl, "
      "created_unix_ms, detections, images, gallery_uri, gallery_seed) VALUES (5, 1, 3, 'bbox', "
      "'sha256:v', 'k', 0.2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 2, 'file:///w/g', 4);"
      "INSERT INTO evaluation_gallery (evaluation_id, image_id, uri, bytes, detections) VALUES "
      "(5, 139, 'file:///w/g/000139.jpg', 300, 4), (5, 12, 'file:///w/g/000012.jpg', 200, 3);",
      clock);
  ASSERT_NE(store, nullptr);
  auto list = store->ListEvaluations({});
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 1u);
  ASSERT_TRUE((*list)[0].gallery.has_value());
  EXPECT_EQ(*(*list)[0].gallery, (Gallery{"file:///w/g",
                                          4,
                                          {GalleryImage{12, "file:///w/g/000012.jpg", 200, 3},
                                           GalleryImage{139, "file:///w/g/000139.jpg", 300, 4}}}));
  EXPECT_FALSE((*list)[0].gallery->AllDeleted());
  EXPECT_EQ((*list)[0].gallery->DeletedByJob(), 0);
  auto files = store->ListGalleryFiles({});
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->size(), 2u);
  for (const GalleryFile& f : *files) {
    EXPECT_EQ(f.pass, 0);
    EXPECT_FALSE(f.deleted());
    EXPECT_EQ(f.deleting_job_id, 0);
    EXPECT_EQ(f.checkpoint, CheckpointId{3});
  }
  GalleryFileFilter live;
  live.include_deleted = false;
  EXPECT_EQ(store->ListGalleryFiles(live)->size(), 2u);
  // The rebuilt table takes a later pass of the migrated evaluation.
  NewEvaluation again;
  again.run = RunId{1};
  again.checkpoint = CheckpointId{3};
  again.settings.dataset_fingerprint = "sha256:v";
  again.stats = (*list)[0].stats;
  ASSERT_EQ(EvalKey(again.settings), EvalKey((*list)[0].settings));
  // eval_key 'k' was written by hand above; give the row its real key so the record matches.
  ASSERT_TRUE(store
                  ->WithDb([&](SqliteDb& db) -> Status {
                    ABLATE_ASSIGN_OR_RETURN(
                        SqliteStatement * up,
                        db.Prepare("UPDATE evaluations SET eval_key = ? WHERE id = 5"));
                    up->Bind(1, EvalKey(again.settings));
                    return up->Run();
                  })
                  .ok());
  again.gallery = Gallery{"file:///w/g2", 4, {GalleryImage{12, "file:///w/g2/000012.jpg", 210, 3}}};
  auto recorded = store->RecordEvaluation(again);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  EXPECT_FALSE(recorded->created);
  files = store->ListGalleryFiles({});
  ASSERT_EQ(files->size(), 3u);
  EXPECT_EQ(files->back().pass, 1);
  EXPECT_EQ(files->back().uri, "file:///w/g2/000012.jpg");
}

}  // namespace
}  // namespace ablate::server
