#include "dashboard/http_auth.h"

#include <nlohmann/json.hpp>

namespace ablate::dashboard {
namespace {

constexpr char kCookie[] = "ablate_token";

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> Unhex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = HexValue(hex[i]);
    const int lo = HexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

// application/x-www-form-urlencoded value decoding.
std::string FormDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::optional<std::string> FormField(std::string_view body, std::string_view name) {
  size_t start = 0;
  while (start <= body.size()) {
    size_t end = body.find('&', start);
    if (end == std::string_view::npos) end = body.size();
    std::string_view pair = body.substr(start, end - start);
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
      return FormDecode(pair.substr(eq + 1));
    }
    start = end + 1;
  }
  return std::nullopt;
}

std::optional<std::string> CookieToken(std::string_view header) {
  size_t start = 0;
  while (start < header.size()) {
    size_t end = header.find(';', start);
    if (end == std::string_view::npos) end = header.size();
    std::string_view pair = header.substr(start, end - start);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == kCookie) {
      return Unhex(pair.substr(eq + 1));
    }
    start = end + 1;
  }
  return std::nullopt;
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

ApiResponse LoginPage(int status, std::string_view message) {
  ApiResponse r;
  r.status = status;
  r.route = "/login";
  r.content_type = "text/html; charset=utf-8";
  r.headers.emplace_back("Cache-Control", "no-store");
  r.body =
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Ablate: sign "
      "in</title></head>\n<body style=\"font-family: sans-serif; max-width: 28em; margin: 4em "
      "auto\">\n<h1>Ablate</h1>\n";
  if (!message.empty()) r.body += "<p role=\"alert\">" + HtmlEscape(message) + "</p>\n";
  r.body +=
      "<form method=\"post\" action=\"/login\">\n<label>Access token <input type=\"password\" "
      "name=\"token\" autocomplete=\"current-password\" required></label>\n<button "
      "type=\"submit\">Sign in</button>\n</form>\n<p>Any token from the coordinator's "
      "<code>--auth-tokens</code> file (reader, worker or admin).</p>\n</body></html>\n";
  return r;
}

ApiResponse JsonError(int status, const std::string& message) {
  ApiResponse r;
  r.status = status;
  r.route = "auth";
  r.body = nlohmann::json{{"error", message}}.dump(-1, ' ', false,
                                                   nlohmann::json::error_handler_t::replace);
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"ablate\"");
  return r;
}

ApiResponse Redirect(const std::string& location, const std::string& cookie) {
  ApiResponse r;
  r.status = 303;
  r.route = "/login";
  r.content_type = "text/plain";
  r.headers.emplace_back("Location", location);
  r.headers.emplace_back("Set-Cookie", cookie);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

bool WantsJson(const std::string& path) {
  return path.rfind("/api/", 0) == 0 || path == "/api" || path == "/metrics";
}

}  // namespace

HttpAuthOutcome AuthorizeHttp(const TokenTable& tokens, const HttpAuthRequest& request) {
  HttpAuthOutcome out;
  const std::string secure = request.tls ? "; Secure" : "";
  if (request.path == "/login") {
    if (request.method != "POST") {
      out.response = LoginPage(200, "");
      return out;
    }
    std::optional<std::string> token = FormField(request.body, "token");
    std::optional<Principal> principal;
    if (token) principal = tokens.Find(*token);
    if (!principal) {
      out.response = LoginPage(401, "Unknown access token.");
      return out;
    }
    out.principal = principal;
    out.response = Redirect("/", std::string(kCookie) + "=" + Hex(*token) +
                                     "; Path=/; HttpOnly; SameSite=Strict" + secure);
    return out;
  }
  if (request.path == "/logout" && request.method == "POST") {
    out.response =
        Redirect("/login",
                 std::string(kCookie) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" + secure);
    return out;
  }
  std::optional<std::string> token;
  if (!request.authorization.empty()) {
    if (auto bearer = BearerToken(request.authorization)) token = std::string(*bearer);
  } else if (!request.cookie.empty()) {
    token = CookieToken(request.cookie);
  }
  if (token) out.principal = tokens.Find(*token);
  if (!out.principal) {
    const std::string why = token ? "unknown access token"
                                  : "an access token is required (Authorization: Bearer TOKEN, "
                                    "or sign in at /login)";
    out.response = WantsJson(request.path) ? JsonError(401, why)
                                           : LoginPage(401, token ? "Unknown access token." : "");
    return out;
  }
  if (request.method != "GET" && request.method != "HEAD" && out.principal->role != Role::kAdmin) {
    out.response = JsonError(403, "role '" + std::string(RoleName(out.principal->role)) +
                                      "' may not " + request.method + " " + request.path);
    return out;
  }
  out.pass = true;
  return out;
}

}  // namespace ablate::dashboard
