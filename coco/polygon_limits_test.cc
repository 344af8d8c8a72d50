// Polygon rasterisation limits (issue 13): hostile coordinates must neither overflow int (UB in
// the boundary walk) nor make the boundary buffers gigabytes long.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "coco/polygon.h"
#include "coco/rle.h"

namespace ablate::coco {
namespace {

// Found by fuzz_coco_masks: a coordinate past the int range made TruncToInt return INT_MIN and
// `40 - INT_MIN` overflowed (UBSan: signed integer overflow in RleFromPolygon).
TEST(PolygonLimitsTest, CoordinatesPastTheLimitAreAnErrorAndAnEmptyMask) {
  const std::vector<double> huge = {2, 2, 5, 2, -3e9, 10};
  auto r = RleFromPolygons({huge}, 16, 16);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "polygon segmentation: part 0 has a coordinate that is not finite or beyond +-1e6 px, "
            "or a boundary of more than 33554432 points on the 5x grid (the limits)");
  const Rle empty = RleFromPolygon(huge, 16, 16);
  EXPECT_EQ(empty.counts, std::vector<uint32_t>{256});
  const std::vector<double> nan = {2, 2, 5, 2, std::nan(""), 10};
  EXPECT_FALSE(ValidatePolygons({nan}).ok());
  EXPECT_EQ(RleArea(RleFromPolygon(nan, 16, 16)), 0u);
}

TEST(PolygonLimitsTest, CoordinateLimitIsInclusive) {
  EXPECT_TRUE(ValidatePolygons({{0, 0, 1e6, 0, 0, 1}}).ok());
  EXPECT_FALSE(ValidatePolygons({{0, 0, 1e6 + 1, 0, 0, 1}}).ok());
  EXPECT_FALSE(ValidatePolygons({{0, 0, 10, 0, 0, -1e6 - 1}}).ok());
}

TEST(PolygonLimitsTest, LongBoundaryIsRefusedBeforeAllocating) {
  // 8 vertices alternating between -1e6 and 1e6: 8 edges of 5 * 2e6 points = 8e7 > 2^25.
  std::vector<double> zigzag;
  for (int i = 0; i < 8; ++i) {
    zigzag.push_back(i % 2 == 0 ? -1e6 : 1e6);
    zigzag.push_back(i);
  }
  EXPECT_EQ(ValidatePolygons({zigzag}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RleArea(RleFromPolygon(zigzag, 8, 8)), 0u);
}

TEST(PolygonLimitsTest, OrdinaryPolygonsAreUnchanged) {
  // A 4x4 square at (2, 2) in a 10x10 image: pycocotools' rleFrPoly gives 16 pixels.
  const std::vector<double> square = {2, 2, 6, 2, 6, 6, 2, 6};
  EXPECT_TRUE(ValidatePolygons({square}).ok());
  EXPECT_EQ(RleArea(RleFromPolygon(square, 10, 10)), 16u);
}

// Found by fuzz_coco_masks (a 10 s timeout): merging RLEs whose runs add up to different totals
// never ended.
TEST(PolygonLimitsTest, MergingRlesOfDifferentTotalsEnds) {
  const std::vector<Rle> rles = {Rle{4, 4, {3, 2}}, Rle{4, 4, {1, 15}}};
  const Rle merged = MergeRles(rles, /*intersect=*/false);
  EXPECT_EQ(merged.counts, (std::vector<uint32_t>{1, 4}));
}

}  // namespace
}  // namespace ablate::coco
