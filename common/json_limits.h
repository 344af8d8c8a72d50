// Parsing JSON that a client sent (run configs, diary entries, trial events): the same as
// nlohmann::json::parse, plus a nesting limit so a hostile document ("[[[[...") cannot exhaust
// the stack of the code that later walks it (dump, canonicalisation, config diffs all recurse).
//
// Thread safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "common/status.h"

namespace ablate {

// Deepest nesting accepted: a scalar at the top is depth 0, `[1]` and `{"a":1}` are depth 1.
inline constexpr int kMaxJsonDepth = 64;

// InvalidArgument "<what> is not JSON: <parser message>" for malformed text, and
// "<what> nests deeper than 64 levels (the JSON depth limit)" for documents nested deeper than
// kMaxJsonDepth (the parse stops there).
StatusOr<nlohmann::json> ParseUntrustedJson(std::string_view text, std::string_view what);

// True when `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
// past U+10FFFF). nlohmann::json::dump throws on any other string, so text that did not come
// through a JSON parser (YAML scalars, diary prose) is checked before it enters a json value.
bool IsValidUtf8(std::string_view text);

}  // namespace ablate
