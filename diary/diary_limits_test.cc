// Hostile diaries (issue 13): a very long line used to overflow the stack inside std::regex.
#include <gtest/gtest.h>

#include <string>

#include "diary/diary_parser.h"

namespace ablate::diary {
namespace {

constexpr char kBlock[] =
    "step0200000-ep014-loss4.902.pt\n"
    " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.262\n"
    " Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = 0.431\n"
    " Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ] = 0.275\n"
    " Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = 0.061\n"
    " Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = 0.248\n"
    " Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.455\n"
    " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.241\n"
    " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 10 ] = 0.330\n"
    " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.337\n"
    " Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = 0.097\n"
    " Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = 0.334\n"
    " Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.548\n";

TEST(DiaryLimitsTest, LongLinesAreReadOnlyUpToTheLimit) {
  // 66 KB of "lr = 0.001" on one line, then an ordinary block: parsed, no stack overflow.
  std::string long_line = "notes: ";
  for (int i = 0; i < 6000; ++i) long_line += "lr = 0.001 ";
  const std::string text = long_line + "\n" + std::string(200000, ' ') + "\n" + kBlock;
  DiaryParseResult r = ParseDiary(text, "long.txt");
  ASSERT_EQ(r.evaluations.size(), 1u);
  EXPECT_DOUBLE_EQ(r.evaluations[0].stats[0], 0.262);
  EXPECT_EQ(RecogniseSettings(long_line).config["lr"], 0.001);
  // A setting past the first kMaxDiaryLineBytes bytes of its line is not read.
  EXPECT_FALSE(RecogniseSettings(std::string(kMaxDiaryLineBytes, 'x') + " batch_size = 8")
                   .config.contains("batch_size"));
}

}  // namespace
}  // namespace ablate::diary
