// DashboardApi called directly (no HTTP) over a real SqliteRunStore filled through the store API.
// Expected figures are the hand-chosen constants of demo_fixture.h or hand-computed below.
#include "dashboard/api.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "dashboard/demo_fixture.h"
#include "server/sqlite_job_store.h"
#include "server/sqlite_run_store.h"
#include "server/test_util.h"

namespace ablate::dashboard {
namespace {

using nlohmann::json;

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = server::testing::OpenTestStore(&clock_);
    ASSERT_NE(store_, nullptr);
    ASSERT_TRUE(demo::FillDemo(*store_).ok());
    DashboardApiOptions api_options;
    api_options.clock = &clock_;
    api_options.snapshot_ttl_ms = 1000;
    api_ = std::make_unique<DashboardApi>(*store_, api_options);
  }
  void TearDown() override {
    api_.reset();
    store_.reset();
  }

  ApiResponse Get(const std::string& path, std::multimap<std::string, std::string> params = {}) {
    ApiRequest r;
    r.path = path;
    r.params = std::move(params);
    return api_->Handle(r);
  }
  json GetJson(const std::string& path, std::multimap<std::string, std::string> params = {}) {
    ApiResponse r = Get(path, std::move(params));
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return json::parse(r.body);
  }

  FakeClock clock_;
  std::unique_ptr<server::SqliteRunStore> store_;
  std::unique_ptr<DashboardApi> api_;
};

TEST_F(ApiTest, LeaderboardRanksBestEvaluationPerRunInLargestGroup) {
  json j = GetJson("/api/leaderboard", {{"by", "AP"}, {"iou", "bbox"}});
  // Largest group: score_threshold 0.05 (base + 5 evaluated trials); the 0.005 re-scoring is a
  // group of its own and must not leak into it.
  ASSERT_EQ(j["rows"].size(), 6u);
  EXPECT_EQ(j["rows"][0]["run"]["name"], "focal-g2.0-lr1e-3");
  EXPECT_DOUBLE_EQ(j["rows"][0]["value"].get<double>(), 0.312);
  EXPECT_EQ(j["rows"][0]["evaluation"]["step"], 6000);
  EXPECT_EQ(j["rows"][1]["run"]["name"], "focal-g1.5-lr1e-3");
  EXPECT_DOUBLE_EQ(j["rows"][1]["value"].get<double>(), 0.305);
  EXPECT_EQ(j["rows"][2]["run"]["name"], "focal-g2.0-lr2e-3");
  EXPECT_EQ(j["rows"][3]["run"]["name"], "base-r50");
  EXPECT_DOUBLE_EQ(j["rows"][3]["value"].get<double>(), 0.274);
  ASSERT_EQ(j["groups"].size(), 2u);
  EXPECT_EQ(j["groups"][0]["run_count"], 6);
  EXPECT_TRUE(j["groups"][0]["selected"].get<bool>());
  EXPECT_EQ(j["groups"][1]["run_count"], 1);
}

TEST_F(ApiTest, LeaderboardSortsByAnyStatAndFilters) {
  // AP50 = AP + 0.18 for every demo evaluation, so the order is the same, values shifted.
  json j = GetJson("/api/leaderboard", {{"by", "AP50"}, {"iou", "segm"}, {"top", "2"}});
  ASSERT_EQ(j["rows"].size(), 2u);
  EXPECT_EQ(j["total_rows"], 6);
  EXPECT_NEAR(j["rows"][0]["value"].get<double>(), 0.281 + 0.18, 1e-9);
  j = GetJson("/api/leaderboard",
              {{"sweep", "focal-sweep"}, {"status", "running,failed"}, {"order", "asc"}});
  ASSERT_EQ(j["rows"].size(), 2u);
  EXPECT_EQ(j["rows"][0]["run"]["name"], "focal-g1.0-lr1e-3");
  EXPECT_EQ(j["rows"][1]["run"]["name"], "focal-g2.5-lr1e-3");
  j = GetJson("/api/leaderboard", {{"score_threshold", "0.005"}});
  ASSERT_EQ(j["rows"].size(), 1u);
  EXPECT_DOUBLE_EQ(j["rows"][0]["value"].get<double>(), 0.316);
}

TEST_F(ApiTest, BadParametersAre400NamingTheParameter) {
  struct Case {
    std::string path;
    std::multimap<std::string, std::string> params;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {"/api/leaderboard", {{"by", "APX"}}, "parameter 'by': unknown stat 'APX'"},
      {"/api/leaderboard", {{"iou", "keypoints"}}, "parameter 'iou'"},
      {"/api/leaderboard", {{"top", "ten"}}, "parameter 'top': 'ten' is not an integer"},
      {"/api/leaderboard", {{"top", "-1"}}, "parameter 'top': -1 is outside [0, 100000]"},
      {"/api/leaderboard", {{"status", "done"}}, "parameter 'status': unknown run status 'done'"},
      {"/api/leaderboard", {{"score_threshold", "nan"}}, "parameter 'score_threshold'"},
      {"/api/leaderboard", {{"order", "up"}}, "parameter 'order'"},
      {"/api/leaderboard", {{"sort", "AP"}}, "unknown query parameter 'sort'"},
      {"/api/leaderboard", {{"by", "AP"}, {"by", "AR1"}}, "parameter 'by' is given more than once"},
      {"/api/compare", {{"runs", "base-r50"}}, "parameter 'runs': give 2 to 8"},
      {"/api/compare", {{"runs", "base-r50,base-r50"}}, "a run is named twice"},
      {"/api/sweeps", {{"x", "1"}}, "unknown query parameter 'x' for /api/sweeps"},
  };
  for (const Case& c : cases) {
    ApiResponse r = Get(c.path, c.params);
    EXPECT_EQ(r.status, 400) << c.path << " " << r.body;
    json j = json::parse(r.body);
    EXPECT_NE(j["error"].get<std::string>().find(c.needle), std::string::npos)
        << j["error"] << " lacks " << c.needle;
  }
}

TEST_F(ApiTest, UnknownThingsAre404) {
  EXPECT_EQ(Get("/api/runs/nope").status, 404);
  EXPECT_EQ(json::parse(Get("/api/runs/nope").body)["error"], "no run named 'nope'");
  EXPECT_EQ(Get("/api/compare", {{"runs", "base-r50,nope"}}).status, 404);
  EXPECT_EQ(Get("/api/lineage", {{"root", "step9999999"}}).status, 404);
  EXPECT_EQ(Get("/api/leaderboard", {{"group", "bbox|nothing"}}).status, 404);
  EXPECT_EQ(Get("/api/unknown").status, 404);
  EXPECT_EQ(Get("/assets/nothing.js").status, 404);
}

// Found by fuzz_dashboard_query: a path or parameter that is not UTF-8, echoed in the error,
// made the JSON writer throw out of the handler. Now the byte reads as U+FFFD.
TEST_F(ApiTest, BytesThatAreNotUtf8GiveAJsonErrorNotAnException) {
  ApiResponse path = Get("/api/runs/no\xaeone");
  EXPECT_EQ(path.status, 404);
  EXPECT_EQ(json::parse(path.body)["error"], "no run named 'no\xef\xbf\xbdone'");
  ApiResponse param = Get("/api/leaderboard", {{"group", "bbox|\xff"}});
  EXPECT_EQ(param.status, 404);
  EXPECT_TRUE(json::parse(param.body)["error"].is_string());
}

TEST_F(ApiTest, WritesAreRefusedWith405AndChangeNothing) {
  for (const char* method : {"POST", "PUT", "PATCH", "DELETE"}) {
    ApiRequest r;
    r.method = method;
    r.path = "/api/runs/base-r50";
    ApiResponse res = api_->Handle(r);
    EXPECT_EQ(res.status, 405) << method;
    EXPECT_NE(res.body.find("read-only"), std::string::npos);
  }
  auto runs = store_->ListRuns(server::RunFilter{});
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs->size(), 7u);
}

TEST_F(ApiTest, RunPageHasOverridesCheckpointsCurvesAndRescoring) {
  json j = GetJson("/api/runs/focal-g2.0-lr1e-3");
  EXPECT_EQ(j["run"]["parent_checkpoint"], "step0003000-ep003-loss2.950");
  EXPECT_EQ(j["run"]["parent_run"], "base-r50");
  // Overrides against base-r50: conf_loss ohem->focal, focal_* added, ohem ratio removed.
  std::map<std::string, json> overrides;
  for (const json& o : j["config_overrides"]) overrides[o["key"]] = o;
  EXPECT_EQ(overrides["conf_loss"]["parent"], "ohem");
  EXPECT_EQ(overrides["conf_loss"]["value"], "focal");
  EXPECT_TRUE(overrides["focal_loss_gamma"]["parent"].is_null());
  EXPECT_TRUE(overrides["ohem_negpos_ratio"]["value"].is_null());
  EXPECT_EQ(overrides.count("lr"), 0u);  // same 1e-3 as the parent
  EXPECT_EQ(j["checkpoints"].size(), 3u);
  // 3 checkpoints x (bbox, segm) + one re-scoring.
  ASSERT_EQ(j["evaluations"].size(), 7u);
  EXPECT_TRUE(j["evaluations"][6]["rescoring"].get<bool>());
  EXPECT_FALSE(j["evaluations"][0]["rescoring"].get<bool>());
  EXPECT_EQ(j["evaluations"][0]["per_category"].size(), 4u);
  EXPECT_EQ(j["metric_keys"].size(), 7u);

  json m = GetJson("/api/runs/focal-g2.0-lr1e-3/metrics", {{"key", "loss/box,lr"}});
  ASSERT_EQ(m["series"].size(), 2u);
  // Steps 3050..6000 every 50: 60 points, ascending.
  ASSERT_EQ(m["series"]["loss/box"].size(), 60u);
  EXPECT_EQ(m["series"]["loss/box"][0][0], 3050);
  EXPECT_EQ(m["series"]["loss/box"][59][0], 6000);
}

TEST_F(ApiTest, CompareGivesDeltasAgainstFirstRun) {
  json j = GetJson("/api/compare", {{"runs", "focal-g1.5-lr1e-3,focal-g2.0-lr1e-3"}});
  const json& bbox = j["stats"]["bbox"];
  EXPECT_TRUE(bbox["comparable"].get<bool>());
  // 0.312 - 0.305, hand-computed.
  EXPECT_NEAR(bbox["deltas"][1]["AP"].get<double>(), 0.007, 1e-9);
  EXPECT_TRUE(bbox["deltas"][0].is_null());
  const json& segm = j["stats"]["segm"];
  EXPECT_NEAR(segm["deltas"][1]["AP"].get<double>(), 0.281 - 0.276, 1e-9);
  ASSERT_EQ(bbox["categories"].size(), 4u);
  bool gamma_differs = false;
  for (const json& d : j["config_diff"]) {
    if (d["key"] == "focal_loss_gamma") {
      gamma_differs = !d["same"].get<bool>();
      EXPECT_EQ(d["values"][0], 1.5);
      EXPECT_EQ(d["values"][1], 2.0);
    }
  }
  EXPECT_TRUE(gamma_differs);
}

TEST_F(ApiTest, LineageFromCheckpointPrefixListsForks) {
  json j = GetJson("/api/lineage", {{"root", "step0003000"}});
  ASSERT_EQ(j["roots"].size(), 1u);
  const json& root = j["roots"][0];
  EXPECT_EQ(root["name"], "step0003000-ep003-loss2.950");
  EXPECT_DOUBLE_EQ(root["best"]["ap"].get<double>(), 0.274);
  EXPECT_EQ(root["children"].size(), 6u);  // every trial forked from it
  json all = GetJson("/api/lineage");
  ASSERT_EQ(all["roots"].size(), 1u);  // only base-r50 has no parent
  EXPECT_EQ(all["roots"][0]["name"], "base-r50");
}

TEST_F(ApiTest, SweepsCountTrialsByStatus) {
  json j = GetJson("/api/sweeps");
  json sweep;
  for (const json& s : j["sweeps"]) {
    if (s["name"] == "focal-sweep") sweep = s;
  }
  ASSERT_FALSE(sweep.is_null());
  // The shared sweep vocabulary (server/record_json.h): "progress" with "total", as `ablate
  // sweeps --json` prints it (renamed from "runs" / "counts").
  EXPECT_EQ(sweep["progress"]["total"], 6);
  EXPECT_EQ(sweep["progress"]["succeeded"], 3);
  EXPECT_EQ(sweep["progress"]["running"], 1);
  EXPECT_EQ(sweep["progress"]["failed"], 1);
  EXPECT_EQ(sweep["progress"]["queued"], 1);
  EXPECT_TRUE(sweep["active"].get<bool>());
  EXPECT_EQ(sweep["best_run"], "focal-g2.0-lr1e-3");
}

TEST_F(ApiTest, CrossRunViewsFollowTheStoreAfterTheSnapshotTtl) {
  auto running = [&] {
    json j = GetJson("/api/sweeps");
    for (const json& s : j["sweeps"]) {
      if (s["name"] == "focal-sweep") return s["progress"]["running"].get<int>();
    }
    return -1;
  };
  EXPECT_EQ(running(), 1);
  auto run = store_->FindRunByName("focal-g3.0-lr1e-3");
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE(store_->SetRunStatus(run->id, server::RunStatus::kRunning).ok());
  EXPECT_EQ(running(), 1);  // the snapshot is younger than its TTL
  clock_.AdvanceMs(1001);
  EXPECT_EQ(running(), 2);
}

// Early stopping (docs/sweeps.md): a stopped trial is counted as such in its sweep and its run
// page and leaderboard row carry the step and the reason.
TEST_F(ApiTest, StoppedTrialShowsItsStepAndReason) {
  auto run = store_->FindRunByName("focal-g3.0-lr1e-3");
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE(
      store_->MarkRunStopped(run->id, 3000, "asha rung 3000: segm.AP 0.1000 ranks 3 of 3").ok());
  clock_.AdvanceMs(1001);
  json sweeps = GetJson("/api/sweeps");
  for (const json& s : sweeps["sweeps"]) {
    if (s["name"] != "focal-sweep") continue;
    EXPECT_EQ(s["progress"]["stopped"], 1);
    EXPECT_EQ(s["progress"]["queued"], 0);
  }
  json page = GetJson("/api/runs/focal-g3.0-lr1e-3");
  EXPECT_EQ(page["run"]["status"], "stopped");
  EXPECT_EQ(page["run"]["stopped_at_step"], 3000);
  EXPECT_EQ(page["run"]["stop_reason"], "asha rung 3000: segm.AP 0.1000 ranks 3 of 3");
  json other = GetJson("/api/runs/focal-g2.0-lr1e-3");
  EXPECT_TRUE(other["run"]["stopped_at_step"].is_null());
  EXPECT_TRUE(other["run"]["stop_reason"].is_null());
  json filtered = GetJson("/api/leaderboard", {{"status", "stopped"}});
  EXPECT_TRUE(filtered["rows"].empty());  // it has no evaluation: it stopped while queued
  ApiResponse metrics = Get("/metrics");
  EXPECT_NE(metrics.body.find("ablate_runs{status=\"stopped\"} 1\n"), std::string::npos)
      << metrics.body;
}

TEST_F(ApiTest, EtagMatchGives304) {
  ApiResponse first = Get("/api/sweeps");
  std::string etag;
  for (auto& [k, v] : first.headers) {
    if (k == "ETag") etag = v;
  }
  ASSERT_FALSE(etag.empty());
  ApiRequest r;
  r.path = "/api/sweeps";
  r.if_none_match = etag;
  ApiResponse second = api_->Handle(r);
  EXPECT_EQ(second.status, 304);
  EXPECT_TRUE(second.body.empty());
}

TEST_F(ApiTest, MetricsEndpointIsPrometheusText) {
  Get("/api/sweeps");
  ApiResponse r = Get("/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type.rfind("text/plain; version=0.0.4", 0), 0u);
  EXPECT_NE(r.body.find("ablate_runs{status=\"succeeded\"} 4\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("ablate_runs{status=\"queued\"} 1\n"), std::string::npos);
  EXPECT_NE(r.body.find("# TYPE ablate_evaluations gauge"), std::string::npos);
}

TEST_F(ApiTest, PageAndAssetsAreEmbedded) {
  ApiResponse page = Get("/");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<title>Ablate"), std::string::npos);
  ApiResponse uplot = Get("/assets/uPlot.iife.min.js");
  EXPECT_EQ(uplot.status, 200);
  EXPECT_GT(uplot.body.size(), 40000u);
}

TEST_F(ApiTest, SchedulerGivesRunWorkerAndJobGauges) {
  server::SqliteJobStore jobs(*store_, clock_);
  DashboardApiOptions options;
  options.clock = &clock_;
  options.jobs = &jobs;
  DashboardApi api(*store_, options);
  auto run = store_->FindRunByName("focal-g3.0-lr1e-3");
  ASSERT_TRUE(run.ok());
  server::NewJob job;
  job.run = run->id;
  job.spec_json = "{}";
  ASSERT_TRUE(jobs.CreateJob(job).ok());
  auto other = store_->FindRunByName("focal-g2.5-lr1e-3");
  ASSERT_TRUE(other.ok());
  job.run = other->id;
  ASSERT_TRUE(jobs.CreateJob(job).ok());
  auto worker = jobs.UpsertWorker("gpu-box-1", "gpu-box", 1, "cuda:0");
  ASSERT_TRUE(worker.ok()) << worker.status();
  auto lease = jobs.LeaseNextJob(worker->id, 60'000, /*retry_elsewhere_ms=*/0);
  ASSERT_TRUE(lease.ok() && lease->has_value()) << lease.status();
  ASSERT_EQ((*lease)->first.run_name, "focal-g3.0-lr1e-3");  // oldest pending job first

  ApiRequest r;
  r.path = "/api/runs/focal-g3.0-lr1e-3";
  json j = json::parse(api.Handle(r).body);
  EXPECT_EQ(j["worker"], "gpu-box-1");
  ASSERT_EQ(j["jobs"].size(), 1u);
  EXPECT_EQ(j["jobs"][0]["state"], "leased");
  r.path = "/metrics";
  const std::string metrics = api.Handle(r).body;
  EXPECT_NE(metrics.find("ablate_jobs{state=\"queued\"} 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("ablate_jobs{state=\"leased\"} 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("ablate_workers_alive 1\n"), std::string::npos);
}

}  // namespace
}  // namespace ablate::dashboard
