// Canonical JSON for run configs: object keys sorted, no whitespace, numbers printed by
// nlohmann-json's shortest round-trip form. Two configs with the same content produce the same
// bytes, hence the same fingerprint, whatever order or spacing the user wrote them in.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/status.h"

namespace ablate {

// Canonical text of `value` (nlohmann::json keeps object keys sorted).
std::string CanonicalJson(const nlohmann::json& value);

// Parses `text` and returns its canonical form; InvalidArgument naming the parse error.
StatusOr<std::string> CanonicalizeJson(std::string_view text);

// "sha256:<hex>" of the canonical text: the identity of a config.
std::string ConfigFingerprint(const nlohmann::json& config);

}  // namespace ablate
