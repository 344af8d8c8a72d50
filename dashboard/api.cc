#include "dashboard/api.h"

#include <chrono>
#include <cstdlib>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "dashboard/assets.h"
#include "dashboard/gallery_files.h"
#include "dashboard/views.h"

namespace ablate::dashboard {
namespace {

using nlohmann::json;

constexpr size_t kMaxCachedBodies = 256;
constexpr int kMaxCompareRuns = 8;
constexpr size_t kMaxParamBytes = 4096;

// Every body is dumped here: a byte that is not UTF-8 (a request's path or parameter echoed in an
// error, e.g. "/api/leade\xaeoard") becomes U+FFFD instead of nlohmann's type_error.316, which
// escaped the handler (found by fuzz_dashboard_query).
std::string Dump(const json& j) {
  return j.dump(/*indent=*/-1, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace);
}

// A 400/404 carrying its message; Params helpers return it as InvalidArgument.
ApiResponse JsonError(int status, std::string_view message) {
  ApiResponse r;
  r.status = status;
  r.body = Dump(json{{"error", std::string(message)}});
  return r;
}

ApiResponse FromStatus(const Status& status) {
  const std::string message(status.message());
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return JsonError(400, message);
    case absl::StatusCode::kNotFound:
      return JsonError(404, message);
    default:
      return JsonError(500, message);
  }
}

// FNV-1a 64 of the body, as a strong ETag.
std::string Etag(std::string_view body) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : body) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[24];
  std::snprintf(buf, sizeof(buf), "\"%016llx\"", static_cast<unsigned long long>(h));
  return buf;
}

// Validated access to the query parameters of one endpoint.
class Params {
 public:
  Params(const std::multimap<std::string, std::string>& params, std::string_view endpoint,
         std::vector<std::string> allowed)
      : params_(params), endpoint_(endpoint), allowed_(std::move(allowed)) {}

  // InvalidArgument for an unknown or repeated parameter or an over-long value.
  Status Check() const {
    for (auto it = params_.begin(); it != params_.end(); ++it) {
      if (std::find(allowed_.begin(), allowed_.end(), it->first) == allowed_.end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "unknown query parameter '", it->first, "' for ", endpoint_,
            allowed_.empty() ? " (it takes none)"
                             : absl::StrCat(" (allowed: ", absl::StrJoin(allowed_, ", "), ")")));
      }
      if (params_.count(it->first) > 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("parameter '", it->first, "' is given more than once"));
      }
      if (it->second.size() > kMaxParamBytes) {
        return absl::InvalidArgumentError(
            absl::StrCat("parameter '", it->first, "' is longer than ", kMaxParamBytes, " bytes"));
      }
    }
    return absl::OkStatus();
  }

  // The value, or "" when absent.
  std::string Get(const std::string& name) const {
    auto it = params_.find(name);
    return it == params_.end() ? std::string() : it->second;
  }
  bool Has(const std::string& name) const { return params_.count(name) > 0; }

  StatusOr<std::optional<int64_t>> Int(const std::string& name, int64_t lo, int64_t hi) const {
    if (!Has(name) || Get(name).empty()) return std::optional<int64_t>();
    int64_t v = 0;
    if (!absl::SimpleAtoi(Get(name), &v)) {
      return absl::InvalidArgumentError(
          absl::StrCat("parameter '", name, "': '", Get(name), "' is not an integer"));
    }
    if (v < lo || v > hi) {
      return absl::InvalidArgumentError(
          absl::StrCat("parameter '", name, "': ", v, " is outside [", lo, ", ", hi, "]"));
    }
    return std::optional<int64_t>(v);
  }

  StatusOr<std::optional<double>> Double(const std::string& name) const {
    if (!Has(name) || Get(name).empty()) return std::optional<double>();
    double v = 0;
    if (!absl::SimpleAtod(Get(name), &v) || !std::isfinite(v)) {
      return absl::InvalidArgumentError(
          absl::StrCat("parameter '", name, "': '", Get(name), "' is not a finite number"));
    }
    return std::optional<double>(v);
  }

 private:
  const std::multimap<std::string, std::string>& params_;
  std::string endpoint_;
  std::vector<std::string> allowed_;
};

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    out.emplace_back(part.data(), part.size());
  }
  return out;
}

StatusOr<server::LeaderboardQuery> ParseLeaderboardQuery(const Params& p) {
  server::LeaderboardQuery q;
  q.top = 100;  // the page's default; 0: all rows
  if (p.Has("by") && !p.Get("by").empty()) {
    std::optional<int> stat = CocoStatIndex(p.Get("by"));
    if (!stat) {
      std::vector<std::string> names(kCocoStatNames.begin(), kCocoStatNames.end());
      return absl::InvalidArgumentError(absl::StrCat("parameter 'by': unknown stat '", p.Get("by"),
                                                     "' (expected one of ",
                                                     absl::StrJoin(names, ", "), ")"));
    }
    q.stat_index = *stat;
  }
  if (p.Has("iou") && !p.Get("iou").empty()) {
    std::optional<server::IouType> iou = server::ParseIouType(p.Get("iou"));
    if (!iou) {
      return absl::InvalidArgumentError(absl::StrCat("parameter 'iou': unknown iou type '",
                                                     p.Get("iou"), "' (expected bbox or segm)"));
    }
    q.iou_type = *iou;
  }
  q.sweep = p.Get("sweep");
  for (const std::string& s : SplitList(p.Get("status"))) {
    std::optional<server::RunStatus> status = server::ParseRunStatus(s);
    if (!status) {
      return absl::InvalidArgumentError(absl::StrCat(
          "parameter 'status': unknown run status '", s,
          "' (expected queued, running, succeeded, failed, cancelled, diverged or stopped)"));
    }
    q.statuses.push_back(*status);
  }
  ABLATE_ASSIGN_OR_RETURN(std::optional<int64_t> top, p.Int("top", 0, 100000));
  if (top) q.top = static_cast<int>(*top);
  const std::string order = p.Get("order");
  if (order == "asc") {
    q.ascending = true;
  } else if (!order.empty() && order != "desc") {
    return absl::InvalidArgumentError(
        absl::StrCat("parameter 'order': '", order, "' (expected asc or desc)"));
  }
  q.group = p.Get("group");
  ABLATE_ASSIGN_OR_RETURN(q.score_threshold, p.Double("score_threshold"));
  ABLATE_ASSIGN_OR_RETURN(q.nms_iou, p.Double("nms_iou"));
  ABLATE_ASSIGN_OR_RETURN(q.top_k, p.Int("top_k", 0, 1000000000));
  ABLATE_ASSIGN_OR_RETURN(q.max_dets, p.Int("max_dets", 0, 1000000000));
  q.dataset_fingerprint = p.Get("dataset");
  return q;
}

std::string CanonicalQuery(const std::string& path,
                           const std::multimap<std::string, std::string>& params) {
  std::string key = path;
  for (const auto& [k, v] : params) absl::StrAppend(&key, "\x1f", k, "=", v);
  return key;
}

constexpr std::string_view kRunsPrefix = "/api/runs/";
constexpr std::string_view kMetricsSuffix = "/metrics";
constexpr std::string_view kGalleryPrefix = "/api/gallery/";

}  // namespace

DashboardApi::DashboardApi(server::RunReader& store, DashboardApiOptions options)
    : store_(store),
      options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : system_clock_),
      snapshots_(store, clock_, options_.snapshot_ttl_ms) {}

StatusOr<std::string> DashboardApi::CachedBody(
    const std::shared_ptr<const StoreSnapshot>& snap, const std::string& key,
    const std::function<StatusOr<std::string>()>& build) {
  {
    MutexLock lock(&cache_mu_);
    if (cache_snapshot_ == snap) {
      auto it = cache_.find(key);
      if (it != cache_.end()) return it->second;
    }
  }
  ABLATE_ASSIGN_OR_RETURN(std::string body, build());
  MutexLock lock(&cache_mu_);
  if (cache_snapshot_ != snap) {
    // Only move forward: a request still holding an older snapshot does not evict newer bodies.
    if (cache_snapshot_ && cache_snapshot_->loaded_unix_ms > snap->loaded_unix_ms) return body;
    cache_.clear();
    cache_snapshot_ = snap;
  }
  if (cache_.size() >= kMaxCachedBodies) cache_.clear();
  cache_.emplace(key, body);
  return body;
}

ApiResponse DashboardApi::Handle(const ApiRequest& request) {
  if (request.method != "GET" && request.method != "HEAD") {
    ApiResponse r = JsonError(405, absl::StrCat("method ", request.method,
                                                " is not allowed: the dashboard is read-only "
                                                "(use GET)"));
    r.headers.emplace_back("Allow", "GET, HEAD");
    r.route = "method-not-allowed";
    return r;
  }
  ApiResponse r = HandleGet(request);
  if (r.status == 200) {
    std::string tag = Etag(r.body);
    if (!request.if_none_match.empty() && request.if_none_match == tag) {
      r.status = 304;
      r.body.clear();
    }
    r.headers.emplace_back("ETag", std::move(tag));
  }
  if (r.content_type == "application/json") {
    r.headers.emplace_back("Cache-Control", "no-cache");
  }
  return r;
}

ApiResponse DashboardApi::HandleGet(const ApiRequest& req) {
  const std::string& path = req.path;
  auto json_ok = [](std::string body, std::string route) {
    ApiResponse r;
    r.body = std::move(body);
    r.route = std::move(route);
    return r;
  };
  auto fail = [](const Status& s, std::string route) {
    ApiResponse r = FromStatus(s);
    r.route = std::move(route);
    return r;
  };

  if (path == "/metrics") {
    Params p(req.params, "/metrics", {});
    if (Status s = p.Check(); !s.ok()) return fail(s, "/metrics");
    return Metrics();
  }
  if (path.rfind("/api/", 0) != 0) {
    const Asset* asset = FindAsset(path == "/index.html" ? "/" : path);
    if (asset == nullptr) {
      ApiResponse r;
      r.status = 404;
      r.content_type = "text/plain; charset=utf-8";
      r.body = absl::StrCat("not found: ", path, "\n");
      r.route = "static";
      return r;
    }
    ApiResponse r;
    r.content_type = asset->content_type;
    r.body = std::string(asset->bytes());
    r.route = "static";
    return r;
  }

  if (path.compare(0, kGalleryPrefix.size(), kGalleryPrefix) == 0) {
    // Gallery images: numbers in, a registered file out (gallery_files.h). Read from the store,
    // not the snapshot, so an image is served as soon as its evaluation is recorded.
    const std::string route = "/api/gallery/{evaluation}/{image}";
    Params p(req.params, route, {});
    if (Status s = p.Check(); !s.ok()) return fail(s, route);
    std::vector<std::string> parts = absl::StrSplit(path.substr(kGalleryPrefix.size()), '/');
    int64_t evaluation = 0;
    int64_t image = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &evaluation) ||
        !absl::SimpleAtoi(parts[1], &image)) {
      return fail(
          absl::InvalidArgumentError(absl::StrCat(
              "expected /api/gallery/{evaluation id}/{image id} (two integers), got ", path)),
          route);
    }
    StatusOr<std::string> bytes = ReadGalleryImage(store_, evaluation, image);
    if (absl::IsFailedPrecondition(bytes.status())) {
      // Deleted by retention: gone for good, not merely missing.
      ApiResponse r = JsonError(410, std::string(bytes.status().message()));
      r.route = route;
      return r;
    }
    if (!bytes.ok()) return fail(bytes.status(), route);
    ApiResponse r;
    r.content_type = "image/jpeg";
    r.body = *std::move(bytes);
    r.route = route;
    r.headers.emplace_back("Cache-Control", "no-cache");  // revalidate with the ETag
    return r;
  }

  StatusOr<std::shared_ptr<const StoreSnapshot>> snap_or = snapshots_.Get();
  if (!snap_or.ok()) return fail(snap_or.status(), "/api");
  const std::shared_ptr<const StoreSnapshot>& snap = *snap_or;
  const std::string cache_key = CanonicalQuery(path, req.params);

  if (path == "/api/sweeps") {
    Params p(req.params, path, {});
    if (Status s = p.Check(); !s.ok()) return fail(s, path);
    StatusOr<std::string> body = CachedBody(
        snap, cache_key, [&]() -> StatusOr<std::string> { return Dump(SweepsView(*snap)); });
    return body.ok() ? json_ok(*std::move(body), path) : fail(body.status(), path);
  }
  if (path == "/api/leaderboard") {
    Params p(req.params, path,
             {"by", "iou", "sweep", "status", "top", "order", "group", "score_threshold", "top_k",
              "nms_iou", "max_dets", "dataset"});
    if (Status s = p.Check(); !s.ok()) return fail(s, path);
    StatusOr<server::LeaderboardQuery> q = ParseLeaderboardQuery(p);
    if (!q.ok()) return fail(q.status(), path);
    StatusOr<std::string> body = CachedBody(snap, cache_key, [&]() -> StatusOr<std::string> {
      ABLATE_ASSIGN_OR_RETURN(json j, LeaderboardView(*snap, *q));
      return Dump(j);
    });
    return body.ok() ? json_ok(*std::move(body), path) : fail(body.status(), path);
  }
  if (path == "/api/compare") {
    Params p(req.params, path, {"runs"});
    if (Status s = p.Check(); !s.ok()) return fail(s, path);
    std::vector<std::string> runs = SplitList(p.Get("runs"));
    if (runs.size() < 2 || static_cast<int>(runs.size()) > kMaxCompareRuns) {
      return fail(absl::InvalidArgumentError(
                      absl::StrCat("parameter 'runs': give 2 to ", kMaxCompareRuns,
                                   " comma-separated run names (got ", runs.size(), ")")),
                  path);
    }
    if (std::set<std::string>(runs.begin(), runs.end()).size() != runs.size()) {
      return fail(absl::InvalidArgumentError("parameter 'runs': a run is named twice"), path);
    }
    StatusOr<std::string> body = CachedBody(snap, cache_key, [&]() -> StatusOr<std::string> {
      ABLATE_ASSIGN_OR_RETURN(json j, CompareView(*snap, runs));
      return Dump(j);
    });
    return body.ok() ? json_ok(*std::move(body), path) : fail(body.status(), path);
  }
  if (path == "/api/lineage") {
    Params p(req.params, path, {"root"});
    if (Status s = p.Check(); !s.ok()) return fail(s, path);
    StatusOr<std::string> body = CachedBody(snap, cache_key, [&]() -> StatusOr<std::string> {
      ABLATE_ASSIGN_OR_RETURN(json j, LineageView(*snap, p.Get("root")));
      return Dump(j);
    });
    return body.ok() ? json_ok(*std::move(body), path) : fail(body.status(), path);
  }
  if (path == "/api/checkpoints") {
    Params p(req.params, path, {"run"});
    if (Status s = p.Check(); !s.ok()) return fail(s, path);
    StatusOr<std::string> body = CachedBody(snap, cache_key, [&]() -> StatusOr<std::string> {
      ABLATE_ASSIGN_OR_RETURN(json j, CheckpointsView(*snap, p.Get("run")));
      return Dump(j);
    });
    return body.ok() ? json_ok(*std::move(body), path) : fail(body.status(), path);
  }
  if (path.size() > kRunsPrefix.size() && path.compare(0, kRunsPrefix.size(), kRunsPrefix) == 0) {
    std::string rest = path.substr(kRunsPrefix.size());
    const bool metrics = rest.size() > kMetricsSuffix.size() &&
                         rest.compare(rest.size() - kMetricsSuffix.size(), kMetricsSuffix.size(),
                                      kMetricsSuffix) == 0;
    if (metrics) {
      const std::string route = "/api/runs/{name}/metrics";
      std::string name = rest.substr(0, rest.size() - kMetricsSuffix.size());
      Params p(req.params, route, {"key"});
      if (Status s = p.Check(); !s.ok()) return fail(s, route);
      StatusOr<json> j = MetricsView(store_, name, SplitList(p.Get("key")));
      return j.ok() ? json_ok(Dump(*j), route) : fail(j.status(), route);
    }
    const std::string route = "/api/runs/{name}";
    Params p(req.params, route, {});
    if (Status s = p.Check(); !s.ok()) return fail(s, route);
    StatusOr<json> j = RunView(store_, *snap, rest, options_.jobs);
    return j.ok() ? json_ok(Dump(*j), route) : fail(j.status(), route);
  }
  return fail(absl::NotFoundError(absl::StrCat(
                  "no API endpoint ", path,
                  " (endpoints: /api/sweeps, /api/leaderboard, /api/runs/{name}, "
                  "/api/runs/{name}/metrics, /api/compare, /api/lineage, /api/checkpoints, "
                  "/api/gallery/{evaluation}/{image})")),
              "/api/unknown");
}

ApiResponse DashboardApi::Metrics() {
  ApiResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.route = "/metrics";
  std::string& out = r.body;
  StatusOr<std::shared_ptr<const StoreSnapshot>> snap = snapshots_.Get();
  if (snap.ok()) {
    std::map<server::RunStatus, int64_t> counts;
    for (const server::Run& run : (*snap)->runs) counts[run.status]++;
    out +=
        "# HELP ablate_runs Runs in the store, by status.\n"
        "# TYPE ablate_runs gauge\n";
    for (int s = 0; s <= static_cast<int>(server::RunStatus::kStopped); ++s) {
      const auto status = static_cast<server::RunStatus>(s);
      absl::StrAppend(&out, "ablate_runs{status=\"", std::string(server::RunStatusName(status)),
                      "\"} ", counts[status], "\n");
    }
    absl::StrAppend(&out,
                    "# HELP ablate_evaluations Evaluations in the store.\n"
                    "# TYPE ablate_evaluations gauge\n"
                    "ablate_evaluations ",
                    (*snap)->evaluations.size(),
                    "\n# HELP ablate_checkpoints Checkpoints in the store.\n"
                    "# TYPE ablate_checkpoints gauge\n"
                    "ablate_checkpoints ",
                    (*snap)->checkpoints.size(),
                    "\n# HELP ablate_dashboard_snapshot_load_seconds Time the last dashboard "
                    "snapshot of the store took to load.\n"
                    "# TYPE ablate_dashboard_snapshot_load_seconds gauge\n"
                    "ablate_dashboard_snapshot_load_seconds ",
                    static_cast<double>((*snap)->load_ms) / 1000.0, "\n");
  }
  CoordinatorGauges g;
  if (options_.jobs != nullptr) {
    if (auto jobs = options_.jobs->ListJobs(std::nullopt, ""); jobs.ok()) {
      g.jobs_queued = 0;
      g.jobs_leased = 0;
      for (const server::Job& j : *jobs) {
        if (j.state == server::JobState::kPending) ++*g.jobs_queued;
        if (j.state == server::JobState::kLeased) ++*g.jobs_leased;
      }
    }
    if (auto workers = options_.jobs->ListWorkers(); workers.ok()) {
      g.workers_alive = 0;
      for (const server::WorkerInfo& w : *workers) {
        if (w.state == "alive") ++*g.workers_alive;
      }
    }
  }
  if (options_.coordinator_gauges) {
    const CoordinatorGauges c = options_.coordinator_gauges();
    if (c.jobs_queued) g.jobs_queued = c.jobs_queued;
    if (c.jobs_leased) g.jobs_leased = c.jobs_leased;
    if (c.workers_alive) g.workers_alive = c.workers_alive;
    if (c.metric_points_ingested) g.metric_points_ingested = c.metric_points_ingested;
  }
  {
    if (g.jobs_queued || g.jobs_leased) {
      out +=
          "# HELP ablate_jobs Scheduler jobs, by state.\n"
          "# TYPE ablate_jobs gauge\n";
      if (g.jobs_queued)
        absl::StrAppend(&out, "ablate_jobs{state=\"queued\"} ", *g.jobs_queued, "\n");
      if (g.jobs_leased)
        absl::StrAppend(&out, "ablate_jobs{state=\"leased\"} ", *g.jobs_leased, "\n");
    }
    if (g.workers_alive) {
      absl::StrAppend(&out,
                      "# HELP ablate_workers_alive Workers with a live heartbeat.\n"
                      "# TYPE ablate_workers_alive gauge\n"
                      "ablate_workers_alive ",
                      *g.workers_alive, "\n");
    }
    if (g.metric_points_ingested) {
      absl::StrAppend(&out,
                      "# HELP ablate_metric_points_ingested_total Metric points accepted since "
                      "the coordinator started.\n"
                      "# TYPE ablate_metric_points_ingested_total counter\n"
                      "ablate_metric_points_ingested_total ",
                      *g.metric_points_ingested, "\n");
    }
  }
  latencies_.Render(out);
  return r;
}

}  // namespace ablate::dashboard
