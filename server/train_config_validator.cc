#include "server/train_config_validator.h"

#include "detector/config/train_config.h"

namespace ablate::server {

Status ValidateTrainConfig(const std::string& preset, const nlohmann::json& set) {
  auto config = detector::TrainPreset(preset);
  if (!config.ok()) {
    return absl::InvalidArgumentError("preset: " + std::string(config.status().message()));
  }
  if (!set.is_object()) return absl::InvalidArgumentError("set: expected an object");
  for (const auto& [key, value] : set.items()) {
    std::string text = value.is_string() ? value.get<std::string>() : value.dump();
    ABLATE_RETURN_IF_ERROR(config->ParseOverride(key, text));
  }
  return config->Validate();
}

}  // namespace ablate::server
