#include "common/access_tokens.h"

#include <openssl/sha.h>

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/secret_file.h"
#include "common/sha256.h"

namespace ablate {
namespace {

std::array<unsigned char, 32> Digest(std::string_view bytes) {
  std::array<unsigned char, 32> d{};
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), d.data());
  return d;
}

bool ValidName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '@' &&
        c != '-') {
      return false;
    }
  }
  return true;
}

// Splits on any of `separators`, dropping empty pieces.
std::vector<std::string_view> Fields(std::string_view text, std::string_view separators) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find_first_of(separators, start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string_view StripSpaces(std::string_view s) {
  const size_t first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const size_t last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

bool PrintableToken(std::string_view token) {
  for (char c : token) {
    if (c <= ' ' || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kWorker:
      return "worker";
    case Role::kReader:
      return "reader";
  }
  return "unknown";
}

std::optional<Role> ParseRole(std::string_view name) {
  if (name == "admin") return Role::kAdmin;
  if (name == "worker") return Role::kWorker;
  if (name == "reader") return Role::kReader;
  return std::nullopt;
}

StatusOr<TokenTable> TokenTable::Parse(std::string_view text, std::string_view source) {
  TokenTable table;
  std::map<std::array<unsigned char, 32>, int> line_of_digest;
  std::map<std::string, int> line_of_name;
  int line_number = 0;
  size_t line_start = 0;
  while (line_start <= text.size()) {
    size_t line_end = text.find('\n', line_start);
    if (line_end == std::string_view::npos) line_end = text.size();
    std::string_view line = text.substr(line_start, line_end - line_start);
    line_start = line_end + 1;
    ++line_number;
    const size_t hash = line.find('#');
    if (hash != std::string_view::npos) line = line.substr(0, hash);
    const std::vector<std::string_view> fields = Fields(line, " \t\r");
    if (fields.empty()) continue;
    const std::string where = absl::StrCat(std::string(source), " line ", line_number, ": ");
    if (fields.size() < 2 || fields.size() > 3) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "expected `ROLE TOKEN [NAME]`, got ", fields.size(), " field(s)"));
    }
    std::optional<Role> role = ParseRole(fields[0]);
    if (!role) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, "unknown role '", std::string(fields[0]), "' (expected admin, worker or reader)"));
    }
    const std::string_view token = fields[1];
    if (token.size() < kMinTokenLength || !PrintableToken(token)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "the token must be at least ", kMinTokenLength,
                       " printable characters (make one with: openssl rand -hex 32)"));
    }
    Entry entry;
    entry.digest = Digest(token);
    entry.principal.role = *role;
    if (fields.size() == 3) {
      if (!ValidName(fields[2])) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, "name '", std::string(fields[2]),
                         "' may hold only letters, digits and . _ @ -"));
      }
      entry.principal.name = std::string(fields[2]);
    } else {
      entry.principal.name = std::string(RoleName(*role)) + "-" + Sha256Hex(token).substr(0, 4);
    }
    if (auto [it, inserted] = line_of_digest.emplace(entry.digest, line_number); !inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "the same token is already on line ", it->second));
    }
    if (auto [it, inserted] = line_of_name.emplace(entry.principal.name, line_number); !inserted) {
      return absl::InvalidArgumentError(absl::StrCat(where, "name '", entry.principal.name,
                                                     "' is already used on line ", it->second));
    }
    table.entries_.push_back(std::move(entry));
  }
  if (table.entries_.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(source), ": no tokens (expected lines `ROLE TOKEN [NAME]`)"));
  }
  return table;
}

StatusOr<TokenTable> TokenTable::Load(const std::string& path, std::string* warning) {
  ABLATE_ASSIGN_OR_RETURN(std::string text, ReadSecretFile(path, "token file", warning));
  return Parse(text, path);
}

std::optional<Principal> TokenTable::Find(std::string_view token) const {
  const std::array<unsigned char, 32> digest = Digest(token);
  const Entry* found = nullptr;
  for (const Entry& e : entries_) {
    unsigned char diff = 0;
    for (size_t i = 0; i < digest.size(); ++i)
      diff |= static_cast<unsigned char>(e.digest[i] ^ digest[i]);
    if (diff == 0) found = &e;  // keep looping: every entry is compared
  }
  if (found == nullptr) return std::nullopt;
  return found->principal;
}

std::optional<std::string_view> BearerToken(std::string_view authorization) {
  authorization = StripSpaces(authorization);
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (absl::ascii_tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) {
      return std::nullopt;
    }
  }
  std::string_view token = StripSpaces(authorization.substr(kScheme.size()));
  if (token.empty()) return std::nullopt;
  return token;
}

}  // namespace ablate
