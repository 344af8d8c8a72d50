#include "sweepspec/yaml_json.h"

#include <charconv>
#include <cmath>
#include <regex>
#include <string>

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

}  // namespace

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
