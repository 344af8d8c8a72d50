// The job kind/state name lists and their enum lookups (both numberings: the store's from 0, the
// wire's from 1 after UNSPECIFIED).
#include "protocol/job_names.h"

#include <gtest/gtest.h>

namespace ablate::protocol {
namespace {

enum class FromZero { kTrain, kEval, kRetention };
enum FromOne : int { kUnspecified = 0, kPending = 1, kLeased, kSucceeded, kFailed, kCancelled };

TEST(JobNamesTest, EnumsNumberedFromZero) {
  EXPECT_EQ(EnumNamed<FromZero>(kJobKindNames, "train"), FromZero::kTrain);
  EXPECT_EQ(EnumNamed<FromZero>(kJobKindNames, "retention"), FromZero::kRetention);
  EXPECT_EQ(EnumNamed<FromZero>(kJobKindNames, "Train"), std::nullopt);
  EXPECT_EQ(EnumNamed<FromZero>(kJobKindNames, ""), std::nullopt);
  EXPECT_EQ(NameOf(kJobKindNames, FromZero::kEval, "?"), "eval");
  EXPECT_EQ(NameOf(kJobKindNames, static_cast<FromZero>(7), "?"), "?");
}

TEST(JobNamesTest, EnumsNumberedAfterAnUnspecifiedZero) {
  EXPECT_EQ(EnumNamed<FromOne>(kJobStateNames, "pending", 1), kPending);
  EXPECT_EQ(EnumNamed<FromOne>(kJobStateNames, "cancelled", 1), kCancelled);
  EXPECT_EQ(EnumNamed<FromOne>(kJobStateNames, "lost", 1), std::nullopt);
  EXPECT_EQ(NameOf(kJobStateNames, kUnspecified, "", 1), "");
  EXPECT_EQ(NameOf(kJobStateNames, kSucceeded, "", 1), "succeeded");
  EXPECT_EQ(NameOf(kJobStateNames, static_cast<FromOne>(6), "", 1), "");
  EXPECT_EQ(NameOf(kJobStateNames, static_cast<FromOne>(-3), "", 1), "");
}

TEST(JobNamesTest, EveryNameRoundTrips) {
  for (std::string_view name : kJobStateNames) {
    auto value = EnumNamed<FromOne>(kJobStateNames, name, 1);
    ASSERT_TRUE(value.has_value()) << name;
    EXPECT_EQ(NameOf(kJobStateNames, *value, "", 1), name);
  }
}

}  // namespace
}  // namespace ablate::protocol
