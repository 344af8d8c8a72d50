#include "common/human_bytes.h"

#include <gtest/gtest.h>

namespace ablate {
namespace {

TEST(HumanBytesTest, UnitsAndDecimals) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(1023), "1023 B");
  EXPECT_EQ(HumanBytes(1024), "1.0 KiB");
  EXPECT_EQ(HumanBytes(5000), "4.9 KiB");    // 4.8828...
  EXPECT_EQ(HumanBytes(48213), "47.1 KiB");  // 47.083...
  EXPECT_EQ(HumanBytes(int64_t{3} << 20), "3.0 MiB");
  EXPECT_EQ(HumanBytes((int64_t{1} << 20) - 1), "1024.0 KiB");  // rounds, keeps the unit
  EXPECT_EQ(HumanBytes(int64_t{5} << 30), "5.00 GiB");
  EXPECT_EQ(HumanBytes(int64_t{2} << 40), "2048.00 GiB");
  EXPECT_EQ(HumanBytes(-5), "-5 B");
}

}  // namespace
}  // namespace ablate
