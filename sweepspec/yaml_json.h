// Converts yaml-cpp nodes to nlohmann::json with YAML 1.2 core-schema typing of plain scalars
// (int, float, bool, null; everything else and every quoted scalar is a string).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <nlohmann/json.hpp>

#include "common/status.h"

namespace ablate::sweepspec {

// Limits on a document after alias expansion. An alias re-uses its anchor's node, so a short
// document can stand for an exponentially large tree ("billion laughs") or a cyclic one; every
// walk over the document (YamlToJson, the spec checks) would follow it.
inline constexpr int64_t kMaxYamlNodes = 100000;  // nodes, each alias use counted again
inline constexpr int kMaxYamlDepth = 64;          // nesting of sequences and mappings

// OK when walking `root` with every alias expanded visits at most kMaxYamlNodes nodes, nests
// at most kMaxYamlDepth deep and meets only UTF-8 scalars; otherwise ResourceExhausted naming the
// limit, or InvalidArgument "YAML text is not valid UTF-8: '...'" (configs become JSON, whose
// serialiser refuses other bytes). Stops at the first problem, so it is cheap for any input
// (and terminates on cyclic documents).
Status CheckYamlDocument(const YAML::Node& root);

// Never throws for well-formed nodes; maps keys of mappings through their scalar text
// (non-scalar keys are written in flow style, e.g. "[a, b]").
nlohmann::json YamlToJson(const YAML::Node& node);

// Type of one plain or quoted scalar node.
nlohmann::json YamlScalarToJson(const YAML::Node& node);

}  // namespace ablate::sweepspec
