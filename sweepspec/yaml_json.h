// Converts yaml-cpp nodes to nlohmann::json with YAML 1.2 core-schema typing of plain scalars
// (int, float, bool, null; everything else and every quoted scalar is a string).
#pragma once

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

namespace ablate::sweepspec {

// Never throws for well-formed nodes; maps keys of mappings through their scalar text
// (non-scalar keys are written in flow style, e.g. "[a, b]").
nlohmann::json YamlToJson(const YAML::Node& node);

// Type of one plain or quoted scalar node.
nlohmann::json YamlScalarToJson(const YAML::Node& node);

}  // namespace ablate::sweepspec
