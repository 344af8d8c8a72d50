#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "dashboard/api.h"
#include "dashboard/demo_fixture.h"
#include "fuzz/fuzz_entry_points.h"
#include "server/sqlite_run_store.h"

namespace ablate::fuzz {
namespace {

struct DashboardFixture {
  std::unique_ptr<server::SqliteRunStore> store;
  std::unique_ptr<dashboard::DashboardApi> api;
};

const std::filesystem::path& FixtureRoot() {
  static const std::filesystem::path root = std::filesystem::temp_directory_path() /
                                            ("ablate-fuzz-dashboard-" + std::to_string(::getpid()));
  return root;
}

// A real SQLite store with the demo history and its gallery, in a fresh folder per process
// (removed at exit).
DashboardFixture& Fixture() {
  static DashboardFixture* fixture = [] {
    const auto& root = FixtureRoot();
    std::filesystem::remove_all(root);
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(FixtureRoot(), ignored);
    });
    std::filesystem::create_directories(root / "gallery");
    server::SqliteRunStoreOptions options;
    options.path = (root / "ablate.db").string();
    auto store = server::SqliteRunStore::Open(options);
    if (!store.ok()) std::abort();
    if (!dashboard::demo::FillDemo(**store, root / "gallery").ok()) std::abort();
    auto* f = new DashboardFixture;
    f->store = std::move(*store);
    f->api = std::make_unique<dashboard::DashboardApi>(*f->store, dashboard::DashboardApiOptions{});
    return f;
  }();
  return *fixture;
}

}  // namespace

void DashboardQueryEntry(std::string_view data) {
  dashboard::ApiRequest request;
  const size_t q = data.find('?');
  request.path = std::string(data.substr(0, q));
  if (q != std::string_view::npos) {
    std::string_view query = data.substr(q + 1);
    while (!query.empty()) {
      const size_t amp = query.find('&');
      std::string_view pair = query.substr(0, amp);
      const size_t eq = pair.find('=');
      request.params.emplace(std::string(pair.substr(0, eq)),
                             eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1)));
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
  }
  dashboard::ApiResponse response = Fixture().api->Handle(request);
  if (response.status < 200 || response.status > 599) std::abort();
}

}  // namespace ablate::fuzz
