#include "detector/config/train_config.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "detector/config/model_knobs.h"
#include "detector/config/parse_value.h"
#include "nlohmann/json.hpp"

namespace ablate::detector {
namespace {

using config_internal::BadValue;
using config_internal::ParseBool;
using config_internal::ParseDouble;
using config_internal::ParseInt;
using nlohmann::json;

struct Field {
  std::function<Status(TrainConfig&, const std::string&, const std::string&)> set;
  std::function<json(const TrainConfig&)> get;
};

// Numeric field with an inclusive lower bound (and optional exclusive/inclusive upper bound).
Field DoubleField(double TrainConfig::*member, double min, double max = HUGE_VAL) {
  return {[member, min, max](TrainConfig& c, const std::string& k, const std::string& v) -> Status {
            ABLATE_ASSIGN_OR_RETURN(double d, ParseDouble(k, v));
            if (d < min || d > max) {
              return BadValue(k, v, absl::StrCat("a number in [", min, ", ", max, "]"));
            }
            c.*member = d;
            return absl::OkStatus();
          },
          [member](const TrainConfig& c) { return json(c.*member); }};
}

Field IntField(int TrainConfig::*member, int min, int max = 1 << 30) {
  return {[member, min, max](TrainConfig& c, const std::string& k, const std::string& v) -> Status {
            ABLATE_ASSIGN_OR_RETURN(int d, ParseInt(k, v));
            if (d < min || d > max) {
              return BadValue(k, v, absl::StrCat("an integer in [", min, ", ", max, "]"));
            }
            c.*member = d;
            return absl::OkStatus();
          },
          [member](const TrainConfig& c) { return json(c.*member); }};
}

template <typename E>
Field EnumField(E TrainConfig::*member, std::vector<std::pair<std::string, E>> names,
                std::string (*to_name)(E)) {
  return {[member, names](TrainConfig& c, const std::string& k, const std::string& v) -> Status {
            for (const auto& [n, e] : names) {
              if (n == v) {
                c.*member = e;
                return absl::OkStatus();
              }
            }
            std::string options;
            for (const auto& [n, e] : names)
              absl::StrAppend(&options, options.empty() ? "" : ", ", n);
            return absl::InvalidArgumentError("--set " + k + "=" + v + ": unknown " + k +
                                              " (one of: " + options + ")");
          },
          [member, to_name](const TrainConfig& c) { return json(to_name(c.*member)); }};
}

const std::map<std::string, Field>& Fields() {
  static const auto* fields = [] {
    auto* fields = new std::map<std::string, Field>{
        {"pos_threshold", DoubleField(&TrainConfig::pos_threshold, 0.0, 10.0)},
        {"neg_threshold", DoubleField(&TrainConfig::neg_threshold, 0.0, 1.0)},
        {"crowd_threshold", DoubleField(&TrainConfig::crowd_threshold, 0.0, 10.0)},
        {"box_loss",
         EnumField<BoxLoss>(&TrainConfig::box_loss,
                            {{"smooth_l1", BoxLoss::kSmoothL1}, {"ciou", BoxLoss::kCiou}},
                            &BoxLossName)},
        {"conf_loss", EnumField<ConfLoss>(&TrainConfig::conf_loss,
                                          {{"ce", ConfLoss::kCe},
                                           {"ohem", ConfLoss::kOhem},
                                           {"focal", ConfLoss::kFocalSigmoid},
                                           {"focal_sigmoid", ConfLoss::kFocalSigmoid},
                                           {"focal_softmax", ConfLoss::kFocalSoftmax},
                                           {"ghm_c", ConfLoss::kGhmC}},
                                          &ConfLossName)},
        {"box_weight", DoubleField(&TrainConfig::box_weight, 0.0)},
        {"conf_weight", DoubleField(&TrainConfig::conf_weight, 0.0)},
        {"mask_weight", DoubleField(&TrainConfig::mask_weight, 0.0)},
        {"semantic_weight", DoubleField(&TrainConfig::semantic_weight, 0.0)},
        {"maskiou_weight", DoubleField(&TrainConfig::maskiou_weight, 0.0)},
        {"ohem_neg_pos_ratio", DoubleField(&TrainConfig::ohem_neg_pos_ratio, 0.0)},
        {"focal_alpha", DoubleField(&TrainConfig::focal_alpha, 0.0, 1.0)},
        {"focal_gamma", DoubleField(&TrainConfig::focal_gamma, 0.0, 10.0)},
        {"focal_init_pi", DoubleField(&TrainConfig::focal_init_pi, 1e-6, 0.5)},
        {"ghm_bins", IntField(&TrainConfig::ghm_bins, 1, 1000)},
        {"ghm_momentum", DoubleField(&TrainConfig::ghm_momentum, 0.0, 0.999)},
        {"masks_to_train", IntField(&TrainConfig::masks_to_train, 1)},
        {"optimizer",
         EnumField<OptimizerType>(&TrainConfig::optimizer,
                                  {{"sgd", OptimizerType::kSgd}, {"adamw", OptimizerType::kAdamW}},
                                  &OptimizerName)},
        {"lr", DoubleField(&TrainConfig::lr, 0.0, 1e9)},
        {"momentum", DoubleField(&TrainConfig::momentum, 0.0, 0.999)},
        {"weight_decay", DoubleField(&TrainConfig::weight_decay, 0.0, 1.0)},
        {"batch_size", IntField(&TrainConfig::batch_size, 1, 1024)},
        {"max_steps", IntField(&TrainConfig::max_steps, 1)},
        {"warmup_steps", IntField(&TrainConfig::warmup_steps, 0)},
        {"warmup_factor", DoubleField(&TrainConfig::warmup_factor, 0.0, 1.0)},
        {"lr_steps",
         {[](TrainConfig& c, const std::string& k, const std::string& v) -> Status {
            std::vector<int> steps;
            for (absl::string_view part : absl::StrSplit(v, ',', absl::SkipEmpty())) {
              ABLATE_ASSIGN_OR_RETURN(int s, ParseInt(k, std::string(part)));
              if (s < 1 || (!steps.empty() && s <= steps.back())) {
                return BadValue(k, v, "increasing positive steps, comma-separated");
              }
              steps.push_back(s);
            }
            c.lr_steps = steps;
            return absl::OkStatus();
          },
          [](const TrainConfig& c) {
            std::string s;
            for (int x : c.lr_steps) absl::StrAppend(&s, s.empty() ? "" : ",", x);
            return json(s);
          }}},
        {"lr_gamma", DoubleField(&TrainConfig::lr_gamma, 0.0, 1.0)},
        {"lr_schedule",
         EnumField<LrSchedule>(&TrainConfig::lr_schedule,
                               {{"step", LrSchedule::kStep}, {"cosine", LrSchedule::kCosine}},
                               &LrScheduleName)},
        {"lr_final_factor", DoubleField(&TrainConfig::lr_final_factor, 0.0, 1.0)},
        {"grad_clip", DoubleField(&TrainConfig::grad_clip, 0.0)},
        {"seed", IntField(&TrainConfig::seed, 0)},
        {"num_workers", IntField(&TrainConfig::num_workers, 0, 64)},
        {"prefetch_batches", IntField(&TrainConfig::prefetch_batches, 1, 256)},
        {"augment",
         {[](TrainConfig& c, const std::string& k, const std::string& v) -> Status {
            if (v != "reference" && v != "flip8" && v != "none") {
              return absl::InvalidArgumentError(
                  "--set " + k + "=" + v + ": unknown augment (one of: reference, flip8, none)");
            }
            c.augment = v;
            return absl::OkStatus();
          },
          [](const TrainConfig& c) { return json(c.augment); }}},
        {"init_from",
         {[](TrainConfig& c, const std::string&, const std::string& v) -> Status {
            c.init_from = v;
            return absl::OkStatus();
          },
          [](const TrainConfig& c) { return json(c.init_from); }}},
        {"init_sha256",
         {[](TrainConfig& c, const std::string& k, const std::string& v) -> Status {
            if (!v.empty() &&
                (v.size() != 64 || v.find_first_not_of("0123456789abcdef") != std::string::npos)) {
              return BadValue(k, v, "64 lowercase hex digits (a sha256) or empty");
            }
            c.init_sha256 = v;
            return absl::OkStatus();
          },
          [](const TrainConfig& c) { return json(c.init_sha256); }}},
        {"checkpoint_every", IntField(&TrainConfig::checkpoint_every, 0)},
        {"keep_checkpoints", IntField(&TrainConfig::keep_checkpoints, 1)},
        {"score_threshold", DoubleField(&TrainConfig::score_threshold, 0.0, 1.0)},
        {"nms_iou", DoubleField(&TrainConfig::nms_iou, 0.0, 1.0)},
        {"nms_top_k", IntField(&TrainConfig::nms_top_k, 1)},
        {"max_detections", IntField(&TrainConfig::max_detections, 1)},
        {"nms", EnumField<NmsType>(&TrainConfig::nms,
                                   {{"fast", NmsType::kFast}, {"standard", NmsType::kStandard}},
                                   &NmsName)},
        {"cross_class_nms",
         {[](TrainConfig& c, const std::string& k, const std::string& v) -> Status {
            ABLATE_ASSIGN_OR_RETURN(c.cross_class_nms, ParseBool(k, v));
            return absl::OkStatus();
          },
          [](const TrainConfig& c) { return json(c.cross_class_nms); }}},
    };
    for (const std::string& key : ModelKnobKeys()) {
      fields->emplace(key,
                      Field{[](TrainConfig& c, const std::string& k, const std::string& v) {
                              return SetModelKnob(c.model, k, v);
                            },
                            [key](const TrainConfig& c) { return GetModelKnob(c.model, key); }});
    }
    return fields;
  }();
  return *fields;
}

}  // namespace

std::string ConfLossName(ConfLoss loss) {
  switch (loss) {
    case ConfLoss::kCe:
      return "ce";
    case ConfLoss::kOhem:
      return "ohem";
    case ConfLoss::kFocalSigmoid:
      return "focal_sigmoid";
    case ConfLoss::kFocalSoftmax:
      return "focal_softmax";
    case ConfLoss::kGhmC:
      return "ghm_c";
  }
  return "?";
}
std::string BoxLossName(BoxLoss loss) { return loss == BoxLoss::kCiou ? "ciou" : "smooth_l1"; }
std::string OptimizerName(OptimizerType o) { return o == OptimizerType::kAdamW ? "adamw" : "sgd"; }
std::string NmsName(NmsType n) { return n == NmsType::kStandard ? "standard" : "fast"; }
std::string LrScheduleName(LrSchedule s) { return s == LrSchedule::kCosine ? "cosine" : "step"; }

bool UsesSigmoidScores(ConfLoss loss) {
  return loss == ConfLoss::kFocalSigmoid || loss == ConfLoss::kGhmC;
}

Status TrainConfig::ParseOverride(const std::string& key, const std::string& value) {
  const auto& fields = Fields();
  auto it = fields.find(key);
  if (it == fields.end()) {
    return absl::InvalidArgumentError("--set " + key + "=" + value + ": unknown key '" + key +
                                      "' (see `ablate-train run --help` for the list)");
  }
  return it->second.set(*this, key, value);
}

Status TrainConfig::ParseAssignment(const std::string& assignment) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    return absl::InvalidArgumentError("--set " + assignment + ": expected KEY=VALUE");
  }
  return ParseOverride(assignment.substr(0, eq), assignment.substr(eq + 1));
}

Status TrainConfig::Validate() const {
  if (neg_threshold >= pos_threshold) {
    return absl::InvalidArgumentError(absl::StrCat(
        "neg_threshold (", neg_threshold, ") must be below pos_threshold (", pos_threshold, ")"));
  }
  if (warmup_steps > 0 && !(warmup_factor > 0)) {
    return absl::InvalidArgumentError("warmup_factor: must be > 0 when warmup_steps > 0");
  }
  if (conf_loss == ConfLoss::kGhmC && ghm_bins < 1) {
    return absl::InvalidArgumentError("ghm_bins: must be >= 1");
  }
  if (!init_sha256.empty() && init_from.empty()) {
    return absl::InvalidArgumentError("init_sha256: set without init_from");
  }
  return model.Validate();
}

std::vector<std::string> OverrideKeys() {
  std::vector<std::string> keys;
  for (const auto& [k, f] : Fields()) keys.push_back(k);
  return keys;
}

StatusOr<TrainConfig> TrainPreset(const std::string& name) {
  TrainConfig c;
  ABLATE_ASSIGN_OR_RETURN(c.model, ModelPreset(name));
  c.preset = name;
  if (name == "tiny") {
    // Sized for the acceptance budget, 10 minutes on 2 CPU cores (docs/detector.md has the
    // measurements): AdamW reached 3-4x the AP of SGD at equal steps (lr 2e-3 better than 1e-3
    // and 4e-3; batch 8 better per image than batch 4); 3000 steps of the tiny network take
    // ~575 s on an idle 2-core VM, and the cosine tail is flat, so a run cut a little short by
    // a slower machine loses little.
    c.optimizer = OptimizerType::kAdamW;
    c.lr = 2e-3;
    c.batch_size = 8;
    c.max_steps = 3000;
    c.warmup_steps = 200;
    c.lr_schedule = LrSchedule::kCosine;
    c.lr_steps = {};
    c.augment = "flip8";
    c.checkpoint_every = 1000;
  }
  return c;
}

nlohmann::json TrainConfigToJson(const TrainConfig& config) {
  json j = json::object();
  for (const auto& [k, f] : Fields()) {
    if (IsModelKnob(k)) continue;  // inside "model"
    j[k] = f.get(config);
  }
  j["preset"] = config.preset;
  j["model"] = ModelConfigToJson(config.model);
  return j;
}

StatusOr<TrainConfig> TrainConfigFromJson(const nlohmann::json& j) {
  TrainConfig c;
  if (!j.is_object()) return absl::InvalidArgumentError("train config JSON: not an object");
  for (const auto& [k, v] : j.items()) {
    if (k == "model") {
      ABLATE_ASSIGN_OR_RETURN(c.model, ModelConfigFromJson(v));
    } else if (k == "preset") {
      c.preset = v.get<std::string>();
    } else {
      ABLATE_RETURN_IF_ERROR(c.ParseOverride(k, v.is_string() ? v.get<std::string>() : v.dump()));
    }
  }
  return c;
}

}  // namespace ablate::detector
