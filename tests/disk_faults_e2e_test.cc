// Disk faults, for real: small tmpfs mounts and read-only bind mounts, each made in a private
// mount namespace (`unshare -m`) of the process under test, so nothing outlives it. Needs root
// (CI runs as root); skipped with the reason otherwise.
//
// - A worker whose trial folder fills up mid-trial fails the job with the system's reason; the
//   coordinator hands the job to another worker first, which finishes it.
// - A worker whose work dir is read-only leases nothing and says why; the other worker runs the
//   job.
// - The coordinator's own disk fills up: writes fail with RESOURCE_EXHAUSTED saying so, every
//   acknowledged write is still there, the SQLite file passes integrity_check, and writes work
//   again once space is freed.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "ablate/v1/coordinator.grpc.pb.h"
#include "absl/strings/str_cat.h"
#include "common/testing/fresh_temp_dir.h"
#include "tests/process_util.h"
#include "worker/child_process.h"

namespace ablate::e2e {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `ablate ARGS...` in a new private mount namespace after `setup` (a shell snippet that mounts
// something) has run there. The mounts vanish with the process.
std::unique_ptr<worker::ChildProcess> SpawnAblateWithMounts(const std::string& setup,
                                                            const std::vector<std::string>& args,
                                                            const fs::path& log) {
  std::vector<std::string> argv = {"/usr/bin/unshare",
                                   "-m",
                                   "--propagation",
                                   "private",
                                   "/bin/sh",
                                   "-c",
                                   setup + " && exec \"$0\" \"$@\"",
                                   AblateBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto child = worker::ChildProcess::Start({argv, log, {}});
  EXPECT_TRUE(child.ok()) << child.status();
  return child.ok() ? std::move(*child) : nullptr;
}

class DiskFaultsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs in a mount namespace";
    dir_ = ablate::testing::FreshTempDirForTest("disk_e2e_");
  }
  void TearDown() override {
    workers_.clear();
    server_.reset();
    if (!HasFailure() && !dir_.empty()) fs::remove_all(dir_);
  }

  // A coordinator on the normal disk and a one-trial sweep on a small shapes set.
  void StartCoordinatorAndSubmit() {
    std::string error;
    server_ = std::make_unique<ServerProcess>(dir_ / "ablate.db");
    ASSERT_TRUE(server_->Start(&error)) << error;
    CommandResult shapes =
        RunCommand({AblateBinDir() + "/ablate-train", "shapes", "--out", (dir_ / "shapes").string(),
                    "--train", "12", "--val", "4", "--seed", "2"});
    ASSERT_EQ(shapes.exit_code, 0) << shapes.err;
    const fs::path spec = dir_ / "sweep.yaml";
    std::ofstream(spec) << "name: disk\n"
                        << "base: {preset: tiny, set: {batch_size: 2, warmup_steps: 2, "
                           "num_workers: 1}}\n"
                        << "data: {train: " << (dir_ / "shapes/train.json").string()
                        << ", val: " << (dir_ / "shapes/val.json").string() << "}\n"
                        << "budget: {steps: 10, checkpoint_every: 5, eval_every: 0}\n"
                        << "eval: {score_threshold: 0.05, top_k: 20, nms_iou: 0.5}\n"
                        << "parameters: {lr: [0.001]}\n";
    CommandResult submit = RunAblate(server_->address(), {"submit", spec.string(), "--json"});
    ASSERT_EQ(submit.exit_code, 0) << submit.err;
    sweep_ = json::parse(submit.out)["sweep"];
  }

  std::vector<std::string> WorkerArgs(const std::string& name, const fs::path& work_dir) {
    return {"worker",
            "--server",
            server_->address(),
            "--slots",
            "1",
            "--trial-threads",
            "1",
            "--name",
            name,
            "--work-dir",
            work_dir.string(),
            "--trainer",
            AblateBinDir() + "/ablate-train"};
  }

  json Jobs() {
    CommandResult r = RunAblate(server_->address(), {"jobs", "--json"});
    if (r.exit_code != 0) return json();
    json out = json::parse(r.out, nullptr, false);
    return out.is_object() ? out["jobs"] : json();
  }

  bool WaitUntil(const std::function<bool()>& done, int timeout_s) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(milliseconds(250));
    }
    return false;
  }

  bool SweepDone() {
    CommandResult r = RunAblate(server_->address(), {"watch", sweep_, "--json"});
    if (r.exit_code != 0) return false;
    json s = json::parse(r.out, nullptr, false);
    return s.is_object() && s["progress"].value("succeeded", 0) == 1;
  }

  // (worker name, outcome) of every lease, oldest first.
  std::vector<std::pair<std::string, std::string>> Leases() {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& row : QueryRows(dir_ / "ablate.db",
                                     "SELECT w.name, IFNULL(l.outcome, 'open') FROM leases l JOIN "
                                     "workers w ON w.id = l.worker_id ORDER BY l.id")) {
      out.emplace_back(row[0], row[1]);
    }
    return out;
  }

  fs::path dir_;
  std::string sweep_;
  std::unique_ptr<ServerProcess> server_;
  std::map<std::string, std::unique_ptr<worker::ChildProcess>> workers_;
};

TEST_F(DiskFaultsE2eTest, ATrialFolderThatFillsUpIsRetriedOnAnotherWorker) {
  StartCoordinatorAndSubmit();
  ASSERT_FALSE(HasFatalFailure());
  // 1 MiB: the trial starts (folder and log fit), its first checkpoint does not.
  const fs::path small = dir_ / "small-disk";
  fs::create_directories(small);
  std::vector<std::string> args = WorkerArgs("full", small);
  args.insert(args.end(), {"--min-free-disk-mb", "0"});
  workers_["full"] = SpawnAblateWithMounts(
      "mount -t tmpfs -o size=1m tmpfs '" + small.string() + "'", args, dir_ / "full.log");
  ASSERT_TRUE(WaitUntil(
      [&] {
        json jobs = Jobs();
        return jobs.is_array() && !jobs.empty() && jobs[0]["attempts"] == 1 &&
               jobs[0]["state"] == "pending";
      },
      120))
      << Slurp(dir_ / "full.log");
  json failed = Jobs()[0];
  EXPECT_NE(failed["last_error"].get<std::string>().find("No space left on device"),
            std::string::npos)
      << failed.dump(2);

  workers_["roomy"] = SpawnAblate(WorkerArgs("roomy", dir_ / "roomy"), dir_ / "roomy.log");
  ASSERT_TRUE(WaitUntil([&] { return SweepDone(); }, 180))
      << Slurp(dir_ / "full.log") << Slurp(dir_ / "roomy.log");
  workers_.clear();
  const auto leases = Leases();
  ASSERT_EQ(leases.size(), 2u);
  EXPECT_EQ(leases[0], std::make_pair(std::string("full"), std::string("failed")));
  EXPECT_EQ(leases[1], std::make_pair(std::string("roomy"), std::string("succeeded")));
  EXPECT_EQ(QueryRows(dir_ / "ablate.db", "PRAGMA integrity_check")[0][0], "ok");
}

TEST_F(DiskFaultsE2eTest, AWorkerWithAReadOnlyWorkDirLeasesNothingAndSaysWhy) {
  StartCoordinatorAndSubmit();
  ASSERT_FALSE(HasFatalFailure());
  const fs::path ro = dir_ / "ro-disk";
  fs::create_directories(ro);
  workers_["ro"] = SpawnAblateWithMounts("mount --bind '" + ro.string() + "' '" + ro.string() +
                                             "' && mount -o remount,bind,ro '" + ro.string() + "'",
                                         WorkerArgs("ro", ro), dir_ / "ro.log");
  ASSERT_TRUE(WaitUntil(
      [&] { return Slurp(dir_ / "ro.log").find("not leasing jobs") != std::string::npos; }, 30))
      << Slurp(dir_ / "ro.log");
  EXPECT_NE(
      Slurp(dir_ / "ro.log").find("work dir " + ro.string() + " is on a read-only filesystem"),
      std::string::npos)
      << Slurp(dir_ / "ro.log");
  workers_["rw"] = SpawnAblate(WorkerArgs("rw", dir_ / "rw"), dir_ / "rw.log");
  ASSERT_TRUE(WaitUntil([&] { return SweepDone(); }, 180)) << Slurp(dir_ / "rw.log");
  workers_.clear();
  const auto leases = Leases();
  ASSERT_EQ(leases.size(), 1u);
  EXPECT_EQ(leases[0], std::make_pair(std::string("rw"), std::string("succeeded")));
}

TEST_F(DiskFaultsE2eTest, TheCoordinatorsFullDiskRefusesWritesAndLosesNothing) {
  const fs::path disk = dir_ / "db-disk";
  fs::create_directories(disk);
  const int port = FreeLoopbackPort();
  const std::string address = "127.0.0.1:" + std::to_string(port);
  // 2 MiB, 512 KiB of it taken by a filler file the test removes later to free space.
  server_.reset();
  auto server = SpawnAblateWithMounts(
      "mount -t tmpfs -o size=2m tmpfs '" + disk.string() + "' && dd if=/dev/zero of='" +
          disk.string() + "/filler' bs=64k count=8 2>/dev/null",
      {"server", "--db", (disk / "ablate.db").string(), "--listen", address}, dir_ / "server.log");
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(WaitUntil([&] { return RunAblate(address, {"health"}).exit_code == 0; }, 30))
      << Slurp(dir_ / "server.log");
  // Commands inside the server's mount namespace (SQLite resolves /proc/PID/root to our own /).
  auto in_server_ns = [&](std::vector<std::string> argv) {
    argv.insert(argv.begin(), {"/usr/bin/nsenter", "-t", std::to_string(server->pid()), "-m"});
    return RunCommand(argv);
  };
  auto stub =
      v1::Coordinator::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  const std::string big_config = "{\"note\": \"" + std::string(16 * 1024, 'x') + "\"}";
  std::set<std::string> acked;
  grpc::Status refused;
  for (int i = 0; i < 400; ++i) {
    v1::CreateRunRequest req;
    req.set_name(absl::StrCat("r", i));
    req.set_config_json(big_config);
    v1::CreateRunResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Status st = stub->CreateRun(&ctx, req, &resp);
    if (!st.ok()) {
      refused = st;
      break;
    }
    acked.insert(req.name());
  }
  ASSERT_FALSE(refused.ok()) << "2 MiB never filled up";
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << refused.error_message();
  EXPECT_NE(refused.error_message().find("disk is full"), std::string::npos)
      << refused.error_message();
  EXPECT_GT(acked.size(), 10u);
  // Still serving: a full disk is an error to report, not a reason to die.
  CommandResult health = RunAblate(address, {"health"});
  ASSERT_EQ(health.exit_code, 0) << "coordinator gone after the disk filled up: "
                                 << worker::DescribeExit(server->Wait()) << "\n"
                                 << Slurp(dir_ / "server.log");

  // Everything acknowledged is there, and the file is consistent.
  CommandResult runs = RunAblate(address, {"runs", "--json"});
  ASSERT_EQ(runs.exit_code, 0) << runs.err;
  std::set<std::string> listed;
  const json runs_json = json::parse(runs.out);
  for (const auto& r : runs_json["runs"]) listed.insert(r["name"].get<std::string>());
  for (const auto& name : acked) EXPECT_TRUE(listed.count(name)) << "lost acknowledged " << name;
  EXPECT_LE(listed.size(), acked.size());
  CommandResult check = in_server_ns(
      {"/usr/bin/sqlite3", "-readonly", (disk / "ablate.db").string(), "PRAGMA integrity_check;"});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_EQ(check.out, "ok\n") << check.err;

  // Space freed: the coordinator takes writes again without a restart.
  CommandResult freed = in_server_ns({"/bin/rm", (disk / "filler").string()});
  ASSERT_EQ(freed.exit_code, 0) << freed.err;
  v1::CreateRunRequest req;
  req.set_name("after-space-freed");
  v1::CreateRunResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st = stub->CreateRun(&ctx, req, &resp);
  EXPECT_TRUE(st.ok()) << st.error_message();
  server->Signal(SIGKILL);
  server->Wait();
}

}  // namespace
}  // namespace ablate::e2e
