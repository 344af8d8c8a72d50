// Runs every evaluation of ../shared/coco-vectors and the real val2014 subset in
// ../shared/coco-real against pycocotools' numbers (absolute tolerance 1e-9), with 1 and 2
// threads (results must be bit-identical).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "coco/dataset.h"
#include "coco/evaluator.h"
#include "coco/results.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tbb/global_control.h"

namespace ablate::coco {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr double kTol = 1e-9;
const char kVectorsDir[] = "../shared/coco-vectors";
const char kRealDir[] = "../shared/coco-real";

json ReadJson(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str());
}

std::vector<fs::path> CaseDirs() {
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(kVectorsDir)) {
    if (e.is_directory() && fs::exists(e.path() / "expected.json")) dirs.push_back(e.path());
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

struct Outcome {
  Status status;
  CocoEvalResult result;
};

Outcome RunEvaluation(const CocoDataset& gt, const fs::path& dets_path, const json& ev,
                      int threads) {
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
  Outcome out;
  StatusOr<std::vector<Detection>> dets = ReadDetectionsFile(dets_path.string());
  if (!dets.ok()) {
    out.status = dets.status();
    return out;
  }
  const std::string transform = ev.at("dets_transform");
  if (transform == "pop_bbox") {
    for (auto& d : *dets) d.has_bbox = false;
  } else if (transform == "drop_segmentation") {
    for (auto& d : *dets) d.segmentation = Segmentation{};
  } else if (transform == "drop_unknown_images") {
    std::erase_if(*dets, [&](const Detection& d) { return gt.FindImage(d.image_id) == nullptr; });
  } else if (transform == "empty_results") {
    dets->clear();
  } else {
    EXPECT_EQ(transform, "none");
  }
  StatusOr<CocoResults> res = CocoResults::FromDetections(*std::move(dets), gt);
  if (!res.ok()) {
    out.status = res.status();
    return out;
  }
  CocoEvalParams params;
  params.iou_type = ev.at("iouType") == "segm" ? IouType::kSegm : IouType::kBbox;
  const json& p = ev.at("params");
  params.use_cats = p.at("useCats").get<int>() != 0;
  params.max_dets = p.at("maxDets").get<std::vector<int>>();
  if (p.at("imgIds").is_array()) params.img_ids = p.at("imgIds").get<std::vector<ImageId>>();
  if (p.at("catIds").is_array()) params.cat_ids = p.at("catIds").get<std::vector<CategoryId>>();
  StatusOr<CocoEvalResult> r = EvaluateCoco(gt, *res, params);
  if (!r.ok()) {
    out.status = r.status();
  } else {
    out.result = *std::move(r);
  }
  return out;
}

TEST(CocoVectorsTest, AllCasesMatchPycocotools) {
  const std::vector<fs::path> dirs = CaseDirs();
  ASSERT_EQ(dirs.size(), 26u) << "expected the 26 cases of " << kVectorsDir;
  int evaluations = 0, errors = 0, numbers = 0, bit_exact = 0;
  for (const fs::path& dir : dirs) {
    const json expected = ReadJson(dir / "expected.json");
    StatusOr<CocoDataset> gt = CocoDataset::LoadFile((dir / "gt.json").string());
    ASSERT_TRUE(gt.ok()) << dir << ": " << gt.status();
    for (const json& ev : expected.at("evaluations")) {
      const std::string name = dir.filename().string() + "/" + ev.at("name").get<std::string>();
      SCOPED_TRACE(name);
      ++evaluations;
      const Outcome one = RunEvaluation(*gt, dir / "dets.json", ev, 1);
      if (ev.contains("error")) {
        ++errors;
        EXPECT_EQ(one.status.code(), absl::StatusCode::kInvalidArgument) << one.status;
        continue;
      }
      ASSERT_TRUE(one.status.ok()) << one.status;
      const std::vector<double> stats = ev.at("stats");
      for (int i = 0; i < kNumCocoStats; ++i) {
        EXPECT_NEAR(one.result.stats[i], stats[i], kTol) << "stat " << kCocoStatNames[i];
        ++numbers;
        if (one.result.stats[i] == stats[i]) ++bit_exact;
      }
      const json& pc = ev.at("per_category");
      const std::vector<CategoryId> cat_ids = pc.at("catIds");
      const std::vector<double> ap = pc.at("ap"), ap50 = pc.at("ap50"), ar = pc.at("ar");
      ASSERT_EQ(one.result.per_category.size(), cat_ids.size());
      for (size_t k = 0; k < cat_ids.size(); ++k) {
        EXPECT_EQ(one.result.per_category[k].category_id, cat_ids[k]);
        EXPECT_NEAR(one.result.per_category[k].ap, ap[k], kTol) << "ap of " << cat_ids[k];
        EXPECT_NEAR(one.result.per_category[k].ap50, ap50[k], kTol) << "ap50 of " << cat_ids[k];
        EXPECT_NEAR(one.result.per_category[k].ar, ar[k], kTol) << "ar of " << cat_ids[k];
        numbers += 3;
        bit_exact += (one.result.per_category[k].ap == ap[k]) +
                     (one.result.per_category[k].ap50 == ap50[k]) +
                     (one.result.per_category[k].ar == ar[k]);
      }
      const Outcome two = RunEvaluation(*gt, dir / "dets.json", ev, 2);
      ASSERT_TRUE(two.status.ok()) << two.status;
      for (int i = 0; i < kNumCocoStats; ++i) {
        EXPECT_EQ(one.result.stats[i], two.result.stats[i]) << "thread count changed a stat";
      }
    }
  }
  // Beyond the 1e-9 contract: means are summed in numpy's order (pairwise, 8192-element
  // buffers), so every number equals the oracle's to the last bit. A failure here alone (with
  // the 1e-9 checks passing) means the summation order drifted, not a logic bug.
  std::printf("%d evaluations, %d expected errors; %d of %d numbers bit-identical to pycocotools\n",
              evaluations, errors, bit_exact, numbers);
  EXPECT_EQ(bit_exact, numbers);
  EXPECT_GE(evaluations, 50);
  EXPECT_EQ(errors, 3);
}

TEST(CocoVectorsTest, ErrorsNameTheProblem) {
  const fs::path p04 = fs::path(kVectorsDir) / "p04_dets_on_unknown_image";
  StatusOr<CocoDataset> gt = CocoDataset::LoadFile((p04 / "gt.json").string());
  ASSERT_TRUE(gt.ok());
  StatusOr<CocoResults> res = CocoResults::LoadFile((p04 / "dets.json").string(), *gt);
  ASSERT_EQ(res.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(res.status().message()).find("not in the ground truth images"),
            std::string::npos)
      << res.status();

  StatusOr<CocoResults> empty = CocoResults::FromDetections({}, *gt);
  EXPECT_NE(std::string(empty.status().message()).find("results list is empty"), std::string::npos);

  const fs::path p21 = fs::path(kVectorsDir) / "p21_segm_polygon_dets_and_bbox_masks";
  StatusOr<CocoDataset> gt21 = CocoDataset::LoadFile((p21 / "gt.json").string());
  ASSERT_TRUE(gt21.ok());
  StatusOr<std::vector<Detection>> dets = ReadDetectionsFile((p21 / "dets.json").string());
  ASSERT_TRUE(dets.ok());
  for (auto& d : *dets) d.has_bbox = false;
  StatusOr<CocoResults> poly = CocoResults::FromDetections(*std::move(dets), *gt21);
  EXPECT_NE(std::string(poly.status().message()).find("polygon segmentation"), std::string::npos)
      << poly.status();

  EXPECT_EQ(CocoDataset::LoadFile("../shared/no-such-file.json").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(CocoDataset::Parse(R"({"images": [{"id": 1}], "annotations": [{"id": 1}]})")
                .status()
                .message(),
            "COCO ground truth: annotations[0]: missing 'image_id'");
}

void CheckReal(IouType type, const std::string& dets_file, const std::string& key) {
  const json expected = ReadJson(fs::path(kRealDir) / "expected.json");
  StatusOr<CocoDataset> gt =
      CocoDataset::LoadFile((fs::path(kRealDir) / "instances_val2014_100.json").string());
  ASSERT_TRUE(gt.ok()) << gt.status();
  StatusOr<CocoResults> res = CocoResults::LoadFile((fs::path(kRealDir) / dets_file).string(), *gt);
  ASSERT_TRUE(res.ok()) << res.status();
  CocoEvalParams params;
  params.iou_type = type;
  for (int threads : {1, 2}) {
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
    StatusOr<CocoEvalResult> r = EvaluateCoco(*gt, *res, params);
    ASSERT_TRUE(r.ok()) << r.status();
    const std::vector<double> stats = expected.at(key).at("stats");
    for (int i = 0; i < kNumCocoStats; ++i) {
      EXPECT_NEAR(r->stats[i], stats[i], kTol) << key << " " << kCocoStatNames[i];
      EXPECT_EQ(r->stats[i], stats[i]) << "not bit-identical: " << key << " " << kCocoStatNames[i];
    }
    EXPECT_EQ(r->summary_text, expected.at(key).at("summarize_text").get<std::string>());
  }
}

TEST(CocoRealTest, BboxVal2014Subset) {
  CheckReal(IouType::kBbox, "instances_val2014_fakebbox100_results.json", "bbox");
}

TEST(CocoRealTest, SegmVal2014Subset) {
  CheckReal(IouType::kSegm, "instances_val2014_fakesegm100_results.json", "segm");
}

}  // namespace
}  // namespace ablate::coco
