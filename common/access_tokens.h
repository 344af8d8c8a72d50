// Access tokens: the roles a bearer token grants and the token file that lists them
// (`ablate server --auth-tokens FILE`, docs/security.md). Shared by the coordinator's gRPC
// interceptor and the dashboard's HTTP server.
//
// Token file: one `ROLE TOKEN [NAME]` per line; `#` starts a comment (a token cannot contain it);
// blank lines are skipped.
// ROLE is admin, worker or reader; TOKEN is at least kMinTokenLength printable characters without
// spaces; NAME (letters, digits, `._@-`) names the holder in the audit log and defaults to
// "ROLE-" plus the first 4 hex digits of sha256(TOKEN). Errors name the line, never the token.
//
// Thread safety: a TokenTable is immutable after Parse(); Find() may be called from any thread.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace ablate {

enum class Role { kAdmin, kWorker, kReader };
std::string_view RoleName(Role role);  // "admin", "worker", "reader"
std::optional<Role> ParseRole(std::string_view name);

// Who a token belongs to. `name` is safe to log; the token itself never is.
struct Principal {
  Role role = Role::kReader;
  std::string name;
};

inline constexpr size_t kMinTokenLength = 16;

class TokenTable {
 public:
  // InvalidArgument "<source> line N: ..." for a bad line (unknown role, short token, bad name,
  // a token or name listed twice) and for a file without any token.
  static StatusOr<TokenTable> Parse(std::string_view text, std::string_view source);
  // Reads FILE (common/secret_file.h) and parses it; `*warning` as ReadSecretFile's.
  static StatusOr<TokenTable> Load(const std::string& path, std::string* warning);

  // The holder of `token`, or nullopt. Compares the sha256 digest of `token` with every entry's
  // in constant time, so the answer's timing does not depend on how much of a token matched.
  std::optional<Principal> Find(std::string_view token) const;

  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::array<unsigned char, 32> digest;
    Principal principal;
  };
  std::vector<Entry> entries_;
};

// The token of an `Authorization` header value "Bearer TOKEN" (scheme case-insensitive, spaces
// around the token ignored); nullopt for any other form.
std::optional<std::string_view> BearerToken(std::string_view authorization);

}  // namespace ablate
