#include "worker/trainer_command.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "protocol/job_spec_examples.h"

namespace ablate::worker {
namespace {

using protocol::JobSpec;
using protocol::ParseJobSpec;
using protocol::testing::TrainJson;

bool HasPair(const std::vector<std::string>& argv, const std::string& flag,
             const std::string& value) {
  for (size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == flag && argv[i + 1] == value) return true;
  }
  return false;
}

TEST(TrainerCommandTest, BuildsAblateTrainRunArgv) {
  auto spec = ParseJobSpec(TrainJson());
  ASSERT_TRUE(spec.ok()) << spec.status();
  auto argv = TrainerArgv(*spec, "/bin/ablate-train", "/w/t1", "cpu");
  ASSERT_TRUE(argv.ok()) << argv.status();
  EXPECT_EQ((*argv)[1], "run");
  EXPECT_TRUE(HasPair(*argv, "--set", "conf_loss=focal"));
  EXPECT_TRUE(HasPair(*argv, "--set", "focal_alpha=0.25"));
  EXPECT_TRUE(HasPair(*argv, "--set", "batch_size=8"));
  EXPECT_TRUE(HasPair(*argv, "--resume", "/ck/a.pt"));
  EXPECT_TRUE(HasPair(*argv, "--score-threshold", "0.005"));
  EXPECT_TRUE(HasPair(*argv, "--checkpoint-every", "200"));
  EXPECT_EQ(argv->back(), "--events");
}

TEST(TrainerCommandTest, BuildsAblateTrainEvalArgv) {
  auto j = TrainJson();
  j["kind"] = "eval";
  j["resume_checkpoint"] = nullptr;
  j["init_checkpoint"] = {{"name", "step0000600-ep010-loss2.000"}, {"uri", "file:///ck/b.pt"}};
  auto ok = ParseJobSpec(j);
  ASSERT_TRUE(ok.ok()) << ok.status();
  auto argv = TrainerArgv(*ok, "t", "/w", "cuda:0", /*threads=*/3);
  ASSERT_TRUE(argv.ok());
  // Global flags come before the subcommand: t --threads 3 eval ...
  EXPECT_EQ((*argv)[3], "eval");
  EXPECT_TRUE(HasPair(*argv, "--checkpoint", "/ck/b.pt"));
  EXPECT_TRUE(HasPair(*argv, "--out", "/w"));
  EXPECT_TRUE(HasPair(*argv, "--results", "/w/results.json"));
  EXPECT_TRUE(HasPair(*argv, "--device", "cuda:0"));
  EXPECT_TRUE(HasPair(*argv, "--threads", "3"));
}

TEST(TrainerCommandTest, EnvironmentNamesTheCheckpointToStartFrom) {
  JobSpec spec;
  spec.run = "s-t01";
  spec.trainer = protocol::TrainerSpec{{"python3", "train.py"}, "summaries", "segm"};
  auto fresh = TrainerEnvironment(spec, "/w/runs/s-t01", "/w/runs/s-t01/trial_config.json", "cpu");
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(fresh->at("ABLATE_TRIAL_CONFIG"), "/w/runs/s-t01/trial_config.json");
  EXPECT_EQ(fresh->at("ABLATE_TRIAL_DIR"), "/w/runs/s-t01");
  EXPECT_EQ(fresh->at("ABLATE_RUN"), "s-t01");
  EXPECT_EQ(fresh->at("ABLATE_DEVICE"), "cpu");
  EXPECT_EQ(fresh->count("ABLATE_RESUME_FROM"), 0u);

  spec.init_checkpoint = protocol::CheckpointRef{"step0000100", "file:///w/runs/p/step0000100.pt"};
  auto fork = TrainerEnvironment(spec, "/w", "/w/c.json", "cuda:1");
  ASSERT_TRUE(fork.ok());
  EXPECT_EQ(fork->at("ABLATE_RESUME_FROM"), "/w/runs/p/step0000100.pt");
  spec.resume_checkpoint =
      protocol::CheckpointRef{"step0000300", "file:///w/runs/s/step0000300.pt"};
  auto retry = TrainerEnvironment(spec, "/w", "/w/c.json", "cuda:1");
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ(retry->at("ABLATE_RESUME_FROM"),
            "/w/runs/s/step0000300.pt");  // its own, not the fork's
}

TEST(TrainerCommandTest, ResolvesProgramsInPathAndRelativeToTheTrialFolder) {
  auto sh = ResolveProgram("sh", "/");
  ASSERT_TRUE(sh.ok()) << sh.status();
  EXPECT_TRUE(std::filesystem::path(*sh).is_absolute());
  EXPECT_EQ(std::filesystem::path(*sh).filename(), "sh");
  EXPECT_EQ(ResolveProgram("no-such-program-ablate", "/").status().message(),
            "trainer program 'no-such-program-ablate' not found in PATH on this worker");
  EXPECT_EQ(ResolveProgram("./missing.sh", "/tmp").status().message(),
            "trainer program '/tmp/./missing.sh' is not an executable file");
}

TEST(TrainerCommandTest, ImageFoldersReachTheTrainerOnlyWhenGiven) {
  // Without them: no image flags, and the round trip adds no keys.
  auto plain = ParseJobSpec(TrainJson());
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_FALSE(JobSpecToJson(*plain)["data"].contains("train_images"));
  auto plain_argv = TrainerArgv(*plain, "t", "/w", "cpu");
  ASSERT_TRUE(plain_argv.ok());
  EXPECT_EQ(std::count(plain_argv->begin(), plain_argv->end(), "--train-images"), 0);
  EXPECT_EQ(std::count(plain_argv->begin(), plain_argv->end(), "--val-images"), 0);

  auto j = TrainJson();
  j["data"]["train_images"] = "/coco/train2017";
  j["data"]["val_images"] = "/coco/val2017";
  auto spec = ParseJobSpec(j);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(JobSpecToJson(*spec)["data"],
            nlohmann::json::parse(R"({"train": "/d/train.json", "val": "/d/val.json",
              "train_images": "/coco/train2017", "val_images": "/coco/val2017"})"));
  auto argv = TrainerArgv(*spec, "t", "/w", "cpu");
  ASSERT_TRUE(argv.ok());
  EXPECT_TRUE(HasPair(*argv, "--train-images", "/coco/train2017"));
  EXPECT_TRUE(HasPair(*argv, "--val-images", "/coco/val2017"));

  // An eval job reads only the validation images.
  j["kind"] = "eval";
  j["init_checkpoint"] = {{"name", "step0000600-ep010-loss2.000"}, {"uri", "file:///ck/b.pt"}};
  auto eval = ParseJobSpec(j);
  ASSERT_TRUE(eval.ok()) << eval.status();
  auto eval_argv = TrainerArgv(*eval, "t", "/w", "cpu");
  ASSERT_TRUE(eval_argv.ok());
  EXPECT_TRUE(HasPair(*eval_argv, "--val-images", "/coco/val2017"));
  EXPECT_EQ(std::count(eval_argv->begin(), eval_argv->end(), "--train-images"), 0);

  j = TrainJson();
  j["data"]["val_images"] = 7;
  EXPECT_NE(std::string(ParseJobSpec(j).status().message()).find("wrong field type"),
            std::string::npos);
}

}  // namespace
}  // namespace ablate::worker
