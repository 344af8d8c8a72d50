// The dashboard's HTTP server: the page (embedded assets), the read-only JSON API (api.h) and
// /metrics, over one RunReader. The coordinator starts it beside its gRPC server on the same store
// (`ablate server --http HOST:PORT`); there is no second process or database.
//
// Threads: cpp-httplib's listener thread plus its worker pool (CPPHTTPLIB_THREAD_POOL_COUNT).
// Ownership: the server borrows the store; Stop() (or destruction) joins every thread, after which
// the store may be destroyed.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "common/access_tokens.h"
#include "common/status.h"
#include "dashboard/api.h"
#include "server/run_store.h"

namespace httplib {
class Server;
}

namespace ablate::dashboard {

struct DashboardOptions {
  std::string host = "127.0.0.1";  // address to bind; "0.0.0.0" for every interface
  int port = 8080;                 // 0: any free port (see DashboardServer::port())
  DashboardApiOptions api;         // snapshot freshness, clock, coordinator gauges
  // Access tokens (dashboard/http_auth.h); nullptr: no authentication. Not owned; must outlive
  // the server.
  const TokenTable* tokens = nullptr;
  // PEM files; both set: HTTPS only (the same files as the coordinator's --tls-cert/--tls-key).
  std::string tls_cert_file;
  std::string tls_key_file;
};

// Parses "HOST:PORT" (e.g. "127.0.0.1:8080", "[::1]:0"); InvalidArgument naming the text.
StatusOr<std::pair<std::string, int>> ParseHostPort(std::string_view text);

class DashboardServer {
 public:
  // Binds and starts serving before returning. Unavailable when the address cannot be bound.
  static StatusOr<std::unique_ptr<DashboardServer>> Start(const DashboardOptions& options,
                                                          server::RunReader& store);
  ~DashboardServer();

  // Stops accepting, finishes in-flight requests and joins the threads. Idempotent.
  void Stop();

  int port() const { return port_; }
  const std::string& host() const { return host_; }
  // "http://HOST:PORT/" (https with TLS) as a person would type it.
  std::string url() const;
  // Latency histograms shown on /metrics; the coordinator may record its gRPC calls here.
  RequestLatencies& latencies() { return api_->latencies(); }

 private:
  DashboardServer() = default;

  std::string host_;
  int port_ = 0;
  bool tls_ = false;
  std::unique_ptr<DashboardApi> api_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
};

}  // namespace ablate::dashboard
