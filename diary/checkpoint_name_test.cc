// The checkpoint-name grammar shared by the diary parser and the worker (checkpoint_name.h).
#include "diary/checkpoint_name.h"

#include <gtest/gtest.h>

namespace ablate::diary {
namespace {

std::vector<std::string> Names(std::string_view line) {
  std::vector<std::string> out;
  for (const CheckpointMention& m : FindCheckpointNames(line)) out.push_back(m.name.name);
  return out;
}

TEST(CheckpointNameTest, FindsNamesWithPathsAndSuffixes) {
  const std::string line = "saved weights/step0000200-ep002-loss4.123.pdparams and step0000300.";
  const auto found = FindCheckpointNames(line);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].name.name, "step0000200-ep002-loss4.123");
  EXPECT_EQ(found[0].pos, line.find("step0000200"));
  EXPECT_EQ(found[0].size, found[0].name.name.size());
  EXPECT_EQ(found[0].file, "step0000200-ep002-loss4.123.pdparams");
  EXPECT_EQ(found[0].name.step, 200);
  EXPECT_EQ(found[0].name.epoch, 2);
  EXPECT_DOUBLE_EQ(*found[0].name.loss, 4.123);
  EXPECT_TRUE(found[0].name.complete());
  // A partial name: found, but not complete; the sentence's dot is no suffix.
  EXPECT_EQ(found[1].name.name, "step0000300");
  EXPECT_EQ(found[1].file, "step0000300");
  EXPECT_FALSE(found[1].name.complete());
}

TEST(CheckpointNameTest, NotGluedToLettersOrDigits) {
  EXPECT_TRUE(Names("xstep1-ep1-loss1 1step2").empty());
  EXPECT_TRUE(Names("step0200000x").empty());
  EXPECT_TRUE(Names("steps and stepping").empty());
  // An underscore, a slash or a quote before it is fine; a suffix starting with '_' or '.' too,
  // and the name keeps its full loss ("loss3.500", not "loss3").
  EXPECT_EQ(Names("best_step0000400-ep004-loss3.500_model.pth"),
            std::vector<std::string>{"step0000400-ep004-loss3.500"});
  EXPECT_EQ(Names("'step1-ep1-loss1',\"/a/step2\""),
            (std::vector<std::string>{"step1-ep1-loss1", "step2"}));
  // "-ep" without digits ends the name before it.
  EXPECT_EQ(Names("step12-ep1-lossx step5-ep-loss2"),
            (std::vector<std::string>{"step12-ep1", "step5"}));
}

TEST(CheckpointNameTest, FileSuffixOnlyWhenItEndsThere) {
  EXPECT_EQ(FindCheckpointNames("step1.pth,")[0].file, "step1.pth");
  EXPECT_EQ(FindCheckpointNames("step1.pt")[0].file, "step1.pt");
  EXPECT_EQ(FindCheckpointNames("step1.pth_old")[0].file, "step1");
  EXPECT_EQ(FindCheckpointNames("step1.ptx")[0].file, "step1");
  EXPECT_EQ(FindCheckpointNames("step1-loss2.5.safetensors")[0].file, "step1-loss2.5.safetensors");
}

TEST(CheckpointNameTest, ParseWholeToken) {
  auto c = ParseCheckpointName("step1066300-ep073-loss5.715.pth");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->name, "step1066300-ep073-loss5.715");
  EXPECT_EQ(c->step, 1066300);
  auto loss_only = ParseCheckpointName("step100-loss2.000");
  ASSERT_TRUE(loss_only.has_value());
  EXPECT_FALSE(loss_only->epoch.has_value());
  EXPECT_DOUBLE_EQ(*loss_only->loss, 2.0);
  EXPECT_FALSE(ParseCheckpointName("step1.pt.bak").has_value());
  EXPECT_FALSE(ParseCheckpointName("step1_model.pth").has_value());
  EXPECT_FALSE(ParseCheckpointName(" step1").has_value());
  EXPECT_FALSE(ParseCheckpointName("").has_value());
}

TEST(CheckpointNameTest, Format) {
  EXPECT_EQ(FormatCheckpointName(1200), "step0001200");
  EXPECT_EQ(FormatCheckpointName(1066300, 73, 5.7149), "step1066300-ep073-loss5.715");
  EXPECT_EQ(FormatCheckpointName(200, 2, std::nullopt), "step0000200-ep002");
  const std::string formatted = FormatCheckpointName(200, 2, 4.123);
  auto parsed = ParseCheckpointName(formatted);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->name, formatted);
}

}  // namespace
}  // namespace ablate::diary
