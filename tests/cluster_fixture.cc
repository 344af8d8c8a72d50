#include "tests/cluster_fixture.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "common/testing/fresh_temp_dir.h"

namespace ablate::e2e {

void ClusterTest::SetUp() {
  dir_ = ablate::testing::FreshTempDirForTest();
  address_ = "127.0.0.1:" + std::to_string(FreeLoopbackPort());
}

void ClusterTest::TearDown() {
  workers_.clear();
  coordinator_.reset();
  if (!HasFailure()) std::filesystem::remove_all(dir_);
}

void ClusterTest::StartCoordinator(const std::vector<std::string>& extra_args) {
  std::vector<std::string> args = {"server", "--db", (dir_ / "ablate.db").string(), "--listen",
                                   address_};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  coordinator_ =
      SpawnAblate(args, dir_ / ("coordinator-" + std::to_string(++coordinator_starts_) + ".log"));
  for (int i = 0; i < 200; ++i) {
    if (Ablate({"health"}).exit_code == 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  FAIL() << "coordinator did not come up within 20 s";
}

void ClusterTest::KillCoordinator() {
  if (!coordinator_) return;
  coordinator_->Signal(SIGKILL);
  coordinator_->Wait();
}

void ClusterTest::StartWorker(const std::string& slot, const std::string& name,
                              const std::string& trainer,
                              const std::map<std::string, std::string>& env) {
  KillWorker(slot);
  const std::string worker_name = name.empty() ? slot : name;
  workers_[slot] =
      SpawnAblate({"worker", "--server", address_, "--slots", "1", "--trial-threads", "1", "--name",
                   worker_name, "--work-dir", (dir_ / "work").string(), "--trainer",
                   trainer.empty() ? AblateBinDir() + "/ablate-train" : trainer},
                  dir_ / (worker_name + ".log"), env);
}

void ClusterTest::KillWorker(const std::string& slot) {
  auto it = workers_.find(slot);
  if (it == workers_.end() || !it->second) return;
  it->second->Signal(SIGKILL);
  it->second->Wait();
}

}  // namespace ablate::e2e
