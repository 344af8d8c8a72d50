// RunTrial against real child processes: small shell programs that speak the trial protocol
// the way ablate-train does, end normally, crash, or hang. (The real ablate-train is exercised
// by the end-to-end sweep test.)
#include "worker/trial_runner.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "common/testing/fresh_temp_dir.h"

namespace ablate::worker {
namespace {

class RecordingSink : public TrialSink {
 public:
  Status OnEvent(const TrialEvent& event) override {
    events.push_back(event);
    if (fail_on_checkpoint && std::holds_alternative<CheckpointEvent>(event)) {
      return absl::FailedPreconditionError("coordinator said no");
    }
    return absl::OkStatus();
  }
  std::vector<TrialEvent> events;
  bool fail_on_checkpoint = false;
};

class TrialRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ablate::testing::FreshTempDirForTest("trial_runner_");
    auto spec = ParseJobSpec(nlohmann::json::parse(R"({"kind": "train", "run": "r",
        "data": {"train": "/t.json", "val": "/v.json"}, "steps": 10})"));
    ASSERT_TRUE(spec.ok());
    spec_ = *spec;
  }

  // Writes an executable fake trainer running `body` (sh).
  std::string Trainer(const std::string& body) {
    auto path = dir_ / "fake-trainer.sh";
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    ::chmod(path.c_str(), 0755);
    return path.string();
  }

  TrialRunnerOptions Options(const std::string& trainer) {
    return {trainer, dir_ / "trial", "cpu", 200};
  }

  std::filesystem::path dir_;
  JobSpec spec_;
};

TEST_F(TrialRunnerTest, ForwardsEventsAndSucceeds) {
  auto trainer = Trainer(R"(
echo '{"event":"started","step":0,"total_steps":10}'
echo 'some library printed this'
echo '{"event":"metrics","step":5,"values":{"loss":2.5}}'
echo '{"event":"checkpoint","name":"step0000010-ep000-loss2.500","path":"/x","step":10,"epoch":0,"loss":2.5,"sha256":"ab","bytes":3}'
echo '{"event":"finished","status":"succeeded","checkpoint":"step0000010-ep000-loss2.500"}')");
  RecordingSink sink;
  auto outcome = RunTrial(spec_, Options(trainer), sink, nullptr);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->kind, TrialOutcome::Kind::kSucceeded);
  EXPECT_EQ(outcome->final_checkpoint, "step0000010-ep000-loss2.500");
  ASSERT_EQ(sink.events.size(), 4u);  // the stray line was skipped
  EXPECT_EQ(std::get<MetricsEvent>(sink.events[1]).values.at("loss"), 2.5);
  std::ifstream log(dir_ / "trial" / "trial.log");
  std::string text((std::istreambuf_iterator<char>(log)), {});
  EXPECT_NE(text.find("skipped stdout line"), std::string::npos);
}

TEST_F(TrialRunnerTest, CrashIsAnOutcomeWithSignalAndStderrTail) {
  auto trainer = Trainer(R"(
echo '{"event":"started","step":0,"total_steps":10}'
echo 'CUDA error: an illegal memory access was encountered' >&2
kill -SEGV $$)");
  RecordingSink sink;
  auto outcome = RunTrial(spec_, Options(trainer), sink, nullptr);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->kind, TrialOutcome::Kind::kCrashed);
  EXPECT_NE(outcome->reason.find("killed by signal 11 (SIGSEGV)"), std::string::npos);
  EXPECT_NE(outcome->reason.find("illegal memory access"), std::string::npos);
}

TEST_F(TrialRunnerTest, CleanExitWithoutFinishedIsACrash) {
  auto trainer = Trainer("echo '{\"event\":\"started\",\"step\":0,\"total_steps\":10}'");
  RecordingSink sink;
  auto outcome = RunTrial(spec_, Options(trainer), sink, nullptr);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->kind, TrialOutcome::Kind::kCrashed);
  EXPECT_NE(outcome->reason.find("without a 'finished' event"), std::string::npos);
}

TEST_F(TrialRunnerTest, DivergedRunIsReported) {
  auto trainer = Trainer(R"(
echo '{"event":"diverged","step":7,"reason":"loss is nan at step 7","last_checkpoint":null}'
echo '{"event":"finished","status":"diverged","checkpoint":null}')");
  RecordingSink sink;
  auto outcome = RunTrial(spec_, Options(trainer), sink, nullptr);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->kind, TrialOutcome::Kind::kDiverged);
  EXPECT_EQ(outcome->reason, "loss is nan at step 7");
}

TEST_F(TrialRunnerTest, CancellationStopsAHangingTrial) {
  auto trainer = Trainer("trap '' TERM\nsleep 30");  // ignores SIGTERM: needs the SIGKILL
  RecordingSink sink;
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    cancel = true;
  });
  auto start = std::chrono::steady_clock::now();
  auto outcome = RunTrial(spec_, Options(trainer), sink, &cancel);
  canceller.join();
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->kind, TrialOutcome::Kind::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

TEST_F(TrialRunnerTest, SinkFailureStopsTheTrial) {
  auto trainer = Trainer(R"(
echo '{"event":"checkpoint","name":"c","path":"/x","step":1,"epoch":0,"loss":1.0,"sha256":"a","bytes":1}'
sleep 30)");
  RecordingSink sink;
  sink.fail_on_checkpoint = true;
  auto outcome = RunTrial(spec_, Options(trainer), sink, nullptr);
  EXPECT_EQ(outcome.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(TrialRunnerTest, MissingTrainerIsAnError) {
  RecordingSink sink;
  auto outcome = RunTrial(spec_, Options("/nonexistent/ablate-train"), sink, nullptr);
  EXPECT_FALSE(outcome.ok());
}

}  // namespace
}  // namespace ablate::worker
