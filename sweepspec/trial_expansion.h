// Expands a validated SweepSpec into concrete trials.
//
// Grid mode: the cartesian product of the parameters in declaration order; paired keys move
// together; a parameter whose `when` condition does not hold in a branch is left unset there
// (so conditional parameters never multiply trials they do not apply to). Random mode: `trials`
// draws from a seeded generator (same seed, same trials, on every machine).
//
// Constraints are checked on each trial's merged settings before anything runs. Grid trials
// that violate one are dropped and counted; random draws that violate one are redrawn. A
// constraint naming a key the trial does not set (a conditional parameter) is not applied.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "sweepspec/sweep_spec.h"

namespace ablate::sweepspec {

struct Trial {
  int index = 0;                                     // 0-based, in expansion order
  nlohmann::json params = nlohmann::json::object();  // the swept keys of this trial only
  nlohmann::json set = nlohmann::json::object();     // base.set merged with params
  EvalSettings eval;  // the spec's eval settings with any swept `eval.*` parameter applied
  // What identifies the trial's result: {"preset", "set", "data" (SweepDataJson),
  // "start_from", "steps", "eval"} and, with a trainer, "trainer" (its command template, output
  // and iou). Two trials with equal effective configs are the same
  // experiment.
  nlohmann::json effective_config;
  std::string fingerprint;  // ConfigFingerprint(effective_config)
};

struct TrialExpansion {
  std::vector<Trial> trials;
  int dropped_by_constraints = 0;  // grid combinations removed by a constraint
};

// Checks one trial's merged `set` (e.g. against the detector's training-config keys); its
// error is reported with the trial's parameters.
using TrialConfigValidator = std::function<Status(const nlohmann::json& set)>;

// InvalidArgument when no trial is left after constraints, when a random search cannot draw
// `trials` valid trials in 100x as many attempts, when two grid trials are identical, or when
// `validate` rejects a trial (the message names the spec and the trial's parameters).
StatusOr<TrialExpansion> ExpandTrials(const SweepSpec& spec,
                                      const TrialConfigValidator& validate = nullptr);

// True when `set` satisfies the constraint (or does not set one of its keys). InvalidArgument
// when a side is not a number for <, <=, >, >=.
StatusOr<bool> ConstraintHolds(const Constraint& constraint, const nlohmann::json& set);

}  // namespace ablate::sweepspec
