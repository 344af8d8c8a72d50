#include "dashboard/dashboard_server.h"

#include <httplib.h>

#include <chrono>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "dashboard/http_auth.h"

namespace ablate::dashboard {

StatusOr<std::pair<std::string, int>> ParseHostPort(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--http: expected HOST:PORT, got '", std::string(text), "'"));
  }
  std::string host(text.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = 0;
  if (!absl::SimpleAtoi(std::string(text.substr(colon + 1)), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--http: bad port in '", std::string(text), "' (expected 0-65535)"));
  }
  return std::make_pair(host, port);
}

StatusOr<std::unique_ptr<DashboardServer>> DashboardServer::Start(const DashboardOptions& options,
                                                                  server::RunReader& store) {
  std::unique_ptr<DashboardServer> s(new DashboardServer());
  s->host_ = options.host;
  s->api_ = std::make_unique<DashboardApi>(store, options.api);
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError("dashboard: TLS needs both a certificate and a key file");
  }
  if (!options.tls_cert_file.empty()) {
    auto ssl = std::make_unique<httplib::SSLServer>(options.tls_cert_file.c_str(),
                                                    options.tls_key_file.c_str());
    if (!ssl->is_valid()) {
      return absl::InvalidArgumentError(
          absl::StrCat("dashboard: cannot load the TLS certificate ", options.tls_cert_file,
                       " and key ", options.tls_key_file, " (PEM files expected)"));
    }
    s->http_ = std::move(ssl);
    s->tls_ = true;
  } else {
    s->http_ = std::make_unique<httplib::Server>();
  }
  DashboardApi* api = s->api_.get();
  const TokenTable* tokens = options.tokens;
  const bool tls = s->tls_;
  // httplib's default also sets SO_REUSEPORT, which would let a second server share the port
  // silently and split the requests; keep only SO_REUSEADDR (fast restarts).
  s->http_->set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<void*>(&yes), sizeof(yes));
  });

  auto handle = [api, tokens, tls](const httplib::Request& req, httplib::Response& res) {
    const auto start = std::chrono::steady_clock::now();
    ApiResponse response;
    bool pass = true;
    if (tokens != nullptr) {
      HttpAuthRequest auth;
      auth.method = req.method;
      auth.path = req.path;
      auth.authorization = req.get_header_value("Authorization");
      auth.cookie = req.get_header_value("Cookie");
      auth.body = req.body;
      auth.tls = tls;
      HttpAuthOutcome outcome = AuthorizeHttp(*tokens, auth);
      pass = outcome.pass;
      if (!pass) response = std::move(outcome.response);
    }
    if (pass) {
      ApiRequest request;
      request.method = req.method;
      request.path = req.path;
      for (const auto& [k, v] : req.params) request.params.emplace(k, v);
      request.if_none_match = req.get_header_value("If-None-Match");
      response = api->Handle(request);
    }
    res.status = response.status;
    for (const auto& [k, v] : response.headers) res.set_header(k, v);
    res.set_header("X-Content-Type-Options", "nosniff");
    if (response.status != 304) res.set_content(response.body, response.content_type);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    api->latencies().Observe("http", response.route, response.status, seconds);
  };
  const char* kAny = R"(/.*)";
  s->http_->Get(kAny, handle);
  s->http_->Post(kAny, handle);
  s->http_->Put(kAny, handle);
  s->http_->Patch(kAny, handle);
  s->http_->Delete(kAny, handle);
  s->http_->Options(kAny, handle);

  if (options.port == 0) {
    s->port_ = s->http_->bind_to_any_port(options.host);
    if (s->port_ < 0) {
      return absl::UnavailableError(
          absl::StrCat("dashboard: cannot bind ", options.host, " on any port"));
    }
  } else {
    if (!s->http_->bind_to_port(options.host, options.port)) {
      return absl::UnavailableError(absl::StrCat("dashboard: cannot bind ", options.host, ":",
                                                 options.port, " (in use or not permitted)"));
    }
    s->port_ = options.port;
  }
  httplib::Server* http = s->http_.get();
  s->thread_ = std::thread([http] { http->listen_after_bind(); });
  // listen_after_bind sets is_running() once its loop starts; wait so Start() returns serving.
  for (int i = 0; i < 500 && !http->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return s;
}

DashboardServer::~DashboardServer() { Stop(); }

void DashboardServer::Stop() {
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string DashboardServer::url() const {
  const bool v6 = host_.find(':') != std::string::npos;
  const std::string host = host_ == "0.0.0.0" ? "127.0.0.1" : host_;
  return absl::StrCat(tls_ ? "https://" : "http://", v6 ? "[" + host + "]" : host, ":", port_, "/");
}

}  // namespace ablate::dashboard
