#include "cli/listen_policy.h"

#include <gtest/gtest.h>

namespace ablate::cli {
namespace {

TEST(ListenPolicyTest, LoopbackHosts) {
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("127.1.2.3"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_TRUE(IsLoopbackHost("[::1]"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_FALSE(IsLoopbackHost("0.0.0.0"));
  EXPECT_FALSE(IsLoopbackHost("[::]"));
  EXPECT_FALSE(IsLoopbackHost("10.0.0.5"));
  EXPECT_FALSE(IsLoopbackHost("127.example.com"));
  EXPECT_FALSE(IsLoopbackHost(""));
}

TEST(ListenPolicyTest, NonLoopbackNeedsTokensOrInsecure) {
  EXPECT_TRUE(CheckExposure("--listen", "127.0.0.1:50051", false, false).ok());
  EXPECT_TRUE(CheckExposure("--listen", "0.0.0.0:50051", true, false).ok());
  EXPECT_TRUE(CheckExposure("--listen", "0.0.0.0:50051", false, true).ok());
  Status st = CheckExposure("--http", "0.0.0.0:8080", false, false);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.message().substr(0, 86),
            "--http 0.0.0.0:8080 is reachable from other machines, but the coordinator has no "
            "--aut");
  EXPECT_NE(st.message().find("--auth-tokens tokens.txt"), std::string::npos);
  EXPECT_NE(st.message().find("--insecure"), std::string::npos);
}

}  // namespace
}  // namespace ablate::cli
