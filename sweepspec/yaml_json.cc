#include "sweepspec/yaml_json.h"

#include <charconv>
#include <cmath>
#include <regex>
#include <string>

#include "common/json_limits.h"

namespace ablate::sweepspec {
namespace {

const std::regex& IntPattern() {
  static const std::regex re(R"([-+]?[0-9]+)");
  return re;
}
const std::regex& FloatPattern() {
  static const std::regex re(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  return re;
}

enum class WalkStop { kNone, kTooMany, kTooDeep, kNotUtf8 };

// Depth-first walk counting nodes into *count; stops at the first limit passed or the first
// scalar that is not UTF-8 (*bad_scalar receives it).
WalkStop Walk(const YAML::Node& node, int depth, int64_t* count, std::string* bad_scalar) {
  if (++*count > kMaxYamlNodes) return WalkStop::kTooMany;
  if (node.IsScalar() && !IsValidUtf8(node.Scalar())) {
    *bad_scalar = node.Scalar();
    return WalkStop::kNotUtf8;
  }
  if (!node.IsSequence() && !node.IsMap()) return WalkStop::kNone;
  if (depth >= kMaxYamlDepth) return WalkStop::kTooDeep;
  for (const auto& item : node) {
    WalkStop stop = WalkStop::kNone;
    if (node.IsMap()) {
      stop = Walk(item.first, depth + 1, count, bad_scalar);
      if (stop == WalkStop::kNone) stop = Walk(item.second, depth + 1, count, bad_scalar);
    } else {
      stop = Walk(item, depth + 1, count, bad_scalar);
    }
    if (stop != WalkStop::kNone) return stop;
  }
  return WalkStop::kNone;
}

}  // namespace

Status CheckYamlDocument(const YAML::Node& root) {
  int64_t count = 0;
  std::string bad_scalar;
  switch (Walk(root, 0, &count, &bad_scalar)) {
    case WalkStop::kNone:
      return absl::OkStatus();
    case WalkStop::kTooDeep:
      return absl::ResourceExhaustedError("YAML nests deeper than " +
                                          std::to_string(kMaxYamlDepth) +
                                          " levels (the nesting limit; aliases included)");
    case WalkStop::kTooMany:
      return absl::ResourceExhaustedError(
          "YAML expands to more than " + std::to_string(kMaxYamlNodes) +
          " nodes (the node limit; each use of an alias counts its anchor's nodes again)");
    case WalkStop::kNotUtf8:
      break;
  }
  // Escape the bytes so the message itself is valid UTF-8.
  std::string shown;
  for (unsigned char c : bad_scalar.substr(0, 60)) {
    if (c >= 0x20 && c < 0x7f) {
      shown += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      shown += "\\x";
      shown += kHex[c >> 4];
      shown += kHex[c & 15];
    }
  }
  return absl::InvalidArgumentError("YAML text is not valid UTF-8: '" + shown + "'");
}

nlohmann::json YamlScalarToJson(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") return text;  // quoted: always a string
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return nullptr;
  }
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  if (std::regex_match(text, IntPattern())) {
    int64_t v = 0;
    const char* begin = text.data() + (text[0] == '+' ? 1 : 0);
    auto [ptr, ec] = std::from_chars(begin, text.data() + text.size(), v);
    if (ec == std::errc() && ptr == text.data() + text.size()) return v;
  }
  if (std::regex_match(text, FloatPattern())) {
    double v = 0;
    const char* begin = text.data() + (text[0] == '+' ? 1 : 0);
    auto [ptr, ec] = std::from_chars(begin, text.data() + text.size(), v);
    if (ec == std::errc() && ptr == text.data() + text.size() && std::isfinite(v)) return v;
  }
  return text;
}

nlohmann::json YamlToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return YamlScalarToJson(node);
    case YAML::NodeType::Sequence: {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& item : node) out.push_back(YamlToJson(item));
      return out;
    }
    case YAML::NodeType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& kv : node) {
        std::string key;
        if (kv.first.IsScalar()) {
          key = kv.first.Scalar();
        } else {
          YAML::Emitter e;
          e << YAML::Flow << kv.first;
          key = e.c_str();
        }
        out[key] = YamlToJson(kv.second);
      }
      return out;
    }
  }
  return nullptr;
}

}  // namespace ablate::sweepspec
