#include "common/canonical_json.h"

#include "common/sha256.h"

namespace ablate {

std::string CanonicalJson(const nlohmann::json& value) { return value.dump(); }

StatusOr<std::string> CanonicalizeJson(std::string_view text) {
  try {
    return CanonicalJson(nlohmann::json::parse(text));
  } catch (const nlohmann::json::parse_error& e) {
    return absl::InvalidArgumentError(std::string("malformed JSON: ") + e.what());
  }
}

std::string ConfigFingerprint(const nlohmann::json& config) {
  return "sha256:" + Sha256Hex(CanonicalJson(config));
}

}  // namespace ablate
