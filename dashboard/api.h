// The dashboard's HTTP semantics without the HTTP library: routes a GET request (path + decoded
// query parameters) to a view and returns status, headers and body. DashboardServer
// (dashboard_server.h) only adapts cpp-httplib to this class, so the API is tested directly.
//
// Contract:
// - Read-only: every method other than GET and HEAD gets 405 and the store is never written.
// - Bad input gets 400 with {"error": "..."} naming the parameter: unknown or repeated parameters,
//   unparsable numbers, out-of-range values, unknown stat/iou/status names.
// - Unknown runs/checkpoints/groups get 404 with {"error": "..."}; store failures 500.
// - JSON responses carry an ETag; a request whose If-None-Match equals it gets 304 and no body
//   (the page polls cheaply this way).
//
// Thread safety: Handle() is safe to call from many threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "dashboard/prometheus.h"
#include "dashboard/store_snapshot.h"
#include "server/job_store.h"
#include "server/run_store.h"

namespace ablate::dashboard {

struct ApiRequest {
  std::string method = "GET";
  std::string path;                                // decoded, without the query string
  std::multimap<std::string, std::string> params;  // decoded query parameters
  std::string if_none_match;                       // the If-None-Match header, if any
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Low-cardinality route template for metrics, e.g. "/api/runs/{name}".
  std::string route;
};

struct DashboardApiOptions {
  // How stale the cross-run views (sweeps, leaderboard, compare, lineage) may be. Default 1 s.
  int64_t snapshot_ttl_ms = 1000;
  // Time source; nullptr: the system clock. Not owned.
  const Clock* clock = nullptr;
  // The scheduler's jobs and workers (read only): the run page's worker and jobs, and
  // ablate_jobs / ablate_workers_alive on /metrics. nullptr: left out. Not owned.
  server::JobStore* jobs = nullptr;
  // Other figures only the coordinator knows, for /metrics (a field set here wins over the
  // same figure from `jobs`); empty: those series are left out.
  std::function<CoordinatorGauges()> coordinator_gauges;
};

class DashboardApi {
 public:
  // `store` must outlive the API.
  DashboardApi(server::RunReader& store, DashboardApiOptions options);

  ApiResponse Handle(const ApiRequest& request);

  // Request latencies rendered by /metrics; DashboardServer records into it.
  RequestLatencies& latencies() { return latencies_; }

 private:
  ApiResponse HandleGet(const ApiRequest& request);
  ApiResponse Metrics();
  // Cross-run views are cached per snapshot: the same query against the same snapshot reuses the
  // body.
  StatusOr<std::string> CachedBody(const std::shared_ptr<const StoreSnapshot>& snap,
                                   const std::string& key,
                                   const std::function<StatusOr<std::string>()>& build);

  server::RunReader& store_;
  DashboardApiOptions options_;
  SystemClock system_clock_;
  const Clock& clock_;
  SnapshotCache snapshots_;
  RequestLatencies latencies_;
  Mutex cache_mu_;
  std::shared_ptr<const StoreSnapshot> cache_snapshot_ ABSL_GUARDED_BY(cache_mu_);
  std::map<std::string, std::string> cache_ ABSL_GUARDED_BY(cache_mu_);
};

}  // namespace ablate::dashboard
