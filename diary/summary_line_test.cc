// The summarize() line shared by the diary parser and the worker (summary_line.h).
#include "diary/summary_line.h"

#include <gtest/gtest.h>

namespace ablate::diary {
namespace {

TEST(SummaryLineTest, ReadsTheParts) {
  auto m = MatchSummaryLine(
      "[12:00:01] Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = "
      "0.431\r");
  ASSERT_TRUE(m.has_value());
  EXPECT_TRUE(m->precision);
  EXPECT_EQ(m->iou, "0.50");
  EXPECT_EQ(m->area, "all");
  EXPECT_EQ(m->max_dets, 100);
  EXPECT_EQ(m->value, "0.431");
  EXPECT_EQ(SummaryStatIndex(*m, {}), 1);
  EXPECT_EQ(SummaryValue(*m), 0.431);
}

TEST(SummaryLineTest, AnyCaseAndSpacing) {
  auto m = MatchSummaryLine("average recall(ar)@[iou=0.50:0.95|area=Medium|maxdets=100]=-1.000");
  ASSERT_TRUE(m.has_value());
  EXPECT_FALSE(m->precision);
  EXPECT_EQ(m->area, "medium");
  EXPECT_EQ(SummaryStatIndex(*m, {}), 10);  // ARm
  EXPECT_EQ(SummaryValue(*m), -1.0);
}

TEST(SummaryLineTest, ArOverAllAreasByAscendingMaxDets) {
  auto ar = [](int max_dets) {
    auto m = MatchSummaryLine(" Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=" +
                              std::to_string(max_dets) + " ] = 0.5");
    EXPECT_TRUE(m.has_value());
    EXPECT_TRUE(IsArOverAllAreas(*m));
    return *m;
  };
  // pycocotools' default maxDets [1, 10, 100].
  EXPECT_EQ(SummaryStatIndex(ar(1), {}), 6);
  EXPECT_EQ(SummaryStatIndex(ar(10), {1}), 7);
  EXPECT_EQ(SummaryStatIndex(ar(100), {1, 10}), 8);
  // COCOeval.params.maxDets = [5, 20, 300]: the same three stats.
  EXPECT_EQ(SummaryStatIndex(ar(5), {}), 6);
  EXPECT_EQ(SummaryStatIndex(ar(20), {5}), 7);
  EXPECT_EQ(SummaryStatIndex(ar(300), {5, 20}), 8);
  // AR10 printed before AR1: the second line is AR1 again, not the AR10 that was due.
  EXPECT_EQ(SummaryStatIndex(ar(1), {10}), 6);
  // AR1 twice likewise.
  EXPECT_EQ(SummaryStatIndex(ar(1), {1}), 6);
  // Not AR over all areas: maxDets plays no part.
  auto small = MatchSummaryLine(
      " Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = 0.5");
  ASSERT_TRUE(small.has_value());
  EXPECT_FALSE(IsArOverAllAreas(*small));
  EXPECT_EQ(SummaryStatIndex(*small, {}), 9);
}

TEST(SummaryLineTest, UnknownAreaOrIou) {
  auto area = MatchSummaryLine(
      " Average Precision  (AP) @[ IoU=0.50:0.95 | area=  tiny | maxDets=100 ] = 0.1");
  ASSERT_TRUE(area.has_value());
  EXPECT_FALSE(SummaryAreaKnown(*area));
  EXPECT_EQ(SummaryStatIndex(*area, {}), -1);
  auto iou = MatchSummaryLine(
      " Average Precision  (AP) @[ IoU=0.75      | area= small | maxDets=100 ] = 0.1");
  ASSERT_TRUE(iou.has_value());
  EXPECT_TRUE(SummaryAreaKnown(*iou));
  EXPECT_EQ(SummaryStatIndex(*iou, {}), -1);  // AP75 is printed over all areas only
}

TEST(SummaryLineTest, ValueMustBeTheWholeRest) {
  for (const char* bad : {"0.4x0", "n/a", "nan", "0.312 (2 s)", ""}) {
    auto m = MatchSummaryLine(
        std::string(" Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = ") +
        bad);
    ASSERT_TRUE(m.has_value()) << bad;
    EXPECT_FALSE(SummaryValue(*m).has_value()) << bad;
  }
}

TEST(SummaryLineTest, NotASummaryLine) {
  EXPECT_FALSE(MatchSummaryLine("loss: 0.3 AP 0.2").has_value());
  EXPECT_FALSE(LooksLikeSummaryLine("loss: 0.3 AP 0.2"));
  EXPECT_TRUE(LooksLikeSummaryLine("  AVERAGE PRECISION (AP) @ [ garbled"));
  EXPECT_FALSE(MatchSummaryLine("  AVERAGE PRECISION (AP) @ [ garbled").has_value());
  // Longer than kMaxSummaryLineBytes: none, whatever it holds.
  const std::string line =
      std::string(kMaxSummaryLineBytes, ' ') +
      "Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.1";
  EXPECT_FALSE(MatchSummaryLine(line).has_value());
}

}  // namespace
}  // namespace ablate::diary
