// The size limits a client-sent sweep spec meets (issue 13, "Hostile input"): alias bombs, cyclic
// and deep documents, and grids or random searches with too many trials.
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "sweepspec/sweep_spec.h"
#include "sweepspec/trial_expansion.h"
#include "sweepspec/yaml_json.h"

namespace ablate::sweepspec {
namespace {

constexpr char kBase[] = R"(name: t
base: {preset: tiny, set: {lr: 0.001}}
data: {train: a.json, val: b.json}
budget: {steps: 100}
)";

// The values 0..n-1 as a flow list.
std::string Values(int n) {
  std::string out = "[";
  for (int i = 0; i < n; ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(i);
  }
  return out + "]";
}

TEST(SweepLimitsTest, AliasBombIsRefusedBeforeExpansion) {
  // Six levels of ten aliases each: 10^6 leaves from a ~400-byte document.
  std::string yaml = std::string(kBase) + "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int level = 1; level <= 5; ++level) {
    const std::string prev = absl::StrCat("*l", level - 1);
    absl::StrAppend(&yaml, "l", level, ": &l", level, " [");
    for (int i = 0; i < 10; ++i) {
      if (i > 0) yaml += ", ";
      yaml += prev;
    }
    yaml += "]\n";
  }
  auto r = ParseSweepSpec(yaml, "bomb.yaml");
  ASSERT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
  EXPECT_EQ(r.status().message(),
            "bomb.yaml: YAML expands to more than 100000 nodes (the node limit; each use of an "
            "alias counts its anchor's nodes again)");
}

TEST(SweepLimitsTest, AliasBombInASetOverrideIsRefused) {
  std::string bomb = "[&a [x, x, x, x, x, x, x, x, x, x]";
  std::string level = "*a";
  for (int i = 0; i < 5; ++i) {
    std::string next = "[";
    for (int k = 0; k < 10; ++k) {
      if (k > 0) next += ", ";
      next += level;
    }
    level = next + "]";
  }
  absl::StrAppend(&bomb, ", ", level, "]");
  auto r = ParseSweepSpec(kBase, "t.yaml", {SpecOverride{"base.set.lr", bomb}});
  ASSERT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
  EXPECT_NE(r.status().message().find("more than 100000 nodes"), std::string::npos);
}

TEST(SweepLimitsTest, CyclicAliasIsRefusedInsteadOfRecursingForever) {
  // yaml-cpp resolves *a inside its own anchor to the sequence itself: a[1] is a.
  auto r = ParseSweepSpec(std::string(kBase) + "a: &a [1, *a]\n", "cycle.yaml");
  ASSERT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
  EXPECT_EQ(r.status().message(),
            "cycle.yaml: YAML nests deeper than 64 levels (the nesting limit; aliases included)");
}

// Found by fuzz_sweep_yaml: a byte that is not UTF-8 in a data path reached
// nlohmann::json::dump (the trial fingerprint), which threw type_error 316 and ended the process.
TEST(SweepLimitsTest, TextThatIsNotUtf8IsRefused) {
  const std::string yaml =
      "name: t\nbase: {preset: tiny}\ndata: {train: \"traiM-\xC9n.json\", val: b.json}\n"
      "budget: {steps: 1}\n";
  auto r = ParseSweepSpec(yaml, "utf8.yaml");
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_EQ(r.status().message(), "utf8.yaml: YAML text is not valid UTF-8: 'traiM-\\xC9n.json'");
  // An escape in a double-quoted scalar is a code point, written as UTF-8: accepted.
  auto escaped = ParseSweepSpec(
      "name: t\nbase: {preset: tiny}\ndata: {train: \"caf\\xE9.json\", val: b.json}\n"
      "budget: {steps: 1}\n",
      "utf8.yaml");
  ASSERT_TRUE(escaped.ok()) << escaped.status();
  EXPECT_EQ(escaped->train_path, "caf\xC3\xA9.json");
}

TEST(SweepLimitsTest, DeepNestingIsRefused) {
  std::string yaml = std::string(kBase) + "deep: " + std::string(100, '[') + std::string(100, ']');
  auto r = ParseSweepSpec(yaml, "deep.yaml");
  ASSERT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
  EXPECT_EQ(r.status().message(),
            "deep.yaml: YAML nests deeper than 64 levels (the nesting limit; aliases included)");
}

TEST(SweepLimitsTest, CheckYamlDocumentAcceptsTheLimitItself) {
  // A flat sequence of kMaxYamlNodes - 1 items plus the sequence node: exactly the limit.
  std::string yaml = "[";
  for (int64_t i = 0; i + 1 < kMaxYamlNodes; ++i) yaml += i ? ",1" : "1";
  yaml += "]";
  EXPECT_TRUE(CheckYamlDocument(YAML::Load(yaml)).ok());
  EXPECT_EQ(CheckYamlDocument(YAML::Load(yaml.substr(0, yaml.size() - 1) + ",1]")).code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(SweepLimitsTest, BillionCellGridIsRefusedWithItsSize) {
  std::string yaml = std::string(kBase) + "parameters:\n";
  for (int i = 0; i < 9; ++i) absl::StrAppend(&yaml, "  p", i, ": ", Values(10), "\n");
  auto spec = ParseSweepSpec(yaml, "grid.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status();
  auto r = ExpandTrials(*spec);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_EQ(r.status().message(),
            "sweep 't': the grid has more than 10000 cells (the trials-per-sweep limit; the value "
            "lists multiply to 1000000000); split it into smaller sweeps");
}

TEST(SweepLimitsTest, GridProductPast64BitsSaturates) {
  std::string yaml = std::string(kBase) + "parameters:\n";
  for (int i = 0; i < 20; ++i) absl::StrAppend(&yaml, "  p", i, ": ", Values(10), "\n");
  auto r = ExpandTrials(*ParseSweepSpec(yaml, "grid.yaml"));
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_NE(r.status().message().find("the value lists multiply past 2^64"), std::string::npos);
}

TEST(SweepLimitsTest, GridAtTheLimitExpandsAndOneRowMoreDoesNot) {
  const std::string at_limit =
      std::string(kBase) + "parameters:\n  a: " + Values(100) + "\n  b: " + Values(100) + "\n";
  auto ok = ExpandTrials(*ParseSweepSpec(at_limit, "grid.yaml"));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->trials.size(), 10000u);
  const std::string over =
      std::string(kBase) + "parameters:\n  a: " + Values(101) + "\n  b: " + Values(100) + "\n";
  auto r = ExpandTrials(*ParseSweepSpec(over, "grid.yaml"));
  EXPECT_NE(r.status().message().find("multiply to 10100"), std::string::npos) << r.status();
}

TEST(SweepLimitsTest, ConditionsCountOnlyTheCellsTheyCreate) {
  // The value lists multiply to 3 x 10 x 1000 = 30000, over the limit; but b applies only when
  // a == 0 and c only when b == 0, so the grid has 2 + 9 + 1000 = 1011 cells and is accepted.
  const std::string yaml = std::string(kBase) + "parameters:\n  a: [0, 1, 2]\n" +
                           "  b: {values: " + Values(10) + ", when: {a: [0]}}\n" +
                           "  c: {values: " + Values(1000) + ", when: {b: [0]}}\n";
  auto r = ExpandTrials(*ParseSweepSpec(yaml, "grid.yaml"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->trials.size(), 1011u);
}

TEST(SweepLimitsTest, RandomSearchTrialsAreCapped) {
  const std::string yaml = std::string(kBase) +
                           "search: {mode: random, seed: 1, trials: 10001}\n"
                           "parameters:\n  lr: {loguniform: [0.0001, 0.1]}\n";
  auto r = ParseSweepSpec(yaml, "random.yaml");
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find(
                "search.trials: must be <= 10000 (the trials-per-sweep limit), got 10001"),
            std::string::npos)
      << r.status();
  // A value past 32 bits must not wrap around to a small count.
  auto huge = ParseSweepSpec(yaml.substr(0, yaml.find("10001")) + "4294967301}\n" +
                                 "parameters:\n  lr: {loguniform: [0.0001, 0.1]}\n",
                             "random.yaml");
  EXPECT_NE(huge.status().message().find("got 4294967301"), std::string::npos) << huge.status();
}

}  // namespace
}  // namespace ablate::sweepspec
