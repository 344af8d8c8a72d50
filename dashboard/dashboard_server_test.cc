// DashboardServer over real HTTP on loopback (cpp-httplib client), against a SqliteRunStore file
// filled through the store API.
#include "dashboard/dashboard_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "dashboard/demo_dashboard_test.h"

namespace ablate::dashboard {
namespace {

using nlohmann::json;

class DashboardServerTest : public testing::DemoDashboardTest {
 protected:
  void SetUp() override {
    DashboardOptions options;
    options.api.coordinator_gauges = [] {
      CoordinatorGauges g;
      g.jobs_queued = 3;
      g.jobs_leased = 2;
      g.workers_alive = 1;
      g.metric_points_ingested = 1234;
      return g;
    };
    ASSERT_NO_FATAL_FAILURE(StartDemoDashboard("dashboard_http", options));
  }
};

// Issue 7: a gallery image over real HTTP, and a 404 for an image id the store does not list.
TEST_F(DashboardServerTest, ServesRegisteredGalleryImagesOnly) {
  auto run = client_->Get("/api/runs/focal-g2.0-lr1e-3");
  ASSERT_TRUE(run);
  ASSERT_EQ(run->status, 200);
  const json evaluation = json::parse(run->body)["evaluations"][4];
  const std::string url = evaluation["gallery"]["images"][0]["url"];
  auto image = client_->Get(url);
  ASSERT_TRUE(image);
  EXPECT_EQ(image->status, 200);
  EXPECT_EQ(image->get_header_value("Content-Type"), "image/jpeg");
  EXPECT_EQ(image->get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(static_cast<int64_t>(image->body.size()),
            evaluation["gallery"]["images"][0]["bytes"].get<int64_t>());
  EXPECT_EQ(image->body.substr(0, 2), "\xFF\xD8");
  auto unknown =
      client_->Get("/api/gallery/" + std::to_string(evaluation["id"].get<int64_t>()) + "/424242");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  auto traversal = client_->Get("/api/gallery/%2E%2E/%2E%2E/etc/passwd");
  ASSERT_TRUE(traversal);
  EXPECT_EQ(traversal->status, 400);
}

TEST_F(DashboardServerTest, ServesPageAndLeaderboardJson) {
  auto page = client_->Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("/assets/uPlot.iife.min.js"), std::string::npos);

  auto res = client_->Get("/api/leaderboard?by=AP&iou=bbox&top=3");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  json j = json::parse(res->body);
  ASSERT_EQ(j["rows"].size(), 3u);
  EXPECT_EQ(j["rows"][0]["run"]["name"], "focal-g2.0-lr1e-3");
  EXPECT_DOUBLE_EQ(j["rows"][0]["value"].get<double>(), 0.312);
}

TEST_F(DashboardServerTest, MalformedQueryIs400WithJsonMessage) {
  auto res = client_->Get("/api/leaderboard?top=lots");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(json::parse(res->body)["error"], "parameter 'top': 'lots' is not an integer");
  res = client_->Get("/api/leaderboard?by=ap");  // stat names are case-sensitive
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
}

TEST_F(DashboardServerTest, EscapedRunNamesResolve) {
  auto res = client_->Get("/api/runs/focal-g2.0-lr1e-3/metrics?key=loss%2Fbox");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(json::parse(res->body)["series"]["loss/box"].size(), 60u);
}

TEST_F(DashboardServerTest, EveryWritingMethodIs405) {
  auto post = client_->Post("/api/runs/base-r50", "{}", "application/json");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(post->get_header_value("Allow"), "GET, HEAD");
  auto put = client_->Put("/api/leaderboard", "{}", "application/json");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 405);
  auto del = client_->Delete("/api/runs/base-r50");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 405);
  auto patch = client_->Patch("/", "x", "text/plain");
  ASSERT_TRUE(patch);
  EXPECT_EQ(patch->status, 405);
  auto run = store_->FindRunByName("base-r50");
  EXPECT_TRUE(run.ok());
}

TEST_F(DashboardServerTest, ConditionalGetIs304) {
  auto first = client_->Get("/api/sweeps");
  ASSERT_TRUE(first);
  const std::string etag = first->get_header_value("ETag");
  ASSERT_FALSE(etag.empty());
  auto second = client_->Get("/api/sweeps", {{"If-None-Match", etag}});
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 304);
}

TEST_F(DashboardServerTest, MetricsHasGaugesAndLatencies) {
  ASSERT_TRUE(client_->Get("/api/sweeps"));
  auto res = client_->Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  const std::string& b = res->body;
  EXPECT_NE(b.find("ablate_jobs{state=\"queued\"} 3\n"), std::string::npos) << b;
  EXPECT_NE(b.find("ablate_jobs{state=\"leased\"} 2\n"), std::string::npos);
  EXPECT_NE(b.find("ablate_workers_alive 1\n"), std::string::npos);
  EXPECT_NE(b.find("ablate_metric_points_ingested_total 1234\n"), std::string::npos);
  EXPECT_NE(b.find("ablate_request_duration_seconds_count{protocol=\"http\",route=\"/api/"
                   "sweeps\"} 1\n"),
            std::string::npos)
      << b;
  EXPECT_NE(b.find("ablate_requests_total{protocol=\"http\",route=\"/api/sweeps\",code=\"200\"} 1"),
            std::string::npos);
}

TEST_F(DashboardServerTest, SecondServerOnSamePortIsUnavailable) {
  DashboardOptions options;
  options.port = server_->port();
  auto second = DashboardServer::Start(options, *store_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

// Readers on several connections while the store changes underneath (run under TSan once per
// concurrency change, STYLE.md).
TEST_F(DashboardServerTest, ConcurrentReadersWhileTheStoreChanges) {
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      httplib::Client c("127.0.0.1", server_->port());
      const char* paths[] = {"/api/sweeps", "/api/leaderboard?by=AR100", "/api/runs/base-r50",
                             "/api/compare?runs=base-r50,focal-g2.0-lr1e-3", "/metrics"};
      for (int i = 0; !stop && i < 200; ++i) {
        auto res = c.Get(paths[(i + t) % 5]);
        (res && res->status == 200 ? ok : bad)++;
      }
    });
  }
  auto run = store_->FindRunByName("focal-g3.0-lr1e-3");
  ASSERT_TRUE(run.ok());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(store_
                    ->SetRunStatus(run->id,
                                   i % 2 ? server::RunStatus::kRunning : server::RunStatus::kQueued)
                    .ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop = true;
  for (std::thread& r : readers) r.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(ok.load(), 0);
}

TEST(ParseHostPortTest, AcceptsHostPortAndRejectsGarbage) {
  auto a = ParseHostPort("127.0.0.1:8080");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->first, "127.0.0.1");
  EXPECT_EQ(a->second, 8080);
  auto b = ParseHostPort("[::1]:0");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->first, "::1");
  EXPECT_FALSE(ParseHostPort("8080").ok());
  EXPECT_FALSE(ParseHostPort("host:99999").ok());
  EXPECT_FALSE(ParseHostPort("host:http").ok());
}

}  // namespace
}  // namespace ablate::dashboard
