// Rasterisation tests: hand-checked polygons and boxes (pycocotools' rleFrPoly marks the pixels
// whose centres the upsampled boundary encloses).
#include "coco/polygon.h"

#include "gtest/gtest.h"

namespace ablate::coco {
namespace {

TEST(PolygonTest, IntegerBoxCoversExactlyItsPixels) {
  // frPyObjects([[2, 3, 4, 5]], 20, 20): columns 2..5, rows 3..7.
  const Rle r = RleFromBox(BoxXywh{2, 3, 4, 5}, 20, 20);
  EXPECT_EQ(RleArea(r), 20u);
  const BoxXywh b = RleToBbox(r);
  EXPECT_EQ(b.x, 2);
  EXPECT_EQ(b.y, 3);
  EXPECT_EQ(b.w, 4);
  EXPECT_EQ(b.h, 5);
  const std::vector<uint8_t> m = DecodeMask(r);
  for (uint32_t x = 0; x < 20; ++x)
    for (uint32_t y = 0; y < 20; ++y)
      EXPECT_EQ(m[x * 20 + y], x >= 2 && x < 6 && y >= 3 && y < 8) << x << "," << y;
}

TEST(PolygonTest, BoxClippedAtImageBorder) {
  const Rle r = RleFromBox(BoxXywh{-3, -2, 6, 5}, 10, 10);
  EXPECT_EQ(RleArea(r), 9u);  // columns 0..2, rows 0..2
}

TEST(PolygonTest, TriangleIsHalfTheSquare) {
  // Right triangle (0,0)-(10,0)-(0,10): pixel centres (x+.5, y+.5) with x + y + 1 <= 10 are in.
  const double xy[] = {0, 0, 10, 0, 0, 10};
  const Rle r = RleFromPolygon(xy, 12, 12);
  const uint32_t area = RleArea(r);
  EXPECT_GE(area, 45u);
  EXPECT_LE(area, 55u);
}

TEST(PolygonTest, PartsAreUnitedAndFourNumberPartsAreBoxes) {
  StatusOr<Rle> two = RleFromPolygons({{0, 0, 0, 4, 4, 4, 4, 0}, {6, 6, 6, 8, 8, 8, 8, 6}}, 10, 10);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(RleArea(*two), 16u + 4u);
  StatusOr<Rle> boxes = RleFromPolygons({{0, 0, 4, 4}, {6, 6, 2, 2}}, 10, 10);
  ASSERT_TRUE(boxes.ok());
  EXPECT_EQ(boxes->counts, two->counts);
  EXPECT_EQ(RleFromPolygons({}, 10, 10).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RleFromPolygons({{1, 2}}, 10, 10).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ablate::coco
