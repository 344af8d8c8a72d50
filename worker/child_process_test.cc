#include "worker/child_process.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <map>
#include <string>

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

// `ablate worker` blocks SIGTERM and SIGINT in its threads (a sigwait() thread takes them) and
// may ignore SIGPIPE: a trial must not inherit either, or the SIGTERM that cancels it (or stops
// it early) is never delivered and it runs on until the SIGKILL kill_grace_ms later.
TEST(ChildProcessTest, ChildStartsWithNoBlockedSignalsAndDiesOfSigterm) {
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGTERM);
  sigaddset(&blocked, SIGINT);
  sigset_t old_mask;
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &blocked, &old_mask), 0);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction old_pipe {};
  sigaction(SIGPIPE, &ignore, &old_pipe);
  auto status = ChildProcess::Start({{"/bin/cat", "/proc/self/status"}, {}, {}});
  auto sleeper = ChildProcess::Start({{"/bin/sleep", "5"}, {}, {}});
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  sigaction(SIGPIPE, &old_pipe, nullptr);
  ASSERT_TRUE(status.ok()) << status.status();
  ASSERT_TRUE(sleeper.ok()) << sleeper.status();

  std::map<std::string, std::string> fields;
  while (true) {
    auto line = (*status)->ReadLine(milliseconds(5000));
    ASSERT_TRUE(line.ok()) << line.status();
    if (!line->has_value()) break;
    const std::string& text = **line;
    const size_t colon = text.find(':');
    if (colon == std::string::npos) continue;
    const size_t value = text.find_first_not_of(" \t", colon + 1);
    fields[text.substr(0, colon)] = value == std::string::npos ? "" : text.substr(value);
  }
  EXPECT_EQ(fields["SigBlk"], "0000000000000000");
  const unsigned long long ignored = std::stoull(fields["SigIgn"], nullptr, 16);
  EXPECT_EQ(ignored & (1ULL << (SIGPIPE - 1)), 0u) << fields["SigIgn"];

  (*sleeper)->Signal(SIGTERM);
  const auto sent = std::chrono::steady_clock::now();
  ExitStatus exit = (*sleeper)->Wait();
  EXPECT_TRUE(exit.signaled) << DescribeExit(exit);
  EXPECT_EQ(exit.signal, SIGTERM);
  EXPECT_LT(std::chrono::steady_clock::now() - sent, std::chrono::seconds(3));
}

}  // namespace
}  // namespace ablate::worker
