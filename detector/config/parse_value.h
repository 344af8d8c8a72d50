// Parsing of `--set KEY=VALUE` values shared by the training and model knobs. Every error is
// InvalidArgument and names the key, the value and what was expected.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace ablate::detector::config_internal {

Status BadValue(const std::string& key, const std::string& value, const std::string& expected);
StatusOr<double> ParseDouble(const std::string& key, const std::string& value);  // finite
StatusOr<int> ParseInt(const std::string& key, const std::string& value);
StatusOr<bool> ParseBool(const std::string& key, const std::string& value);  // true/false/1/0
// "1,2,3": comma-separated integers, at least one.
StatusOr<std::vector<int>> ParseIntList(const std::string& key, const std::string& value);

}  // namespace ablate::detector::config_internal
