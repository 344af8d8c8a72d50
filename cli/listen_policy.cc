#include "cli/listen_policy.h"

#include "absl/strings/str_cat.h"

namespace ablate::cli {

bool IsLoopbackHost(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost" || host == "::1") return true;
  return host.substr(0, 4) == "127." && host.find_first_not_of("0123456789.") == std::string::npos;
}

Status CheckExposure(std::string_view flag, std::string_view address, bool has_tokens,
                     bool insecure) {
  const size_t colon = address.rfind(':');
  const std::string_view host =
      colon == std::string_view::npos ? address : address.substr(0, colon);
  if (has_tokens || insecure || IsLoopbackHost(host)) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      std::string(flag), " ", std::string(address),
      " is reachable from other machines, but the coordinator has no --auth-tokens: anyone who "
      "can reach it could submit, cancel and delete checkpoints. Make a token file (one "
      "`ROLE TOKEN [NAME]` per line, roles admin/worker/reader), e.g.\n"
      "  umask 077; echo \"admin $(openssl rand -hex 32) me\" > tokens.txt\n"
      "and start with --auth-tokens tokens.txt (clients: --token-file or ABLATE_TOKEN; see "
      "docs/security.md), or pass --insecure to serve without authentication anyway."));
}

}  // namespace ablate::cli
