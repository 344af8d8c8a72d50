// A gtest fixture for end-to-end tests that run a coordinator process and worker processes in
// one fresh folder, on a fixed loopback port, and may kill and restart them (sweep_e2e_test,
// chaos_e2e_test, early_stop_e2e_test, trainer_e2e_test). The coordinator listens on the same
// address after a restart, so workers and clients keep their --server.
//
// Files: dir_/ablate.db (the coordinator's SQLite file), dir_/coordinator-N.log (its Nth start),
// dir_/NAME.log (a worker), dir_/work (every worker's --work-dir). The folder is removed after a
// test that passed and kept (for its logs) after one that failed.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/process_util.h"
#include "worker/child_process.h"

namespace ablate::e2e {

class ClusterTest : public ::testing::Test {
 protected:
  // dir_ = <temp>/ablate_<TestSuite>_<pid>, emptied; address_ = 127.0.0.1:<a free port>.
  void SetUp() override;
  // Kills the workers, then the coordinator (SIGKILL, as the ChildProcess destructor does).
  void TearDown() override;

  // Starts (or restarts) `ablate server --db dir_/ablate.db --listen address_ EXTRA_ARGS...` and
  // returns once `ablate health` answers; a fatal test failure after 20 s (check
  // HasFatalFailure()).
  void StartCoordinator(const std::vector<std::string>& extra_args);
  // SIGKILL and reap the coordinator.
  void KillCoordinator();

  // Starts `ablate worker --server address_ --slots 1 --trial-threads 1 --name NAME --work-dir
  // dir_/work --trainer TRAINER` as workers_[slot], log dir_/NAME.log, `env` added to its
  // environment. NAME defaults to `slot`, TRAINER to $ABLATE_BIN_DIR/ablate-train. A worker
  // already in that slot is killed first.
  void StartWorker(const std::string& slot, const std::string& name = "",
                   const std::string& trainer = "",
                   const std::map<std::string, std::string>& env = {});
  // SIGKILL and reap the worker in `slot`.
  void KillWorker(const std::string& slot);

  // `ablate ARGS... --server address_`.
  CommandResult Ablate(std::vector<std::string> args) {
    return RunAblate(address_, std::move(args));
  }

  std::filesystem::path dir_;
  std::string address_;
  int coordinator_starts_ = 0;
  std::unique_ptr<worker::ChildProcess> coordinator_;
  std::map<std::string, std::unique_ptr<worker::ChildProcess>> workers_;
};

}  // namespace ablate::e2e
