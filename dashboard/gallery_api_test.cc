// Issue 7 on the dashboard, through DashboardApi over a real SqliteRunStore holding the demo
// history with its galleries written to a temp folder: detection counts on the run page, the
// gallery images served only when registered, the compare page's side-by-side gallery, and a
// gallery (and checkpoint) deleted by retention shown as deleted.
// Expected figures are demo_fixture.h's hand-chosen constants.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/atomic_file.h"
#include "dashboard/api.h"
#include "dashboard/demo_fixture.h"
#include "dashboard/gallery_files.h"
#include "server/sqlite_job_store.h"
#include "server/sqlite_run_store.h"
#include "server/test_util.h"

namespace ablate::dashboard {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class GalleryApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = server::testing::FreshTempDir("dashboard_gallery");
    store_ = server::testing::OpenTestStore(&clock_);
    ASSERT_NE(store_, nullptr);
    auto report = demo::FillDemo(*store_, dir_ / "gallery");
    ASSERT_TRUE(report.ok()) << report.status();
    DashboardApiOptions api_options;
    api_options.clock = &clock_;
    api_ = std::make_unique<DashboardApi>(*store_, api_options);
  }
  void TearDown() override {
    api_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  ApiResponse Get(const std::string& path, std::multimap<std::string, std::string> params = {},
                  const std::string& if_none_match = "") {
    ApiRequest r;
    r.path = path;
    r.params = std::move(params);
    r.if_none_match = if_none_match;
    return api_->Handle(r);
  }
  json GetJson(const std::string& path, std::multimap<std::string, std::string> params = {}) {
    ApiResponse r = Get(path, std::move(params));
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return json::parse(r.body);
  }
  // The best trial's last checkpoint: evaluated at 0.05 (bbox, segm) and re-scored at 0.005.
  json BestRunEvaluations() { return GetJson("/api/runs/focal-g2.0-lr1e-3")["evaluations"]; }

  FakeClock clock_;
  fs::path dir_;
  std::unique_ptr<server::SqliteRunStore> store_;
  std::unique_ptr<DashboardApi> api_;
};

// The issue's acceptance on the dashboard: the same checkpoint re-scored at 0.005 shows a
// visibly higher detection count than at 0.05.
TEST_F(GalleryApiTest, RunPageShowsDetectionCountsPerEvaluation) {
  json evals = BestRunEvaluations();
  ASSERT_EQ(evals.size(), 7u);
  const json& at_005 = evals[4];  // step 6000 bbox at 0.05
  const json& rescored = evals[6];
  EXPECT_EQ(at_005["checkpoint"], rescored["checkpoint"]);
  EXPECT_EQ(at_005["settings"]["score_threshold"], 0.05);
  EXPECT_EQ(rescored["settings"]["score_threshold"], 0.005);
  EXPECT_EQ(at_005["outputs"]["detections"], demo::DemoDetections(0.312));
  EXPECT_EQ(at_005["outputs"]["detections"], 912);  // 600 + 1000 x 0.312, by hand
  EXPECT_EQ(at_005["outputs"]["images"], demo::kValImages);
  EXPECT_DOUBLE_EQ(at_005["outputs"]["detections_per_image_mean"].get<double>(), 912.0 / 200);
  EXPECT_EQ(at_005["outputs"]["detections_per_image_max"], demo::kMaxPerImage);
  EXPECT_EQ(at_005["outputs"]["results_bytes"], 912 * demo::kResultBytesPerDetection);
  EXPECT_EQ(rescored["outputs"]["detections"], demo::kRescoredDetections);
  EXPECT_GT(rescored["outputs"]["detections"].get<int>(),
            10 * at_005["outputs"]["detections"].get<int>());
  // Lists carry the counts too (leaderboard rows), without the gallery's images.
  json lb = GetJson("/api/leaderboard");
  EXPECT_EQ(lb["rows"][0]["evaluation"]["outputs"]["detections"], 912);
  EXPECT_EQ(lb["rows"][0]["evaluation"].count("gallery"), 0u);
}

TEST_F(GalleryApiTest, RunPageListsTheGalleryOfEachEvaluation) {
  json evals = BestRunEvaluations();
  const json& g = evals[4]["gallery"];
  ASSERT_TRUE(g.is_object()) << evals[4].dump(2);
  EXPECT_EQ(g["count"], 4);
  EXPECT_EQ(g["seed"], 0);
  EXPECT_EQ(
      g["dir"],
      (dir_ / "gallery" / "focal-g2.0-lr1e-3" / "step0006000-ep006-loss2.600-s0.05").string());
  ASSERT_EQ(g["images"].size(), 4u);
  std::vector<int64_t> ids;
  for (const json& i : g["images"]) ids.push_back(i["image_id"]);
  EXPECT_EQ(ids,
            std::vector<int64_t>(demo::kGalleryImageIds.begin(), demo::kGalleryImageIds.end()));
  EXPECT_EQ(g["images"][0]["url"], GalleryImageUrl(evals[4]["id"], 12));
  // bbox and segm of one pass share the files; the re-scoring has its own, denser drawings.
  EXPECT_EQ(evals[5]["gallery"]["dir"], g["dir"]);
  EXPECT_GT(evals[6]["gallery"]["images"][0]["detections"].get<int>(),
            g["images"][0]["detections"].get<int>());
}

TEST_F(GalleryApiTest, ServesARegisteredImageAsJpegWithEtag) {
  json image = BestRunEvaluations()[4]["gallery"]["images"][1];
  ApiResponse r = Get(image["url"]);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "image/jpeg");
  EXPECT_EQ(r.route, "/api/gallery/{evaluation}/{image}");
  ASSERT_GE(r.body.size(), 3u);
  EXPECT_EQ(static_cast<unsigned char>(r.body[0]), 0xFF);
  EXPECT_EQ(static_cast<unsigned char>(r.body[1]), 0xD8);
  EXPECT_EQ(static_cast<int64_t>(r.body.size()), image["bytes"].get<int64_t>());
  auto on_disk = ReadFile(dir_ / "gallery" / "focal-g2.0-lr1e-3" /
                          "step0006000-ep006-loss2.600-s0.05" / "000139.jpg");
  ASSERT_TRUE(on_disk.ok()) << on_disk.status();
  EXPECT_EQ(r.body, *on_disk);
  std::string etag;
  for (const auto& [k, v] : r.headers) {
    if (k == "ETag") etag = v;
  }
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(Get(image["url"], {}, etag).status, 304);
}

TEST_F(GalleryApiTest, RefusesWhatIsNotRegistered) {
  json evals = BestRunEvaluations();
  const int64_t evaluation = evals[4]["id"];
  const fs::path gallery_dir = evals[4]["gallery"]["dir"].get<std::string>();
  // A JPEG lying in the gallery folder but not registered for the evaluation is not served: the
  // URL names a registered (evaluation, image id), never a path.
  fs::copy_file(gallery_dir / "000012.jpg", gallery_dir / "000999.jpg");
  ApiResponse unregistered = Get("/api/gallery/" + std::to_string(evaluation) + "/999");
  EXPECT_EQ(unregistered.status, 404);
  EXPECT_EQ(json::parse(unregistered.body)["error"],
            "evaluation " + std::to_string(evaluation) + " has no registered gallery image 999");
  EXPECT_EQ(Get("/api/gallery/987654/12").status, 404);
  // Paths, or anything but two integers, are 400.
  for (const std::string& bad : std::vector<std::string>{
           "/api/gallery/../../etc/passwd", "/api/gallery/1", "/api/gallery/1/12/x",
           "/api/gallery/one/12", "/api/gallery/1/000012.jpg",
           "/api/gallery/" + gallery_dir.string()}) {
    ApiResponse r = Get(bad);
    EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
    EXPECT_NE(r.body.find("expected /api/gallery/{evaluation id}/{image id}"), std::string::npos)
        << r.body;
  }
  EXPECT_EQ(Get("/api/gallery/1/12", {{"path", "/etc/passwd"}}).status, 400);
  ApiResponse post = [&] {
    ApiRequest req;
    req.method = "DELETE";
    req.path = "/api/gallery/" + std::to_string(evaluation) + "/12";
    return api_->Handle(req);
  }();
  EXPECT_EQ(post.status, 405);
  EXPECT_TRUE(fs::exists(gallery_dir / "000012.jpg"));
}

TEST_F(GalleryApiTest, GoneOrReplacedFilesAre404) {
  json evals = BestRunEvaluations();
  const std::string id = std::to_string(evals[4]["id"].get<int64_t>());
  const fs::path gallery_dir = evals[4]["gallery"]["dir"].get<std::string>();
  // Deleted (e.g. by retention): 404 naming the file.
  fs::remove(gallery_dir / "000012.jpg");
  ApiResponse gone = Get("/api/gallery/" + id + "/12");
  EXPECT_EQ(gone.status, 404);
  EXPECT_NE(gone.body.find("is gone"), std::string::npos) << gone.body;
  // Replaced by something that is not a JPEG.
  ASSERT_TRUE(WriteFileAtomically(gallery_dir / "000139.jpg", "root:x:0:0:root:/root\n").ok());
  ApiResponse text = Get("/api/gallery/" + id + "/139");
  EXPECT_EQ(text.status, 404);
  EXPECT_NE(text.body.find("is not a JPEG"), std::string::npos) << text.body;
  // Replaced by a symlink to another file.
  fs::remove(gallery_dir / "000285.jpg");
  fs::create_symlink(gallery_dir / "000632.jpg", gallery_dir / "000285.jpg");
  ApiResponse link = Get("/api/gallery/" + id + "/285");
  EXPECT_EQ(link.status, 404);
  EXPECT_NE(link.body.find("is not a regular file"), std::string::npos) << link.body;
  EXPECT_EQ(Get("/api/gallery/" + id + "/632").status, 200);
}

TEST_F(GalleryApiTest, CompareShowsTheSameImagesOfBothRunsSideBySide) {
  json j = GetJson("/api/compare", {{"runs", "focal-g1.5-lr1e-3,focal-g2.0-lr1e-3"}});
  const json& g = j["gallery"];
  ASSERT_TRUE(g.is_object()) << j.dump(2);
  EXPECT_EQ(g["image_ids"], json(demo::kGalleryImageIds));
  EXPECT_EQ(g["common_image_ids"], json(demo::kGalleryImageIds));
  ASSERT_EQ(g["runs"].size(), 2u);
  const json& a = g["runs"][0];
  const json& b = g["runs"][1];
  EXPECT_EQ(a["run"], "focal-g1.5-lr1e-3");
  EXPECT_EQ(b["run"], "focal-g2.0-lr1e-3");
  // The evaluations compared: each run's best bbox evaluation at 0.05 (step 6000).
  EXPECT_EQ(a["evaluation"], j["stats"]["bbox"]["evaluations"][0]["id"]);
  EXPECT_EQ(b["evaluation"], j["stats"]["bbox"]["evaluations"][1]["id"]);
  EXPECT_EQ(b["outputs"]["detections"], 912);
  for (int64_t id : demo::kGalleryImageIds) {
    const std::string key = std::to_string(id);
    ASSERT_TRUE(a["images"].contains(key)) << key;
    ASSERT_TRUE(b["images"].contains(key)) << key;
    EXPECT_NE(a["images"][key]["url"], b["images"][key]["url"]);
    EXPECT_EQ(Get(a["images"][key]["url"]).status, 200);
    EXPECT_EQ(Get(b["images"][key]["url"]).status, 200);
  }
}

// Retention deleted a checkpoint's file and its gallery (through the job store, as a retention
// job's completion does; the files removed as the worker removes them): the run page marks the
// checkpoint and the gallery deleted by that job, images carry no url, the image URL answers 410
// naming the job, and the compare page says so instead of showing broken images.
TEST_F(GalleryApiTest, ADeletedGalleryIsShownAsDeletedAndItsImagesAre410) {
  const std::string run = "focal-g1.5-lr1e-3";
  auto found = store_->FindRunByName(run);
  ASSERT_TRUE(found.ok()) << found.status();
  auto checkpoints = store_->ListCheckpoints(found->id);
  ASSERT_TRUE(checkpoints.ok());
  const server::Checkpoint& newest = checkpoints->back();
  ASSERT_EQ(newest.step, 6000);

  server::SqliteJobStore jobs(*store_, clock_);
  server::NewJob retention;
  retention.kind = server::JobKind::kRetention;
  retention.spec_json = R"({"kind": "retention"})";
  auto job = jobs.CreateJob(retention);
  ASSERT_TRUE(job.ok()) << job.status();
  const server::CheckpointId ids[] = {newest.id};
  ASSERT_EQ(jobs.HoldCheckpointsForDeletion(job->id, ids)->size(), 1u);
  server::GalleryFileFilter of_checkpoint;
  of_checkpoint.checkpoint = newest.id;
  auto files = store_->ListGalleryFiles(of_checkpoint);
  ASSERT_TRUE(files.ok());
  ASSERT_FALSE(files->empty());
  std::vector<std::string> uris;
  for (const server::GalleryFile& f : *files) uris.push_back(f.uri);
  ASSERT_TRUE(jobs.HoldGalleryFilesForDeletion(job->id, uris).ok());
  const server::CheckpointDeletion deleted[] = {
      {newest.id, server::CheckpointDeletion::Result::kMissing, "", 0}};
  ASSERT_TRUE(jobs.RecordCheckpointDeletions(job->id, deleted).ok());
  std::vector<server::GalleryFileDeletion> gallery_report;
  for (const std::string& uri : uris) {
    fs::remove(uri.substr(std::string("file://").size()));
    gallery_report.push_back({uri, server::CheckpointDeletion::Result::kDeleted, "", 1});
  }
  ASSERT_TRUE(jobs.RecordGalleryDeletions(job->id, gallery_report).ok());
  clock_.AdvanceMs(60'000);  // past the snapshot's TTL
  const int64_t job_id = job->id.value;

  json page = GetJson("/api/runs/" + run);
  for (const json& c : page["checkpoints"]) {
    if (c["step"] == 6000) {
      EXPECT_EQ(c["state"], "deleted");
      EXPECT_EQ(c["deleted_by_job"], job_id);
      EXPECT_TRUE(c["deleted_unix_ms"].is_number());
    } else {
      EXPECT_EQ(c["state"], "kept") << c.dump();
      EXPECT_TRUE(c["deleted_by_job"].is_null());
    }
  }
  int deleted_galleries = 0;
  std::string url_of_deleted;
  for (const json& e : page["evaluations"]) {
    if (!e["gallery"].is_object()) continue;
    const json& g = e["gallery"];
    if (e["checkpoint"] == newest.name) {
      ++deleted_galleries;
      EXPECT_EQ(g["state"], "deleted");
      EXPECT_EQ(g["deleted_by_job"], job_id);
      EXPECT_EQ(g["count"], 4);  // the rows stay
      EXPECT_TRUE(e["stats"]["AP"].is_number());
      for (const json& i : g["images"]) {
        EXPECT_EQ(i["state"], "deleted");
        EXPECT_EQ(i["deleted_by_job"], job_id);
        EXPECT_TRUE(i["url"].is_null());
      }
      url_of_deleted = GalleryImageUrl(e["id"], g["images"][0]["image_id"]);
    } else {
      EXPECT_EQ(g["state"], "kept");  // other checkpoints keep their galleries
      EXPECT_EQ(Get(g["images"][0]["url"]).status, 200);
    }
  }
  EXPECT_GT(deleted_galleries, 0);
  ApiResponse gone = Get(url_of_deleted);
  EXPECT_EQ(gone.status, 410);
  EXPECT_NE(json::parse(gone.body)["error"].get<std::string>().find(
                "was deleted by retention job " + std::to_string(job_id)),
            std::string::npos)
      << gone.body;

  json cmp = GetJson("/api/compare", {{"runs", run + ",focal-g2.0-lr1e-3"}});
  const json& a = cmp["gallery"]["runs"][0];
  EXPECT_EQ(a["run"], run);
  EXPECT_EQ(a["state"], "deleted");
  EXPECT_EQ(a["deleted_by_job"], job_id);
  EXPECT_TRUE(a["images"]["12"]["url"].is_null());
  EXPECT_EQ(cmp["gallery"]["runs"][1]["state"], "kept");
}

TEST(GalleryDemoTest, WithoutAGalleryFolderTheDemoRecordsCountsOnly) {
  const fs::path dir = server::testing::FreshTempDir("dashboard_gallery_none");
  server::SqliteRunStoreOptions o;
  o.path = (dir / "runs.db").string();
  auto store = server::SqliteRunStore::Open(o);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE(demo::FillDemo(**store).ok());
  DashboardApi api(**store, {});
  ApiRequest req;
  req.path = "/api/compare";
  req.params = {{"runs", "focal-g1.5-lr1e-3,focal-g2.0-lr1e-3"}};
  json j = json::parse(api.Handle(req).body);
  EXPECT_TRUE(j["gallery"].is_null());
  EXPECT_EQ(j["stats"]["bbox"]["evaluations"][1]["outputs"]["detections"], 912);
  EXPECT_EQ(demo::FillDemo(**store, "relative/dir").status().code(),
            absl::StatusCode::kInvalidArgument);
  store->reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ablate::dashboard
