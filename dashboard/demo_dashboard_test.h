// A gtest fixture for tests of the dashboard over real HTTP on loopback: a fresh SQLite store
// file filled with the demo data (demo_fixture.h), a DashboardServer on an ephemeral port and a
// cpp-httplib client to it. Test code, not part of any library.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "dashboard/dashboard_server.h"
#include "dashboard/demo_fixture.h"
#include "server/sqlite_run_store.h"
#include "server/test_util.h"

namespace ablate::dashboard::testing {

class DemoDashboardTest : public ::testing::Test {
 protected:
  // Call from SetUp (with ASSERT_NO_FATAL_FAILURE): the store lands in a fresh temp folder named
  // after `dir_name`; `options` gets host 127.0.0.1 and an ephemeral port.
  void StartDemoDashboard(const std::string& dir_name, DashboardOptions options) {
    dir_ = server::testing::FreshTempDir(dir_name);
    server::SqliteRunStoreOptions o;
    o.path = (dir_ / "runs.db").string();
    auto store = server::SqliteRunStore::Open(o);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    ASSERT_TRUE(demo::FillDemo(*store_, dir_ / "gallery").ok());
    options.host = "127.0.0.1";
    options.port = 0;
    auto server = DashboardServer::Start(options, *store_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  }
  // The client first: its connection must not outlive the server, nor the server the store.
  // The folder goes with the others FreshTempDir made (kept after a failure).
  void TearDown() override {
    client_.reset();
    server_.reset();
    store_.reset();
  }

  std::filesystem::path dir_;
  std::unique_ptr<server::SqliteRunStore> store_;
  std::unique_ptr<DashboardServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace ablate::dashboard::testing
