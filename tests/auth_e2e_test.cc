// Who may do what, for real (docs/security.md): an `ablate server --auth-tokens` process, `ablate`
// CLI commands with ABLATE_TOKEN / --token-file, an `ablate worker --token-file` whose trials
// (a stand-in trainer script) must not see the token, the refusal to expose an unauthenticated
// coordinator, and TLS for gRPC and the dashboard with a certificate made here by openssl.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "common/testing/fresh_temp_dir.h"
#include "tests/process_util.h"
#include "worker/child_process.h"

namespace ablate::e2e {
namespace {

namespace fs = std::filesystem;

constexpr char kAdmin[] = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
constexpr char kWorker[] = "w1b2c3d4e5f60718293a4b5c6d7e8f90";
constexpr char kReader[] = "r1b2c3d4e5f60718293a4b5c6d7e8f90";
constexpr char kWrong[] = "x1b2c3d4e5f60718293a4b5c6d7e8f90";

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const fs::path& p, const std::string& text, fs::perms mode) {
  std::ofstream(p) << text;
  fs::permissions(p, mode);
}

bool WaitForFile(const fs::path& p, int seconds) {
  for (int i = 0; i < seconds * 20; ++i) {
    if (fs::exists(p) && fs::file_size(p) > 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// The server's output once it contains `needle` (it prints some lines after its address).
std::string WaitForLog(const ServerProcess& server, const std::string& needle) {
  for (int i = 0; i < 200; ++i) {
    const std::string log = server.Log();
    if (log.find(needle) != std::string::npos) return log;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return server.Log();
}

class AuthE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ablate::testing::FreshTempDirForTest("auth_e2e_");
    const auto owner_only = fs::perms::owner_read | fs::perms::owner_write;
    WriteFile(dir_ / "tokens.txt",
              std::string("# ROLE TOKEN NAME\nadmin ") + kAdmin + " alice\nworker " + kWorker +
                  " gpu-1\nreader " + kReader + "\n",
              owner_only);
    WriteFile(dir_ / "worker.token", std::string(kWorker) + "\n", owner_only);
    WriteFile(dir_ / "reader.token", std::string(kReader) + "\n", owner_only);
  }
  void TearDown() override { server_.reset(); }

  void StartServer(std::vector<std::string> extra) {
    extra.insert(extra.begin(), {"--auth-tokens", (dir_ / "tokens.txt").string()});
    server_ = std::make_unique<ServerProcess>(dir_ / "ablate.db", extra);
    std::string error;
    ASSERT_TRUE(server_->Start(&error)) << error;
  }

  fs::path dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(AuthE2eTest, CliAndWorkerNeedTheRightToken) {
  StartServer({});
  const std::string addr = server_->address();
  EXPECT_NE(WaitForLog(*server_, "3 access token(s)").find("3 access token(s)"), std::string::npos);

  // Health needs no token (probes); everything else does.
  EXPECT_EQ(RunAblate(addr, {"health"}).exit_code, 0);
  CommandResult r = RunAblate(addr, {"sweeps"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/ablate.v1.Scheduler/ListSweeps needs an access token"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("--token-file FILE or ABLATE_TOKEN"), std::string::npos) << r.err;
  r = RunAblate(addr, {"sweeps"}, {{"ABLATE_TOKEN", kWrong}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown access token"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(kWrong), std::string::npos) << r.err;

  // A reader reads but may not submit.
  r = RunAblate(addr, {"sweeps"}, {{"ABLATE_TOKEN", kReader}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const fs::path spec = dir_ / "sweep.yaml";
  std::ofstream(spec) << "name: authsweep\nbase: {preset: tiny}\n"
                         "data: {train: /nonexistent/train.json, val: /nonexistent/val.json}\n"
                         "budget: {steps: 10}\nparameters:\n  lr: {values: [0.001]}\n";
  r = RunAblate(addr, {"submit", spec.string(), "--token-file", (dir_ / "reader.token").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("role 'reader' may not call /ablate.v1.Scheduler/SubmitSweep"),
            std::string::npos)
      << r.err;
  r = RunAblate(addr, {"submit", spec.string()}, {{"ABLATE_TOKEN", kAdmin}});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  // A worker with a reader token is refused at registration and says why.
  const fs::path trainer = dir_ / "fake-trainer.sh";
  WriteFile(trainer,
            "#!/bin/sh\nenv > " + (dir_ / "child-env.txt").string() + ".tmp\necho \"$@\" > " +
                (dir_ / "child-args.txt").string() + "\nmv " + (dir_ / "child-env.txt").string() +
                ".tmp " + (dir_ / "child-env.txt").string() + "\nexit 3\n",
            fs::perms::owner_all);
  auto denied = worker::ChildProcess::Start(
      {{AblateBinary(), "worker", "--server", addr, "--name", "w0", "--work-dir",
        (dir_ / "work0").string(), "--trainer", trainer.string(), "--token-file",
        (dir_ / "reader.token").string()},
       dir_ / "worker0.log",
       {}});
  ASSERT_TRUE(denied.ok()) << denied.status();
  worker::ExitStatus exit0 = (*denied)->Wait();
  EXPECT_TRUE(exit0.exited && exit0.code != 0);
  EXPECT_NE(Slurp(dir_ / "worker0.log")
                .find("role 'reader' may not call /ablate.v1.Scheduler/RegisterWorker"),
            std::string::npos)
      << Slurp(dir_ / "worker0.log");

  // The worker token from the environment: the worker leases the job and starts a trial, which
  // gets neither the token nor its file in its environment or arguments.
  auto w = worker::ChildProcess::Start(
      {{AblateBinary(), "worker", "--server", addr, "--name", "gpu-box", "--work-dir",
        (dir_ / "work").string(), "--trainer", trainer.string()},
       dir_ / "worker.log",
       {{"ABLATE_TOKEN", kWorker}}});
  ASSERT_TRUE(w.ok()) << w.status();
  const bool trial_ran = WaitForFile(dir_ / "child-env.txt", 30);
  (*w)->Signal(SIGTERM);
  (*w)->Wait();
  ASSERT_TRUE(trial_ran) << Slurp(dir_ / "worker.log");
  const std::string child_env = Slurp(dir_ / "child-env.txt");
  EXPECT_EQ(child_env.find(kWorker), std::string::npos);
  EXPECT_EQ(child_env.find("ABLATE_TOKEN"), std::string::npos);
  EXPECT_EQ(Slurp(dir_ / "child-args.txt").find(kWorker), std::string::npos);

  // The audit log names role and holder of each mutating call, never a token.
  const std::string log = server_->Log();
  EXPECT_NE(log.find("audit method=/ablate.v1.Scheduler/SubmitSweep role=admin name=alice peer="),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("audit method=/ablate.v1.Scheduler/SubmitSweep role=reader name=reader-"),
            std::string::npos);
  EXPECT_NE(log.find("audit method=/ablate.v1.Scheduler/RegisterWorker role=worker name=gpu-1 "),
            std::string::npos);
  EXPECT_NE(log.find("audit method=/ablate.v1.Scheduler/LeaseJob role=worker name=gpu-1 "),
            std::string::npos);
  for (const char* token : {kAdmin, kWorker, kReader, kWrong}) {
    EXPECT_EQ(log.find(token), std::string::npos) << token;
  }
}

TEST_F(AuthE2eTest, TokenFilesReadableByOthersAreWarnedAbout) {
  fs::permissions(dir_ / "tokens.txt", fs::perms::group_read | fs::perms::others_read,
                  fs::perm_options::add);
  StartServer({});
  const std::string warning = "warning: token file " + (dir_ / "tokens.txt").string() +
                              " is readable by group or others (mode 0644)";
  EXPECT_NE(WaitForLog(*server_, warning).find(warning), std::string::npos) << server_->Log();
  fs::permissions(dir_ / "reader.token", fs::perms::others_read, fs::perm_options::add);
  CommandResult r =
      RunAblate(server_->address(), {"sweeps", "--token-file", (dir_ / "reader.token").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("warning: token file " + (dir_ / "reader.token").string() +
                       " is readable by group or others (mode 0604); run: chmod 600"),
            std::string::npos)
      << r.err;
}

TEST_F(AuthE2eTest, RefusesToExposeAnUnauthenticatedCoordinator) {
  CommandResult r = RunCommand(
      {AblateBinary(), "server", "--db", (dir_ / "a.db").string(), "--listen", "0.0.0.0:0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--listen 0.0.0.0:0 is reachable from other machines, but the coordinator "
                       "has no --auth-tokens"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("--auth-tokens tokens.txt"), std::string::npos);
  r = RunCommand(
      {AblateBinary(), "server", "--db", (dir_ / "a.db").string(), "--http", "0.0.0.0:0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--http 0.0.0.0:0 is reachable from other machines"), std::string::npos)
      << r.err;
  // Loopback without tokens stays allowed, with a warning.
  ServerProcess local(dir_ / "b.db");
  std::string error;
  ASSERT_TRUE(local.Start(&error)) << error;
  EXPECT_NE(WaitForLog(local, "warning: no --auth-tokens").find("warning: no --auth-tokens"),
            std::string::npos);
}

TEST_F(AuthE2eTest, TlsForGrpcAndTheDashboard) {
  const fs::path cert = dir_ / "cert.pem";
  const fs::path key = dir_ / "key.pem";
  CommandResult made =
      RunCommand({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                  key.string(), "-out", cert.string(), "-days", "1", "-subj", "/CN=localhost",
                  "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write);
  StartServer({"--tls-cert", cert.string(), "--tls-key", key.string(), "--http", "127.0.0.1:0"});
  const std::string addr = server_->address();

  CommandResult r =
      RunAblate(addr, {"sweeps", "--tls-ca", cert.string()}, {{"ABLATE_TOKEN", kReader}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = RunAblate(addr, {"sweeps", "--tls-ca", cert.string()}, {{"ABLATE_TOKEN", kWrong}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown access token"), std::string::npos) << r.err;
  r = RunAblate(addr, {"sweeps"}, {{"ABLATE_TOKEN", kReader}});  // plaintext to a TLS port
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot reach the coordinator"), std::string::npos) << r.err;

  std::smatch m;
  const std::string log = WaitForLog(*server_, "ablate dashboard: https://");
  static const std::regex kUrl(R"(ablate dashboard: https://127\.0\.0\.1:(\d+)/)");
  ASSERT_TRUE(std::regex_search(log, m, kUrl)) << log;
  const int port = std::stoi(m[1].str());
  httplib::SSLClient https("127.0.0.1", port);
  https.set_ca_cert_path(cert.c_str());
  https.enable_server_certificate_verification(true);
  auto api = https.Get("/api/sweeps", {{"Authorization", std::string("Bearer ") + kReader}});
  ASSERT_TRUE(api) << httplib::to_string(api.error());
  EXPECT_EQ(api->status, 200);
  auto anonymous = https.Get("/api/sweeps");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  auto login =
      https.Post("/login", std::string("token=") + kReader, "application/x-www-form-urlencoded");
  ASSERT_TRUE(login);
  EXPECT_EQ(login->status, 303);
  const std::string cookie = login->get_header_value("Set-Cookie");
  EXPECT_NE(cookie.find("; HttpOnly; SameSite=Strict; Secure"), std::string::npos) << cookie;
  httplib::Client plain("127.0.0.1", port);
  EXPECT_FALSE(plain.Get("/api/sweeps"));  // no plaintext HTTP on the TLS port
}

}  // namespace
}  // namespace ablate::e2e
