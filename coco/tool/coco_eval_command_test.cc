// Runs the built ablate-coco-eval binary as a real process on the coco-real demo files and
// compares its stdout with pycocotools' summary text in ../shared/coco-real/expected.json.
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace {

struct ProcessResult {
  int exit_code = -1;
  std::string out;
};

std::string BinDir() {
  const char* dir = std::getenv("ABLATE_BIN_DIR");
  return dir ? dir : "build-coco/bin";
}

// The stand-alone ablate-coco-eval, and the full `ablate` CLI when it has been built: both take
// `coco-eval ...`.
std::vector<std::string> Binaries() {
  std::vector<std::string> bins = {BinDir() + "/ablate-coco-eval"};
  if (std::filesystem::exists(BinDir() + "/ablate")) bins.push_back(BinDir() + "/ablate");
  return bins;
}

std::string Binary() { return Binaries()[0]; }

// Runs `args` through the shell with stderr merged into stdout when `merge_stderr`.
ProcessResult RunCli(const std::string& args, bool merge_stderr = false,
                     const std::string& binary = Binary()) {
  const std::string cmd = binary + " coco-eval " + args + (merge_stderr ? " 2>&1" : " 2>/dev/null");
  ProcessResult r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

nlohmann::json Expected() {
  std::ifstream in("../shared/coco-real/expected.json");
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

const std::string kGt = "--gt ../shared/coco-real/instances_val2014_100.json";

TEST(CocoEvalCliTest, BboxSummaryIdenticalToPycocotools) {
  for (const std::string& bin : Binaries()) {
    const ProcessResult r = RunCli(
        kGt + " --dets ../shared/coco-real/instances_val2014_fakebbox100_results.json --iou bbox",
        false, bin);
    EXPECT_EQ(r.exit_code, 0) << bin;
    EXPECT_EQ(r.out, Expected()["bbox"]["summarize_text"].get<std::string>()) << bin;
  }
}

TEST(CocoEvalCliTest, SegmSummaryIdenticalToPycocotools) {
  for (const std::string& bin : Binaries()) {
    const ProcessResult r = RunCli(
        kGt + " --dets ../shared/coco-real/instances_val2014_fakesegm100_results.json --iou segm",
        false, bin);
    EXPECT_EQ(r.exit_code, 0) << bin;
    EXPECT_EQ(r.out, Expected()["segm"]["summarize_text"].get<std::string>()) << bin;
  }
}

TEST(CocoEvalCliTest, JsonHasFullPrecisionStatsAndPerCategory) {
  const ProcessResult r = RunCli(
      kGt +
      " --dets ../shared/coco-real/instances_val2014_fakebbox100_results.json --iou bbox --json"
      " --per-category");
  ASSERT_EQ(r.exit_code, 0);
  const nlohmann::json j = nlohmann::json::parse(r.out);
  const auto expected = Expected()["bbox"]["stats"];
  const char* names[] = {"AP",  "AP50", "AP75",  "APs", "APm", "APl",
                         "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"};
  for (int i = 0; i < 12; ++i) {
    EXPECT_NEAR(j["stats"][names[i]].get<double>(), expected[i].get<double>(), 1e-12) << names[i];
  }
  EXPECT_EQ(j["per_category"].size(), 80u);
}

TEST(CocoEvalCliTest, ErrorsExitNonZeroAndNameTheProblem) {
  ProcessResult r = RunCli(kGt + " --dets ../shared/no-such-results.json --iou bbox", true);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("cannot read results file"), std::string::npos) << r.out;

  r = RunCli(
      "--gt ../shared/coco-vectors/p04_dets_on_unknown_image/gt.json"
      " --dets ../shared/coco-vectors/p04_dets_on_unknown_image/dets.json",
      true);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("not in the ground truth images"), std::string::npos) << r.out;

  r = RunCli(kGt + " --dets x.json --iou keypoints", true);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("--iou"), std::string::npos) << r.out;
}

}  // namespace
