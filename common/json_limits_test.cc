#include "common/json_limits.h"

#include <gtest/gtest.h>

#include <string>

namespace ablate {
namespace {

std::string Nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(JsonLimitsTest, ParsesOrdinaryDocuments) {
  auto j = ParseUntrustedJson(R"({"lr": 0.001, "steps": [1, 2]})", "config_json");
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ((*j)["lr"], 0.001);
  EXPECT_EQ((*j)["steps"][1], 2);
}

TEST(JsonLimitsTest, AcceptsTheDepthLimitAndRefusesOneLevelMore) {
  EXPECT_TRUE(ParseUntrustedJson(Nested(kMaxJsonDepth), "x").ok());
  auto deep = ParseUntrustedJson(Nested(kMaxJsonDepth + 1), "config_json");
  ASSERT_EQ(deep.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(deep.status().message(),
            "config_json nests deeper than 64 levels (the JSON depth limit)");
  // Objects count like arrays; a million levels is refused without recursing that deep.
  std::string objects;
  for (int i = 0; i <= kMaxJsonDepth; ++i) objects += "{\"a\":";
  objects += "1" + std::string(kMaxJsonDepth + 1, '}');
  EXPECT_EQ(ParseUntrustedJson(objects, "x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(ParseUntrustedJson(Nested(1000000), "event").status().message().find("nests deeper"),
            std::string::npos);
}

TEST(JsonLimitsTest, MalformedTextNamesTheInput) {
  auto r = ParseUntrustedJson("{\"a\": ", "config_json");
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message().rfind("config_json is not JSON: ", 0), 0u) << r.status();
}

TEST(JsonLimitsTest, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("\xC3\xA9"));           // U+00E9
  EXPECT_TRUE(IsValidUtf8("\xE6\x8D\xA2"));       // U+6362
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80"));   // U+1F600
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));   // U+10FFFF
  EXPECT_FALSE(IsValidUtf8("traiM-\xC9n"));       // the fuzzer's sweep_yaml finding
  EXPECT_FALSE(IsValidUtf8("\x80"));              // continuation byte first
  EXPECT_FALSE(IsValidUtf8("\xC3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xE6\x8D"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xFF"));
}

}  // namespace
}  // namespace ablate
