#include "detector/config/parse_value.h"

#include <charconv>
#include <cmath>
#include <exception>

#include "absl/strings/str_split.h"

namespace ablate::detector::config_internal {

Status BadValue(const std::string& key, const std::string& value, const std::string& expected) {
  return absl::InvalidArgumentError("--set " + key + "=" + value + ": expected " + expected);
}

StatusOr<double> ParseDouble(const std::string& key, const std::string& value) {
  try {
    size_t used = 0;
    const double v = std::stod(value, &used);
    if (used != value.size() || !std::isfinite(v)) return BadValue(key, value, "a finite number");
    return v;
  } catch (const std::exception&) {
    return BadValue(key, value, "a number");
  }
}

StatusOr<int> ParseInt(const std::string& key, const std::string& value) {
  int v = 0;
  const char* end = value.data() + value.size();
  auto [ptr, ec] = std::from_chars(value.data(), end, v);
  if (ec != std::errc() || ptr != end || value.empty()) return BadValue(key, value, "an integer");
  return v;
}

StatusOr<bool> ParseBool(const std::string& key, const std::string& value) {
  if (value == "true" || value == "1") return true;
  if (value == "false" || value == "0") return false;
  return BadValue(key, value, "true or false");
}

StatusOr<std::vector<int>> ParseIntList(const std::string& key, const std::string& value) {
  std::vector<int> out;
  for (absl::string_view part : absl::StrSplit(value, ',')) {
    int v = 0;
    const char* end = part.data() + part.size();
    auto [ptr, ec] = std::from_chars(part.data(), end, v);
    if (part.empty() || ec != std::errc() || ptr != end) {
      return BadValue(key, value, "comma-separated integers");
    }
    out.push_back(v);
  }
  return out;
}

}  // namespace ablate::detector::config_internal
