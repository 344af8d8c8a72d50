#include "protocol/job_spec.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "protocol/job_spec_examples.h"

namespace ablate::protocol {
namespace {

using testing::TrainJson;

TEST(JobSpecTest, RoundTrips) {
  auto spec = ParseJobSpec(TrainJson());
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->set["conf_loss"], "focal");
  EXPECT_EQ(spec->resume_checkpoint->uri, "file:///ck/a.pt");
  EXPECT_FALSE(spec->trainer.has_value());
  auto again = ParseJobSpec(JobSpecToJson(*spec));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(JobSpecToJson(*again), JobSpecToJson(*spec));
  EXPECT_FALSE(JobSpecToJson(*spec).contains("trainer"));  // ablate-train jobs: as before
}

TEST(JobSpecTest, EvalJobNeedsACheckpoint) {
  auto j = TrainJson();
  j["kind"] = "eval";
  j["resume_checkpoint"] = nullptr;
  auto spec = ParseJobSpec(j);
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(std::string(spec.status().message()).find("needs 'init_checkpoint'"),
            std::string::npos);
  j["init_checkpoint"] = {{"name", "step0000600-ep010-loss2.000"}, {"uri", "file:///ck/b.pt"}};
  EXPECT_TRUE(ParseJobSpec(j).ok());
}

TEST(JobSpecTest, TrainerNeedsNoDataAndRoundTrips) {
  nlohmann::json j = {{"kind", "train"},
                      {"run", "s-t00"},
                      {"set", {{"lr", 0.01}}},
                      {"trainer",
                       {{"command", {"python3", "train.py", "--lr", "0.01"}},
                        {"output", "summaries"},
                        {"iou", "segm"}}}};
  auto spec = ParseJobSpec(j);
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_TRUE(spec->trainer.has_value());
  EXPECT_EQ(spec->trainer->command,
            (std::vector<std::string>{"python3", "train.py", "--lr", "0.01"}));
  EXPECT_EQ(spec->trainer->output, "summaries");
  EXPECT_EQ(spec->trainer->iou, "segm");
  auto again = ParseJobSpec(JobSpecToJson(*spec));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(JobSpecToJson(*again), JobSpecToJson(*spec));

  j["trainer"]["output"] = "stdout";
  EXPECT_EQ(ParseJobSpec(j).status().message(),
            "job spec: trainer.output: expected summaries or events, got 'stdout'");
  j["trainer"]["output"] = "events";
  j["trainer"]["command"] = nlohmann::json::array();
  EXPECT_EQ(ParseJobSpec(j).status().message(),
            "job spec: trainer.command must be a non-empty list of strings");
}

TEST(JobSpecTest, SubstitutesConfigKeysInTheTrainerCommand) {
  const nlohmann::json config = {{"pos_threshold", 0.5}, {"conf_loss", "focal"}, {"ohem", true}};
  auto argv = SubstituteTrainerCommand(
      {"python3", "train.py", "--pos={pos_threshold}", "{conf_loss}", "{ohem}", "{{x}}"}, config);
  ASSERT_TRUE(argv.ok()) << argv.status();
  EXPECT_EQ(*argv,
            (std::vector<std::string>{"python3", "train.py", "--pos=0.5", "focal", "true", "{x}"}));
  EXPECT_EQ(SubstituteTrainerCommand({"t", "--neg={neg_threshold}"}, config).status().message(),
            "trainer.command[1] '--neg={neg_threshold}': '{neg_threshold}' is not a key of the "
            "trial's config (base.set or a parameter)");
  EXPECT_EQ(SubstituteTrainerCommand({"t", "{oops"}, config).status().message(),
            "trainer.command[1] '{oops': unclosed '{' (write {{ for a literal brace)");
}

TEST(JobSpecTest, RejectsBadInput) {
  auto j = TrainJson();
  j["kind"] = "retrain";
  EXPECT_NE(std::string(ParseJobSpec(j).status().message()).find("unknown kind 'retrain'"),
            std::string::npos);
  j = TrainJson();
  j["resume_checkpoint"]["uri"] = "s3://bucket/a.pt";
  EXPECT_NE(std::string(ParseJobSpec(j).status().message()).find("unsupported checkpoint URI"),
            std::string::npos);
  j = TrainJson();
  j["steps"] = 0;
  EXPECT_NE(std::string(ParseJobSpec(j).status().message()).find("'steps' > 0"), std::string::npos);
  j = TrainJson();
  j["steps"] = "many";
  EXPECT_NE(std::string(ParseJobSpec(j).status().message()).find("wrong field type"),
            std::string::npos);
  EXPECT_FALSE(ParseJobSpec(nlohmann::json::array()).ok());
}

}  // namespace
}  // namespace ablate::protocol
