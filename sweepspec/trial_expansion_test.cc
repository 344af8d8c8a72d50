#include "sweepspec/trial_expansion.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <set>

namespace ablate::sweepspec {
namespace {

constexpr char kBase[] = R"(name: t
base: {preset: tiny, set: {conf_loss: ce, lr: 0.001}}
data: {train: a.json, val: b.json}
budget: {steps: 100}
)";

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  return s.replace(pos, from.size(), to);
}

SweepSpec Parse(const std::string& extra) {
  auto r = ParseSweepSpec(std::string(kBase) + extra, "t.yaml");
  EXPECT_TRUE(r.ok()) << r.status();
  return *r;
}

TEST(TrialExpansionTest, PairedAndConditionalGrid) {
  // 4 threshold pairs x (ce, focal with 2 alphas) = 4 x 3 = 12 trials.
  auto spec = Parse(R"(parameters:
  [pos_threshold, neg_threshold]: {values: [[0.5, 0.4], [0.5, 0.2], [0.6, 0.4], [1.1, 0.7]]}
  conf_loss: {values: [ce, focal]}
  focal_alpha: {values: [0.25, 0.75], when: {conf_loss: focal}}
constraints: ["neg_threshold < pos_threshold"]
)");
  auto r = ExpandTrials(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->trials.size(), 12u);
  EXPECT_EQ(r->dropped_by_constraints, 0);
  int focal = 0;
  std::set<std::string> fingerprints;
  for (const auto& t : r->trials) {
    fingerprints.insert(t.fingerprint);
    EXPECT_EQ(t.set["lr"], 0.001);  // base values are kept
    if (t.set["conf_loss"] == "focal") {
      ++focal;
      EXPECT_TRUE(t.set.contains("focal_alpha"));
    } else {
      EXPECT_FALSE(t.set.contains("focal_alpha")) << t.set.dump();
    }
  }
  EXPECT_EQ(focal, 8);
  EXPECT_EQ(fingerprints.size(), 12u);
  // First trial follows declaration order: the first pair, then ce.
  EXPECT_EQ(r->trials[0].params["pos_threshold"], 0.5);
  EXPECT_EQ(r->trials[0].params["neg_threshold"], 0.4);
  EXPECT_EQ(r->trials[0].params["conf_loss"], "ce");
  EXPECT_EQ(r->trials[0].effective_config["steps"], 100);
  EXPECT_EQ(r->trials[0].effective_config["data"]["train"], "a.json");
}

TEST(TrialExpansionTest, ConstraintsDropGridCombinations) {
  auto spec = Parse(R"(parameters:
  pos_threshold: [0.5, 0.6]
  neg_threshold: [0.4, 0.55, 0.7]
constraints: ["neg_threshold < pos_threshold"]
)");
  auto r = ExpandTrials(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  // (0.5,0.4) (0.6,0.4) (0.6,0.55) survive; 3 of 6 dropped.
  EXPECT_EQ(r->trials.size(), 3u);
  EXPECT_EQ(r->dropped_by_constraints, 3);
}

TEST(TrialExpansionTest, AllTrialsViolatingIsAnError) {
  auto spec = Parse(R"(parameters:
  [pos_threshold, neg_threshold]: {values: [[0.4, 0.5]]}
constraints: ["neg_threshold < pos_threshold"]
)");
  auto r = ExpandTrials(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message()).find("violates a constraint"), std::string::npos);
}

TEST(TrialExpansionTest, DuplicateGridValuesAreAnError) {
  auto spec = Parse("parameters:\n  lr: [0.01, 0.01]\n");
  auto r = ExpandTrials(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message()).find("duplicates an earlier trial"),
            std::string::npos);
}

TEST(TrialExpansionTest, RandomSearchIsSeededAndInRange) {
  std::string params = R"(search: {mode: random, seed: 7, trials: 20}
parameters:
  lr: {loguniform: [0.0001, 0.01]}
  focal_gamma: {uniform: [1.0, 3.0]}
  conf_loss: {choice: [focal, ce]}
)";
  auto a = ExpandTrials(Parse(params));
  auto b = ExpandTrials(Parse(params));
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(a->trials.size(), 20u);
  std::set<std::string> losses;
  for (size_t i = 0; i < a->trials.size(); ++i) {
    EXPECT_EQ(a->trials[i].fingerprint, b->trials[i].fingerprint);
    double lr = a->trials[i].set["lr"];
    EXPECT_GE(lr, 0.0001);
    EXPECT_LT(lr, 0.01);
    double g = a->trials[i].set["focal_gamma"];
    EXPECT_GE(g, 1.0);
    EXPECT_LT(g, 3.0);
    losses.insert(a->trials[i].set["conf_loss"]);
  }
  EXPECT_EQ(losses.size(), 2u);
  auto c = ExpandTrials(Parse(std::string(params).replace(params.find("seed: 7"), 7, "seed: 8")));
  ASSERT_TRUE(c.ok());
  EXPECT_NE(a->trials[0].fingerprint, c->trials[0].fingerprint);
}

TEST(TrialExpansionTest, RandomSearchRedrawsViolations) {
  auto spec = Parse(R"(search: {mode: random, seed: 1, trials: 10}
parameters:
  pos_threshold: {uniform: [0.3, 0.7]}
  neg_threshold: {uniform: [0.2, 0.6]}
constraints: ["neg_threshold < pos_threshold"]
)");
  auto r = ExpandTrials(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  for (const auto& t : r->trials) {
    EXPECT_LT(t.set["neg_threshold"].get<double>(), t.set["pos_threshold"].get<double>());
  }
}

TEST(TrialExpansionTest, ValidatorErrorNamesTheTrial) {
  auto spec = Parse("parameters:\n  conf_loss: [ce, fokal]\n");
  auto r = ExpandTrials(spec, [](const nlohmann::json& set) -> Status {
    if (set["conf_loss"] == "fokal") return absl::InvalidArgumentError("unknown conf_loss 'fokal'");
    return absl::OkStatus();
  });
  ASSERT_FALSE(r.ok());
  std::string msg(r.status().message());
  EXPECT_NE(msg.find("\"conf_loss\":\"fokal\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown conf_loss 'fokal'"), std::string::npos) << msg;
}

TEST(TrialExpansionTest, FingerprintIgnoresKeyOrder) {
  auto a = ExpandTrials(Parse("parameters:\n  lr: [0.01]\n"));
  auto spec_b = ParseSweepSpec(R"(name: other-name
base: {set: {lr: 0.001, conf_loss: ce}, preset: tiny}
data: {val: b.json, train: a.json}
budget: {steps: 100}
parameters:
  lr: [0.01]
)",
                               "b.yaml");
  ASSERT_TRUE(spec_b.ok()) << spec_b.status();
  auto b = ExpandTrials(*spec_b);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->trials[0].fingerprint, b->trials[0].fingerprint);
}

// Image folders are part of the experiment, but a spec without them keeps the data record (and
// so the fingerprint) it had before the keys existed.
TEST(TrialExpansionTest, ImageFoldersEnterTheConfigOnlyWhenGiven) {
  auto plain = ExpandTrials(Parse(""));
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->trials[0].effective_config["data"],
            nlohmann::json::parse(R"({"train": "a.json", "val": "b.json"})"));
  auto spec = ParseSweepSpec(Replace(kBase, "data: {train: a.json, val: b.json}",
                                     "data: {train: a.json, val: b.json, train_images: tr, "
                                     "val_images: va}"),
                             "t.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status();
  auto with = ExpandTrials(*spec);
  ASSERT_TRUE(with.ok()) << with.status();
  EXPECT_EQ(
      with->trials[0].effective_config["data"],
      nlohmann::json::parse(
          R"({"train": "a.json", "val": "b.json", "train_images": "tr", "val_images": "va"})"));
  EXPECT_NE(with->trials[0].fingerprint, plain->trials[0].fingerprint);
}

TEST(TrialExpansionTest, EveryShippedSpecExpands) {
  for (const auto& entry : std::filesystem::directory_iterator("sweeps")) {
    if (entry.path().extension() != ".yaml") continue;
    auto spec = LoadSweepSpecFile(entry.path().string());
    ASSERT_TRUE(spec.ok()) << spec.status();
    auto r = ExpandTrials(*spec);
    EXPECT_TRUE(r.ok()) << entry.path() << ": " << r.status();
  }
}

}  // namespace
}  // namespace ablate::sweepspec
