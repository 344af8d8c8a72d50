// The renderer without a model: layout, colours, counts, JPEG encoding, gallery sampling.
#include "detector/render.h"

#include <gtest/gtest.h>

#include <numeric>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

namespace ablate::detector {
namespace {

// A 128x96 grey image with one square object (label 1) at (20, 30)-(60, 70).
struct Scene {
  cv::Mat rgb = cv::Mat(96, 128, CV_8UC3, cv::Scalar(128, 128, 128));
  DrawnObject object;
  Scene() {
    object.label = 1;
    object.box_xyxy = {20, 30, 60, 70};
    object.mask = cv::Mat::zeros(96, 128, CV_8UC1);
    object.mask(cv::Rect(20, 30, 40, 40)).setTo(1);
  }
};

TEST(RenderTest, ClassColoursAreDistinctAndNamesFallBack) {
  std::set<std::tuple<double, double, double>> colours;
  for (int label = 0; label < 20; ++label) {
    const cv::Scalar c = ClassColorBgr(label);
    colours.insert({c[0], c[1], c[2]});
  }
  EXPECT_EQ(colours.size(), 20u);
  EXPECT_EQ(ClassColorBgr(3), ClassColorBgr(23));
  EXPECT_EQ(ClassName({"circle", "square"}, 1), "square");
  EXPECT_EQ(ClassName({"circle", "square"}, 4), "class 5");
  EXPECT_EQ(ClassName({}, 0), "class 1");
}

TEST(RenderTest, SmallImagesAreEnlargedAndMasksBlendedInTheClassColour) {
  Scene scene;
  DrawnObject det = scene.object;
  det.score = 0.87;
  RenderOptions options;
  cv::Mat out = RenderDetections(scene.rgb, {det}, nullptr, "test.png", {"a", "b"}, options);
  ASSERT_EQ(out.type(), CV_8UC3);
  // Short side 96 -> 384: 4x, plus one header line on top.
  EXPECT_EQ(out.cols, 512);
  const int header = out.rows - 384;
  EXPECT_GT(header, 10);
  EXPECT_LT(header, 40);
  // The middle of the object: 55% grey + 45% class colour.
  const cv::Vec3b px = out.at<cv::Vec3b>(header + 50 * 4, 40 * 4);
  const cv::Scalar colour = ClassColorBgr(1);
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(px[c], 0.55 * 128 + 0.45 * colour[c], 2) << c;
  }
  // Away from the object the image is untouched.
  EXPECT_EQ(out.at<cv::Vec3b>(header + 90 * 4 - 2, 120 * 4), cv::Vec3b(128, 128, 128));
}

TEST(RenderTest, GroundTruthPanelCountsMissesAndFalsePositives) {
  Scene scene;
  DrawnObject found = scene.object;
  found.score = 0.9;
  DrawnObject wrong_class = scene.object;
  wrong_class.label = 0;
  wrong_class.score = 0.5;
  DrawnObject far = scene.object;
  far.box_xyxy = {80, 10, 120, 40};
  far.score = 0.4;
  DrawnObject missed = scene.object;
  missed.box_xyxy = {70, 50, 110, 90};
  missed.mask = cv::Mat::zeros(96, 128, CV_8UC1);
  missed.mask(cv::Rect(70, 50, 40, 40)).setTo(1);
  DrawnObject crowd = missed;
  crowd.crowd = true;
  std::vector<DrawnObject> gt = {scene.object, missed, crowd};
  RenderSummary summary;
  cv::Mat out = RenderDetections(scene.rgb, {found, wrong_class, far}, &gt, "image 7", {"a", "b"},
                                 RenderOptions(), &summary);
  EXPECT_EQ(summary.detections, 3);
  EXPECT_EQ(summary.ground_truth, 2);  // the crowd region is not counted
  EXPECT_EQ(summary.missed, 1);
  EXPECT_EQ(summary.false_positives, 2);
  EXPECT_EQ(out.cols, 2 * 512 + 6);  // [prediction | ground truth]
}

TEST(RenderTest, LargeImagesShrinkAndEncodeAsJpeg) {
  cv::Mat big(1500, 3000, CV_8UC3, cv::Scalar(10, 200, 30));
  cv::Mat out = RenderDetections(big, {}, nullptr, "big", {}, RenderOptions());
  EXPECT_EQ(out.cols, 1024);
  auto jpeg = EncodeJpeg(out, 85);
  ASSERT_TRUE(jpeg.ok()) << jpeg.status();
  EXPECT_EQ(jpeg->substr(0, 2), "\xff\xd8");
  cv::Mat decoded =
      cv::imdecode(std::vector<uint8_t>(jpeg->begin(), jpeg->end()), cv::IMREAD_COLOR);
  EXPECT_EQ(decoded.size(), out.size());
  EXPECT_FALSE(EncodeJpeg(cv::Mat(), 85).ok());
}

TEST(RenderTest, GallerySampleIsFixedAndIndependentOfOrder) {
  std::vector<int64_t> ids;
  for (int64_t i = 1; i <= 200; ++i) ids.push_back(i * 3);
  const std::vector<int64_t> a = SelectGalleryImageIds(ids, 8, 0);
  ASSERT_EQ(a.size(), 8u);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  std::vector<int64_t> reversed(ids.rbegin(), ids.rend());
  EXPECT_EQ(SelectGalleryImageIds(reversed, 8, 0), a);
  EXPECT_NE(SelectGalleryImageIds(ids, 8, 1), a);
  // Not simply the first ids.
  EXPECT_NE(a, std::vector<int64_t>(ids.begin(), ids.begin() + 8));
  // The choice must never change (galleries are compared across runs and builds): values from
  // an independent Python implementation of splitmix64 ranking.
  std::vector<int64_t> one_to_200(200);
  std::iota(one_to_200.begin(), one_to_200.end(), 1);
  EXPECT_EQ(SelectGalleryImageIds(one_to_200, 8, 0),
            (std::vector<int64_t>{1, 18, 43, 47, 58, 136, 145, 170}));
  EXPECT_EQ(SelectGalleryImageIds({5, 6}, 8, 0), (std::vector<int64_t>{5, 6}));
  EXPECT_TRUE(SelectGalleryImageIds(ids, 0, 0).empty());
}

}  // namespace
}  // namespace ablate::detector
