// Access tokens on the dashboard (docs/security.md), without the HTTP library: a request carries
// its token as `Authorization: Bearer TOKEN` (scripts, Prometheus) or in the `ablate_token`
// cookie that POST /login sets from a form (browsers; HttpOnly, SameSite=Strict, Secure over
// TLS). Any role may read everything; a request that is not GET or HEAD needs admin (the API is
// read-only today, so it then gets 405 from DashboardApi).
//
// Without a valid token: 401 — JSON {"error": ...} and `WWW-Authenticate: Bearer` for /api/ and
// /metrics, the login page for everything else. GET /login shows the form; POST /logout clears
// the cookie. No response ever contains a token.
#pragma once

#include <optional>
#include <string>

#include "common/access_tokens.h"
#include "dashboard/api.h"

namespace ablate::dashboard {

struct HttpAuthRequest {
  std::string method = "GET";
  std::string path;
  std::string authorization;  // the Authorization header, if any
  std::string cookie;         // the Cookie header, if any
  std::string body;           // the body (POST /login: application/x-www-form-urlencoded)
  bool tls = false;           // served over HTTPS: the cookie gets `Secure`
};

struct HttpAuthOutcome {
  // True: hand the request to DashboardApi. False: send `response` as it is.
  bool pass = false;
  ApiResponse response;
  std::optional<Principal> principal;  // who, when known
};

HttpAuthOutcome AuthorizeHttp(const TokenTable& tokens, const HttpAuthRequest& request);

}  // namespace ablate::dashboard
