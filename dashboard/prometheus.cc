#include "dashboard/prometheus.h"

#include <tuple>

#include "absl/strings/str_cat.h"

namespace ablate::dashboard {

std::string PrometheusLabel(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void RequestLatencies::Observe(std::string_view protocol, std::string_view route, int code,
                               double seconds) {
  MutexLock lock(&mu_);
  Histogram& h = histograms_[{std::string(protocol), std::string(route)}];
  size_t b = 0;
  while (b < kBucketsSeconds.size() && seconds > kBucketsSeconds[b]) ++b;
  if (b < kBucketsSeconds.size()) h.buckets[b]++;
  h.count++;
  h.sum += seconds;
  totals_[{std::string(protocol), std::string(route), code}]++;
}

void RequestLatencies::Render(std::string& out) const {
  MutexLock lock(&mu_);
  out +=
      "# HELP ablate_request_duration_seconds Time to answer a request, by protocol and route.\n"
      "# TYPE ablate_request_duration_seconds histogram\n";
  for (const auto& [key, h] : histograms_) {
    const std::string labels = absl::StrCat("protocol=\"", PrometheusLabel(key.first),
                                            "\",route=\"", PrometheusLabel(key.second), "\"");
    uint64_t cumulative = 0;
    for (size_t b = 0; b < kBucketsSeconds.size(); ++b) {
      cumulative += h.buckets[b];
      absl::StrAppend(&out, "ablate_request_duration_seconds_bucket{", labels, ",le=\"",
                      kBucketsSeconds[b], "\"} ", cumulative, "\n");
    }
    absl::StrAppend(&out, "ablate_request_duration_seconds_bucket{", labels, ",le=\"+Inf\"} ",
                    h.count, "\n");
    absl::StrAppend(&out, "ablate_request_duration_seconds_sum{", labels, "} ", h.sum, "\n");
    absl::StrAppend(&out, "ablate_request_duration_seconds_count{", labels, "} ", h.count, "\n");
  }
  out +=
      "# HELP ablate_requests_total Requests answered, by protocol, route and status code.\n"
      "# TYPE ablate_requests_total counter\n";
  for (const auto& [key, n] : totals_) {
    absl::StrAppend(&out, "ablate_requests_total{protocol=\"", PrometheusLabel(std::get<0>(key)),
                    "\",route=\"", PrometheusLabel(std::get<1>(key)), "\",code=\"",
                    std::get<2>(key), "\"} ", n, "\n");
  }
}

}  // namespace ablate::dashboard
