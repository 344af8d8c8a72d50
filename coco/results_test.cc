// The in-memory path the detector uses (binary masks -> EncodeMask -> Detection ->
// CocoResults::FromDetections -> EvaluateCoco) and the results writer, checked against the
// pycocotools numbers of shared vector p25 (mixed segm).
#include "coco/results.h"

#include <fstream>
#include <sstream>
#include <string>

#include "coco/dataset.h"
#include "coco/evaluator.h"
#include "coco/rle.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace ablate::coco {
namespace {

const char kCase[] = "../shared/coco-vectors/p25_mixed_segm";

std::vector<double> ExpectedStats(const std::string& name) {
  std::ifstream in(std::string(kCase) + "/expected.json");
  std::stringstream ss;
  ss << in.rdbuf();
  const nlohmann::json doc = nlohmann::json::parse(ss.str());
  for (const auto& ev : doc["evaluations"]) {
    if (ev["name"] == name) return ev["stats"].get<std::vector<double>>();
  }
  return {};
}

// The detections of p25 as a detector would produce them: a dense column-major mask per
// detection, encoded with EncodeMask.
std::vector<Detection> DetectionsFromDenseMasks() {
  StatusOr<std::vector<Detection>> dets = ReadDetectionsFile(std::string(kCase) + "/dets.json");
  EXPECT_TRUE(dets.ok());
  std::vector<Detection> out;
  for (const Detection& d : *dets) {
    Detection n;
    n.image_id = d.image_id;
    n.category_id = d.category_id;
    n.bbox = d.bbox;
    n.score = d.score;
    const std::vector<uint8_t> dense = DecodeMask(d.segmentation.rle);
    n.segmentation.kind = Segmentation::Kind::kRle;
    n.segmentation.rle = EncodeMask(dense.data(), d.segmentation.rle.h, d.segmentation.rle.w);
    out.push_back(std::move(n));
  }
  return out;
}

TEST(InMemoryResultsTest, DenseMasksGivePycocotoolsSegmStats) {
  StatusOr<CocoDataset> gt = CocoDataset::LoadFile(std::string(kCase) + "/gt.json");
  ASSERT_TRUE(gt.ok());
  StatusOr<CocoResults> res = CocoResults::FromDetections(DetectionsFromDenseMasks(), *gt);
  ASSERT_TRUE(res.ok()) << res.status();
  CocoEvalParams params;
  params.iou_type = IouType::kSegm;
  StatusOr<CocoEvalResult> r = EvaluateCoco(*gt, *res, params);
  ASSERT_TRUE(r.ok()) << r.status();
  const std::vector<double> expected = ExpectedStats("segm");
  ASSERT_EQ(expected.size(), 12u);
  for (int i = 0; i < 12; ++i) EXPECT_NEAR(r->stats[i], expected[i], 1e-9) << i;
}

TEST(InMemoryResultsTest, GroundTruthFromPartsMatchesFile) {
  StatusOr<CocoDataset> file = CocoDataset::LoadFile(std::string(kCase) + "/gt.json");
  ASSERT_TRUE(file.ok());
  StatusOr<CocoDataset> parts =
      CocoDataset::FromParts(file->images(), file->categories(), file->annotations());
  ASSERT_TRUE(parts.ok());
  StatusOr<CocoResults> res = CocoResults::FromDetections(DetectionsFromDenseMasks(), *parts);
  ASSERT_TRUE(res.ok());
  StatusOr<CocoEvalResult> r = EvaluateCoco(*parts, *res);
  ASSERT_TRUE(r.ok());
  const std::vector<double> expected = ExpectedStats("bbox");
  for (int i = 0; i < 12; ++i) EXPECT_NEAR(r->stats[i], expected[i], 1e-9) << i;

  std::vector<ImageInfo> dup = file->images();
  dup.push_back(dup[0]);
  EXPECT_EQ(CocoDataset::FromParts(dup, file->categories(), {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ResultsWriterTest, WrittenJsonReadsBackAndScoresTheSame) {
  const std::vector<Detection> dets = DetectionsFromDenseMasks();
  const std::string json = WriteResultsJson(dets);
  StatusOr<std::vector<Detection>> back = ParseDetectionsJson(json);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), dets.size());
  for (size_t i = 0; i < dets.size(); ++i) {
    EXPECT_EQ((*back)[i].image_id, dets[i].image_id);
    EXPECT_EQ((*back)[i].category_id, dets[i].category_id);
    EXPECT_EQ((*back)[i].score, dets[i].score);  // shortest round-trip doubles: exact
    EXPECT_EQ((*back)[i].bbox.x, dets[i].bbox.x);
    EXPECT_EQ((*back)[i].bbox.h, dets[i].bbox.h);
    EXPECT_EQ((*back)[i].segmentation.rle.counts, dets[i].segmentation.rle.counts);
  }
  // Without bboxes the segmentation branch of loadRes applies (segm_pop_bbox).
  std::vector<Detection> no_box = *back;
  for (auto& d : no_box) d.has_bbox = false;
  StatusOr<std::vector<Detection>> back2 = ParseDetectionsJson(WriteResultsJson(no_box));
  ASSERT_TRUE(back2.ok());
  EXPECT_FALSE((*back2)[0].has_bbox);
  StatusOr<CocoDataset> gt = CocoDataset::LoadFile(std::string(kCase) + "/gt.json");
  StatusOr<CocoResults> res = CocoResults::FromDetections(*back2, *gt);
  ASSERT_TRUE(res.ok());
  CocoEvalParams params;
  params.iou_type = IouType::kSegm;
  StatusOr<CocoEvalResult> r = EvaluateCoco(*gt, *res, params);
  ASSERT_TRUE(r.ok());
  const std::vector<double> expected = ExpectedStats("segm_pop_bbox");
  for (int i = 0; i < 12; ++i) EXPECT_NEAR(r->stats[i], expected[i], 1e-9) << i;
}

}  // namespace
}  // namespace ablate::coco

namespace ablate::coco {
namespace {

// Many empty images and categories change nothing in pycocotools' numbers; here they also push
// the evaluator onto its comparison-sort path for bucketing (a sparse key space).
TEST(SparseKeySpaceTest, EmptyImagesAndCategoriesKeepP24Numbers) {
  const std::string dir = "../shared/coco-vectors/p24_mixed_bbox";
  StatusOr<CocoDataset> file = CocoDataset::LoadFile(dir + "/gt.json");
  ASSERT_TRUE(file.ok());
  std::vector<ImageInfo> images = file->images();
  std::vector<CategoryInfo> cats = file->categories();
  for (int i = 0; i < 300; ++i) images.push_back({900000 + i, 64, 64, "empty.jpg"});
  for (int i = 0; i < 400; ++i) cats.push_back({5000 + i, "unused", ""});
  StatusOr<CocoDataset> gt = CocoDataset::FromParts(images, cats, file->annotations());
  ASSERT_TRUE(gt.ok());
  StatusOr<CocoResults> res = CocoResults::LoadFile(dir + "/dets.json", *gt);
  ASSERT_TRUE(res.ok());
  std::ifstream in(dir + "/expected.json");
  std::stringstream ss;
  ss << in.rdbuf();
  const nlohmann::json doc = nlohmann::json::parse(ss.str());
  for (const auto& ev : doc["evaluations"]) {
    CocoEvalParams params;
    params.use_cats = ev["params"]["useCats"].get<int>() != 0;
    StatusOr<CocoEvalResult> r = EvaluateCoco(*gt, *res, params);
    ASSERT_TRUE(r.ok());
    const std::vector<double> expected = ev["stats"];
    for (int i = 0; i < 12; ++i) {
      EXPECT_NEAR(r->stats[i], expected[i], 1e-9) << ev["name"] << " stat " << i;
    }
  }
}

}  // namespace
}  // namespace ablate::coco
