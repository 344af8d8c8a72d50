#include "common/canonical_json.h"

#include <gtest/gtest.h>

namespace ablate {
namespace {

TEST(CanonicalJsonTest, KeyOrderAndSpacingDoNotMatter) {
  auto a = CanonicalizeJson(R"({"lr": 0.001, "conf_loss": "focal", "nested": {"b": 1, "a": 2}})");
  auto b = CanonicalizeJson(R"({ "nested":{"a":2,"b":1},"conf_loss":"focal","lr":0.001 })");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(*a, R"({"conf_loss":"focal","lr":0.001,"nested":{"a":2,"b":1}})");
}

TEST(CanonicalJsonTest, FingerprintDiffersForDifferentValues) {
  auto x = nlohmann::json::parse(R"({"pos_threshold": 0.5})");
  auto y = nlohmann::json::parse(R"({"pos_threshold": 0.6})");
  EXPECT_NE(ConfigFingerprint(x), ConfigFingerprint(y));
  EXPECT_EQ(ConfigFingerprint(x).rfind("sha256:", 0), 0u);
}

TEST(CanonicalJsonTest, MalformedIsInvalidArgument) {
  auto r = CanonicalizeJson("{\"lr\": ");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("malformed JSON"), std::string::npos);
}

}  // namespace
}  // namespace ablate
