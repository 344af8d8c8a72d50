#include "common/json_limits.h"

#include <cstdint>
#include <string>

namespace ablate {
namespace {

struct TooDeep {};

}  // namespace

StatusOr<nlohmann::json> ParseUntrustedJson(std::string_view text, std::string_view what) {
  // The callback sees depth = the number of containers already open around the event.
  const nlohmann::json::parser_callback_t limit_depth =
      [](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
        if ((event == nlohmann::json::parse_event_t::object_start ||
             event == nlohmann::json::parse_event_t::array_start) &&
            depth >= kMaxJsonDepth) {
          throw TooDeep{};
        }
        return true;
      };
  try {
    return nlohmann::json::parse(text, limit_depth);
  } catch (const TooDeep&) {
    return absl::InvalidArgumentError(std::string(what) + " nests deeper than " +
                                      std::to_string(kMaxJsonDepth) +
                                      " levels (the JSON depth limit)");
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(std::string(what) + " is not JSON: " + e.what());
  }
}

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int extra = 0;
    uint32_t cp = 0;
    uint32_t min_cp = 0;
    if ((c & 0xE0) == 0xC0) {
      extra = 1, cp = c & 0x1F, min_cp = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, cp = c & 0x0F, min_cp = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, cp = c & 0x07, min_cp = 0x10000;
    } else {
      return false;  // a continuation byte first, or 0xF8..0xFF
    }
    if (i + extra >= text.size()) return false;  // truncated sequence
    for (int k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

}  // namespace ablate
