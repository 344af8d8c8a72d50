#include "sweepspec/early_stop_spec.h"

#include <gtest/gtest.h>

#include "sweepspec/sweep_spec.h"

namespace ablate::sweepspec {
namespace {

constexpr char kBase[] = R"(name: es
base: {preset: tiny}
data: {train: t.json, val: v.json}
budget: {steps: 1800, eval_every: 100}
parameters:
  lr: [0.001, 0.002, 0.004]
)";

std::string WithEarlyStop(const std::string& early_stop) {
  return std::string(kBase) + "early_stop: " + early_stop + "\n";
}

std::string ErrorOf(const std::string& yaml) {
  auto r = ParseSweepSpec(yaml, "spec.yaml");
  EXPECT_FALSE(r.ok()) << "parsed: " << yaml;
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(r.status().message());
}

TEST(EarlyStopSpecTest, ParsesTheIssuesAshaForm) {
  auto r = ParseSweepSpec(WithEarlyStop("{method: asha, metric: segm.AP, mode: max, "
                                        "grace_steps: 200, reduction_factor: 3}"),
                          "spec.yaml");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->early_stop.has_value());
  const EarlyStopSpec& es = *r->early_stop;
  EXPECT_EQ(es.method, EarlyStopMethod::kAsha);
  EXPECT_EQ(es.iou_type, "segm");
  EXPECT_EQ(es.stat_index, 0);
  EXPECT_TRUE(es.maximize);
  EXPECT_EQ(es.grace_steps, 200);
  EXPECT_EQ(es.reduction_factor, 3);
  EXPECT_EQ(es.MetricName(), "segm.AP");
}

TEST(EarlyStopSpecTest, ParsesMedianWithDefaults) {
  auto r = ParseSweepSpec(WithEarlyStop("{method: median, metric: bbox.AR100, grace_steps: 300}"),
                          "spec.yaml");
  ASSERT_TRUE(r.ok()) << r.status();
  const EarlyStopSpec& es = *r->early_stop;
  EXPECT_EQ(es.method, EarlyStopMethod::kMedian);
  EXPECT_EQ(es.iou_type, "bbox");
  EXPECT_EQ(es.stat_index, 8);  // AR100 is pycocotools' stats[8]
  EXPECT_TRUE(es.maximize);     // mode defaults to max
  EXPECT_EQ(es.min_trials, 3);
}

TEST(EarlyStopSpecTest, NoEarlyStopByDefault) {
  auto r = ParseSweepSpec(kBase, "spec.yaml");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->early_stop.has_value());
}

TEST(EarlyStopSpecTest, ClearErrors) {
  EXPECT_EQ(ErrorOf(WithEarlyStop("{method: hyperband, metric: segm.AP, grace_steps: 100}")),
            "spec.yaml:7: early_stop.method: expected asha or median, got 'hyperband'");
  EXPECT_EQ(ErrorOf(WithEarlyStop("{method: asha, metric: mask.AP, grace_steps: 100}")),
            "spec.yaml:7: early_stop.metric: 'mask.AP' must start with bbox. or segm. (e.g. "
            "segm.AP)");
  EXPECT_EQ(ErrorOf(WithEarlyStop("{method: asha, metric: segm.ap, grace_steps: 100}")),
            "spec.yaml:7: early_stop.metric: 'ap' is not a COCO stat (expected one of: AP, AP50, "
            "AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl)");
  EXPECT_EQ(ErrorOf(WithEarlyStop("{method: asha, metric: segm.AP, mode: best, grace_steps: 100}")),
            "spec.yaml:7: early_stop.mode: expected max or min, got 'best'");
  EXPECT_EQ(ErrorOf(WithEarlyStop("{method: asha, metric: segm.AP, grace_steps: 0}")),
            "spec.yaml:7: early_stop.grace_steps: must be >= 1, got 0");
  EXPECT_EQ(ErrorOf(WithEarlyStop("{method: asha, metric: segm.AP}")),
            "spec.yaml: early_stop.grace_steps: missing required key");
  EXPECT_EQ(ErrorOf(WithEarlyStop(
                "{method: asha, metric: segm.AP, grace_steps: 100, reduction_factor: 1}")),
            "spec.yaml:7: early_stop.reduction_factor: must be >= 2, got 1");
  EXPECT_EQ(ErrorOf(WithEarlyStop(
                "{method: median, metric: segm.AP, grace_steps: 100, reduction_factor: 3}")),
            "spec.yaml:7: early_stop.reduction_factor: applies to method asha only");
  EXPECT_EQ(ErrorOf(WithEarlyStop("{method: asha, metric: segm.AP, grace_steps: 100, eta: 3}")),
            "spec.yaml:7: early_stop.eta: unknown key (expected one of: grace_steps, method, "
            "metric, min_trials, mode, reduction_factor)");
  EXPECT_EQ(ErrorOf(WithEarlyStop("asha")),
            "spec.yaml:7: early_stop: expected {method: asha|median, metric: segm.AP, mode: max, "
            "grace_steps: N, ...}, got 'asha'");
}

TEST(EarlyStopSpecTest, RungsMustFallOnEvaluatedSteps) {
  EXPECT_EQ(ErrorOf(WithEarlyStop("{method: asha, metric: segm.AP, grace_steps: 150}")),
            "spec.yaml:7: early_stop.grace_steps: must be a multiple of budget.eval_every (100) "
            "so that every rung is an evaluated step, got 150");
  EXPECT_EQ(ErrorOf(WithEarlyStop("{method: asha, metric: segm.AP, grace_steps: 1800}")),
            "spec.yaml:7: early_stop.grace_steps: must be below budget.steps (1800), or no trial "
            "could ever be stopped");
  std::string no_eval = WithEarlyStop("{method: asha, metric: segm.AP, grace_steps: 100}");
  no_eval.replace(no_eval.find(", eval_every: 100"), 16, "");
  EXPECT_EQ(ErrorOf(no_eval),
            "spec.yaml:7: early_stop: needs budget.eval_every > 0: trials are compared at their "
            "evaluations");
}

TEST(EarlyStopSpecTest, RefusesSweptEvalSettings) {
  std::string spec = std::string(kBase) + "  eval.score_threshold: [0.05, 0.01]\n" +
                     "early_stop: {method: asha, metric: segm.AP, grace_steps: 100}\n";
  EXPECT_EQ(ErrorOf(spec),
            "spec.yaml:8: early_stop: cannot be combined with the parameter "
            "'eval.score_threshold': trials evaluated with different settings are not comparable");
}

TEST(EarlyStopSpecTest, JsonRoundTrip) {
  EarlyStopSpec a;
  a.method = EarlyStopMethod::kAsha;
  a.iou_type = "segm";
  a.stat_index = 1;
  a.maximize = false;
  a.grace_steps = 200;
  a.reduction_factor = 4;
  EXPECT_EQ(EarlyStopToJson(a).dump(),
            R"({"grace_steps":200,"method":"asha","metric":"segm.AP50","mode":"min",)"
            R"("reduction_factor":4})");
  auto back = EarlyStopFromJson(EarlyStopToJson(a));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->method, EarlyStopMethod::kAsha);
  EXPECT_EQ(back->MetricName(), "segm.AP50");
  EXPECT_FALSE(back->maximize);
  EXPECT_EQ(back->grace_steps, 200);
  EXPECT_EQ(back->reduction_factor, 4);

  EarlyStopSpec m;
  m.method = EarlyStopMethod::kMedian;
  m.grace_steps = 100;
  m.min_trials = 2;
  auto mb = EarlyStopFromJson(EarlyStopToJson(m));
  ASSERT_TRUE(mb.ok()) << mb.status();
  EXPECT_EQ(mb->method, EarlyStopMethod::kMedian);
  EXPECT_EQ(mb->min_trials, 2);
  EXPECT_EQ(EarlyStopFromJson(nlohmann::json{{"method", "asha"}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ablate::sweepspec
