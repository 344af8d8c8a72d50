// The coordinator's check of a training config, using the detector's torch-free config library:
// the same rules ablate-train applies (unknown key, unknown loss name, neg >= pos...), so a bad
// sweep is refused at submit time instead of failing on a worker.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"

namespace ablate::server {

// InvalidArgument naming the key and the problem; NotFound-turned-InvalidArgument for an unknown
// preset.
Status ValidateTrainConfig(const std::string& preset, const nlohmann::json& set);

}  // namespace ablate::server
