// Prometheus text exposition (format 0.0.4) for GET /metrics.
//
// RequestLatencies records request durations as histograms keyed by (protocol, route); the
// dashboard records its own HTTP requests and the coordinator may record its gRPC calls through
// the same object (DashboardServer::latencies()). Routes must be low-cardinality templates
// ("/api/runs/{name}", "/ablate.v1.Coordinator/GetRun"), never raw paths.
//
// Thread safety: RequestLatencies is safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"

namespace ablate::dashboard {

class RequestLatencies {
 public:
  // Upper bounds of the histogram buckets, seconds (+Inf is implicit).
  static constexpr std::array<double, 12> kBucketsSeconds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};

  void Observe(std::string_view protocol, std::string_view route, int code, double seconds);
  // Appends the ablate_request_duration_seconds histogram and ablate_requests_total counter.
  void Render(std::string& out) const;

 private:
  struct Histogram {
    std::array<uint64_t, kBucketsSeconds.size()> buckets{};  // non-cumulative counts
    uint64_t count = 0;
    double sum = 0;
  };
  mutable Mutex mu_;
  std::map<std::pair<std::string, std::string>, Histogram> histograms_ ABSL_GUARDED_BY(mu_);
  std::map<std::tuple<std::string, std::string, int>, uint64_t> totals_ ABSL_GUARDED_BY(mu_);
};

// Figures only the coordinator knows (its scheduler tables and ingest counters). Unset fields are
// left out of /metrics.
struct CoordinatorGauges {
  std::optional<int64_t> jobs_queued;
  std::optional<int64_t> jobs_leased;
  std::optional<int64_t> workers_alive;
  std::optional<int64_t> metric_points_ingested;  // since the coordinator started
};

// Escapes a label value (backslash, double quote, newline).
std::string PrometheusLabel(std::string_view value);

}  // namespace ablate::dashboard
