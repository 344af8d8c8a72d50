// The dashboard with access tokens (dashboard/http_auth.h) over real HTTP on loopback: 401 without
// a token (JSON for the API, the login page for the HTML), Bearer tokens, the login form's
// HttpOnly SameSite=Strict cookie, and admin-only non-GET requests.
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "dashboard/demo_dashboard_test.h"

namespace ablate::dashboard {
namespace {

using nlohmann::json;

constexpr char kAdmin[] = "admin-token-0123456789abcdef";
constexpr char kReader[] = "reader+token/0123456789abcdef";  // '+' and '/' need form encoding

class DashboardAuthTest : public testing::DemoDashboardTest {
 protected:
  void SetUp() override {
    auto tokens = TokenTable::Parse(
        std::string("admin ") + kAdmin + " alice\nreader " + kReader + " bob\n", "tokens");
    ASSERT_TRUE(tokens.ok()) << tokens.status();
    tokens_ = *std::move(tokens);
    DashboardOptions options;
    options.tokens = &tokens_;
    ASSERT_NO_FATAL_FAILURE(StartDemoDashboard("dashboard_auth", options));
  }

  TokenTable tokens_;
};

TEST_F(DashboardAuthTest, WithoutATokenEverythingIs401) {
  auto api = client_->Get("/api/sweeps");
  ASSERT_TRUE(api);
  EXPECT_EQ(api->status, 401);
  EXPECT_EQ(api->get_header_value("WWW-Authenticate"), "Bearer realm=\"ablate\"");
  EXPECT_EQ(json::parse(api->body)["error"],
            "an access token is required (Authorization: Bearer TOKEN, or sign in at /login)");
  auto metrics = client_->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 401);
  auto page = client_->Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 401);
  EXPECT_NE(page->body.find("<form method=\"post\" action=\"/login\">"), std::string::npos);
  EXPECT_EQ(page->body.find("focal"), std::string::npos);  // no run data on the login page
  auto wrong = client_->Get("/api/sweeps", {{"Authorization", "Bearer not-a-known-token-123"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(json::parse(wrong->body)["error"], "unknown access token");
  EXPECT_EQ(wrong->body.find("not-a-known-token"), std::string::npos);
}

TEST_F(DashboardAuthTest, BearerTokensReadEverything) {
  auto api = client_->Get("/api/sweeps", {{"Authorization", std::string("Bearer ") + kReader}});
  ASSERT_TRUE(api);
  EXPECT_EQ(api->status, 200);
  EXPECT_NE(api->body.find("sweeps"), std::string::npos);
  auto metrics = client_->Get("/metrics", {{"Authorization", std::string("Bearer ") + kReader}});
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
}

TEST_F(DashboardAuthTest, LoginFormSetsAnHttpOnlyStrictCookie) {
  auto bad =
      client_->Post("/login", "token=nope-nope-nope-nope", "application/x-www-form-urlencoded");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 401);
  EXPECT_NE(bad->body.find("Unknown access token."), std::string::npos);
  EXPECT_FALSE(bad->has_header("Set-Cookie"));
  // kReader form-encoded: '+' is %2B, '/' is %2F.
  auto ok = client_->Post("/login", "token=reader%2Btoken%2F0123456789abcdef",
                          "application/x-www-form-urlencoded");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 303);
  EXPECT_EQ(ok->get_header_value("Location"), "/");
  const std::string cookie = ok->get_header_value("Set-Cookie");
  EXPECT_NE(cookie.find("; HttpOnly"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("; SameSite=Strict"), std::string::npos) << cookie;
  EXPECT_EQ(cookie.find("Secure"), std::string::npos) << cookie;  // plain HTTP here
  EXPECT_EQ(cookie.find(kReader), std::string::npos) << cookie;
  const std::string pair = cookie.substr(0, cookie.find(';'));
  auto page = client_->Get("/", {{"Cookie", pair}});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  auto api = client_->Get("/api/runs/focal-g2.0-lr1e-3", {{"Cookie", "theme=dark; " + pair}});
  ASSERT_TRUE(api);
  EXPECT_EQ(api->status, 200);
  auto logout = client_->Post("/logout", {{"Cookie", pair}}, "", "text/plain");
  ASSERT_TRUE(logout);
  EXPECT_EQ(logout->status, 303);
  EXPECT_NE(logout->get_header_value("Set-Cookie").find("ablate_token=; "), std::string::npos);
  EXPECT_NE(logout->get_header_value("Set-Cookie").find("Max-Age=0"), std::string::npos);
}

TEST_F(DashboardAuthTest, OnlyAdminMayDoAnythingButRead) {
  auto reader = client_->Post("/api/sweeps", {{"Authorization", std::string("Bearer ") + kReader}},
                              "{}", "application/json");
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->status, 403);
  EXPECT_EQ(json::parse(reader->body)["error"], "role 'reader' may not POST /api/sweeps");
  // An admin gets through to the API, which is read-only.
  auto admin = client_->Post("/api/sweeps", {{"Authorization", std::string("Bearer ") + kAdmin}},
                             "{}", "application/json");
  ASSERT_TRUE(admin);
  EXPECT_EQ(admin->status, 405);
}

}  // namespace
}  // namespace ablate::dashboard
