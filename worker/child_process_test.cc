#include "worker/child_process.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>

namespace ablate::worker {
namespace {

using std::chrono::milliseconds;

std::unique_ptr<ChildProcess> StartShell(const std::string& script,
                                         const std::filesystem::path& stderr_path = {}) {
  auto child = ChildProcess::Start({{"/bin/sh", "-c", script}, stderr_path, {{"ABLATE_X", "42"}}});
  EXPECT_TRUE(child.ok()) << child.status();
  return std::move(child).value();
}

TEST(ChildProcessTest, ReadsLinesThenEndOfStream) {
  auto child = StartShell("echo first; echo \"x=$ABLATE_X\"; printf tail");
  EXPECT_EQ(child->ReadLine(milliseconds(5000)).value(), "first");
  EXPECT_EQ(child->ReadLine(milliseconds(5000)).value(), "x=42");
  EXPECT_EQ(child->ReadLine(milliseconds(5000)).value(), "tail");
  EXPECT_EQ(child->ReadLine(milliseconds(5000)).value(), std::nullopt);
  ExitStatus exit = child->Wait();
  EXPECT_TRUE(exit.ok());
  EXPECT_EQ(DescribeExit(exit), "exited with code 0");
}

TEST(ChildProcessTest, CrashIsReportedWithSignalName) {
  auto child = StartShell("echo started; kill -SEGV $$");
  EXPECT_EQ(child->ReadLine(milliseconds(5000)).value(), "started");
  EXPECT_EQ(child->ReadLine(milliseconds(5000)).value(), std::nullopt);
  ExitStatus exit = child->Wait();
  EXPECT_TRUE(exit.signaled);
  EXPECT_EQ(exit.signal, SIGSEGV);
  EXPECT_EQ(DescribeExit(exit), "killed by signal 11 (SIGSEGV)");
}

TEST(ChildProcessTest, NonZeroExitCode) {
  auto child = StartShell("exit 3");
  EXPECT_EQ(child->Wait().code, 3);
  EXPECT_FALSE(child->Wait().ok());
}

TEST(ChildProcessTest, ReadTimesOutWhileChildIsSilentAndCanBeKilled) {
  auto child = StartShell("sleep 30");
  auto line = child->ReadLine(milliseconds(50));
  EXPECT_EQ(line.status().code(), absl::StatusCode::kDeadlineExceeded);
  child->Signal(SIGKILL);
  EXPECT_EQ(child->Wait().signal, SIGKILL);
}

TEST(ChildProcessTest, StderrGoesToLogFile) {
  auto log = std::filesystem::temp_directory_path() / "ablate_child_process_test.log";
  std::filesystem::remove(log);
  auto child = StartShell("echo oops >&2", log);
  child->Wait();
  std::ifstream in(log);
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, "oops");
  std::filesystem::remove(log);
}

TEST(ChildProcessTest, MissingProgramIsAnError) {
  auto child = ChildProcess::Start({{"/nonexistent/ablate-train"}, {}, {}});
  ASSERT_FALSE(child.ok());
  EXPECT_NE(std::string(child.status().message()).find("/nonexistent/ablate-train"),
            std::string::npos);
  EXPECT_EQ(ChildProcess::Start({}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ChildProcessTest, DestructorKillsARunningChild) {
  pid_t pid;
  {
    auto child = StartShell("sleep 30");
    pid = child->pid();
  }
  EXPECT_NE(::kill(pid, 0), 0);  // gone (reaped)
}

}  // namespace
}  // namespace ablate::worker
