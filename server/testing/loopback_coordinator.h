// A real Coordinator for server tests that talk to it as clients do, over a loopback gRPC
// channel (early_stop_service_test, request_limits_test). Header-only; not part of any library.
#pragma once

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "server/coordinator.h"
#include "server/test_util.h"

namespace ablate::server::testing {

// A coordinator serving on 127.0.0.1 (a free port) over a fresh SQLite file named after the
// running test: <temp>/ablate_<PREFIX><test name>_<pid>/ablate.db. `options` gives everything
// else; its db_path and listen_address are replaced. Null, with a test failure added, when it
// cannot start.
inline std::unique_ptr<Coordinator> StartLoopbackCoordinator(const std::string& prefix,
                                                             CoordinatorOptions options = {}) {
  const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  options.db_path = (FreshTempDir(prefix + test) / "ablate.db").string();
  options.listen_address = "127.0.0.1:0";
  auto coordinator = Coordinator::Create(options);
  EXPECT_TRUE(coordinator.ok()) << coordinator.status();
  return coordinator.ok() ? std::move(*coordinator) : nullptr;
}

// A plaintext channel to `coordinator`, with no client-side message limits (the server's own
// limits are what answer).
inline std::shared_ptr<grpc::Channel> LoopbackChannel(const Coordinator& coordinator) {
  return grpc::CreateChannel(coordinator.address(), grpc::InsecureChannelCredentials());
}

}  // namespace ablate::server::testing
