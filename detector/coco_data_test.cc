// Real COCO data as a new user has it: annotations/ plus two image folders (train2017/,
// val2017/), non-contiguous category ids, crowd RLE annotations, images without annotations,
// grayscale and CMYK JPEGs, EXIF orientation, and missing files. The images are written here
// (OpenCV; libjpeg for CMYK; the EXIF segment by hand) with flat colours and rectangles, so every
// expected value below follows from how they were drawn.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

// jpeglib.h needs FILE and size_t declared first.
#include <jpeglib.h>

#include "detector/data.h"
#include "detector/image_file.h"
#include "detector/tool_runner_test_util.h"
#include "detector/train.h"
#include "nlohmann/json.hpp"

namespace ablate::detector {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kW = 64, kH = 48;  // stored size of every test image

void WriteBytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

void WriteJpeg(const fs::path& path, const cv::Mat& bgr_or_gray) {
  ASSERT_TRUE(cv::imwrite(path.string(), bgr_or_gray, {cv::IMWRITE_JPEG_QUALITY, 100}));
}

// A JPEG with an EXIF APP1 segment holding only the Orientation tag (0x0112), inserted after
// the JFIF APP0 segment OpenCV writes.
void WriteJpegWithOrientation(const fs::path& path, const cv::Mat& bgr, int orientation) {
  std::vector<uchar> jpeg;
  ASSERT_TRUE(cv::imencode(".jpg", bgr, jpeg, {cv::IMWRITE_JPEG_QUALITY, 100}));
  ASSERT_EQ(jpeg[2], 0xFF);
  ASSERT_EQ(jpeg[3], 0xE0);  // APP0
  const size_t app0_end = 4 + ((static_cast<size_t>(jpeg[4]) << 8) | jpeg[5]);
  const std::vector<uchar> app1 = {0xFF, 0xE1,
                                   0x00, 34,  // APP1, length 34
                                   'E',  'x',
                                   'i',  'f',
                                   0,    0,  // EXIF header
                                   'M',  'M',
                                   0x00, 0x2A,
                                   0,    0,
                                   0,    8,     // TIFF header, IFD0 at 8
                                   0x00, 0x01,  // one entry
                                   0x01, 0x12,
                                   0x00, 0x03,
                                   0,    0,
                                   0,    1,  // Orientation, SHORT, count 1
                                   0x00, static_cast<uchar>(orientation),
                                   0x00, 0x00,  // value
                                   0,    0,
                                   0,    0};  // no next IFD
  jpeg.insert(jpeg.begin() + static_cast<std::ptrdiff_t>(app0_end), app1.begin(), app1.end());
  WriteBytes(path, std::string(jpeg.begin(), jpeg.end()));
}

// A CMYK JPEG (libjpeg, Adobe marker) in Adobe's inverted convention (255 = no ink), as
// Photoshop and Pillow write them: the left half red (no cyan, full magenta and yellow), the
// right half blue (full cyan and magenta, no yellow), no black anywhere.
void WriteCmykJpeg(const fs::path& path) {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr jerr;
  cinfo.err = jpeg_std_error(&jerr);
  jpeg_create_compress(&cinfo);
  unsigned char* mem = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &mem, &size);
  cinfo.image_width = kW;
  cinfo.image_height = kH;
  cinfo.input_components = 4;
  cinfo.in_color_space = JCS_CMYK;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, 100, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  std::vector<unsigned char> row(kW * 4);
  for (int x = 0; x < kW; ++x) {
    const bool red = x < kW / 2;
    unsigned char* p = &row[x * 4];
    p[0] = red ? 255 : 0;  // C (inverted)
    p[1] = 0;              // M
    p[2] = red ? 0 : 255;  // Y
    p[3] = 255;            // K
  }
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW r = row.data();
    jpeg_write_scanlines(&cinfo, &r, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  WriteBytes(path, std::string(reinterpret_cast<char*>(mem), size));
  std::free(mem);
}

cv::Mat Flat(cv::Scalar bgr) { return cv::Mat(kH, kW, CV_8UC3, bgr); }

json Image(int id, int width = kW, int height = kH) {
  char name[32];
  std::snprintf(name, sizeof name, "%012d.jpg", id);
  return {{"id", id}, {"file_name", name}, {"width", width}, {"height", height}};
}

// Rectangle [x, y, w, h] as a polygon annotation.
json Rect(int id, int image_id, int category_id, int x, int y, int w, int h) {
  return {{"id", id},
          {"image_id", image_id},
          {"category_id", category_id},
          {"bbox", {x, y, w, h}},
          {"area", w * h},
          {"iscrowd", 0},
          {"segmentation", json::array({json::array({x, y, x + w, y, x + w, y + h, x, y + h})})}};
}

// Crowd rectangle as an uncompressed RLE (column-major runs, starting with zeros), as COCO
// stores crowds.
json CrowdRect(int id, int image_id, int category_id, int x, int y, int w, int h) {
  std::vector<int> counts;
  int run = 0;
  bool value = false;
  for (int c = 0; c < kW; ++c) {
    for (int r = 0; r < kH; ++r) {
      const bool v = c >= x && c < x + w && r >= y && r < y + h;
      if (v != value) {
        counts.push_back(run);
        run = 0;
        value = v;
      }
      ++run;
    }
  }
  counts.push_back(run);
  return {{"id", id},
          {"image_id", image_id},
          {"category_id", category_id},
          {"bbox", {x, y, w, h}},
          {"area", w * h},
          {"iscrowd", 1},
          {"segmentation", {{"size", {kH, kW}}, {"counts", counts}}}};
}

json Categories() {
  return json::array({{{"id", 90}, {"name", "toothbrush"}},
                      {{"id", 1}, {"name", "person"}},
                      {{"id", 18}, {"name", "dog"}}});
}

class CocoTreeTest : public ::testing::Test {
 protected:
  // root/annotations/instances_{train,val}.json, root/train2017/, root/val2017/.
  static void SetUpTestSuite() {
    torch::set_num_threads(1);  // see train_test.cc
    root_ = new fs::path(fs::temp_directory_path() / ("ablate_coco_" + std::to_string(getpid())));
    fs::remove_all(*root_);
    for (const char* d : {"annotations", "train2017", "val2017"})
      fs::create_directories(*root_ / d);
    const fs::path train = *root_ / "train2017", val = *root_ / "val2017";
    const cv::Scalar gray(128, 128, 128), red(0, 0, 255), white(255, 255, 255);

    json images = json::array(), annotations = json::array();
    // 1: colour, one toothbrush (90) and a crowd of dogs (18).
    cv::Mat img = Flat(gray);
    cv::rectangle(img, cv::Rect(8, 8, 24, 16), red, cv::FILLED);
    WriteJpeg(train / "000000000001.jpg", img);
    images.push_back(Image(1));
    annotations.push_back(Rect(10, 1, 90, 8, 8, 24, 16));
    annotations.push_back(CrowdRect(11, 1, 18, 40, 30, 16, 16));
    // 2: grayscale file (one channel), a dog at value 200 on 50.
    cv::Mat g(kH, kW, CV_8UC1, cv::Scalar(50));
    cv::rectangle(g, cv::Rect(20, 10, 24, 20), cv::Scalar(200), cv::FILLED);
    WriteJpeg(train / "000000000002.jpg", g);
    images.push_back(Image(2));
    annotations.push_back(Rect(20, 2, 18, 20, 10, 24, 20));
    // 3: CMYK file, the red left half is a person.
    WriteCmykJpeg(train / "000000000003.jpg");
    images.push_back(Image(3));
    annotations.push_back(Rect(30, 3, 1, 0, 0, kW / 2, kH));
    // 4, 5: stored 64x48 with a white block at the stored top-left, EXIF orientation 6 ("rotate
    // 90 degrees clockwise to display"). 4 is annotated upright (48x64: the block at the top
    // right), 5 on the stored grid (64x48: the block at the top left).
    img = Flat(gray);
    cv::rectangle(img, cv::Rect(0, 0, 16, 16), white, cv::FILLED);
    WriteJpegWithOrientation(train / "000000000004.jpg", img, 6);
    WriteJpegWithOrientation(train / "000000000005.jpg", img, 6);
    images.push_back(Image(4, kH, kW));
    annotations.push_back(Rect(40, 4, 1, kH - 16, 0, 16, 16));
    images.push_back(Image(5));
    annotations.push_back(Rect(50, 5, 1, 0, 0, 16, 16));
    // 6: no annotations; 7: only a crowd.
    WriteJpeg(train / "000000000006.jpg", Flat(gray));
    images.push_back(Image(6));
    WriteJpeg(train / "000000000007.jpg", Flat(gray));
    images.push_back(Image(7));
    annotations.push_back(CrowdRect(70, 7, 18, 0, 0, 16, 16));
    train_json_ =
        new json{{"images", images}, {"annotations", annotations}, {"categories", Categories()}};
    WriteBytes(*root_ / "annotations" / "instances_train.json", train_json_->dump());

    // Validation: files only in val2017/, one without annotations.
    img = Flat(gray);
    cv::rectangle(img, cv::Rect(8, 8, 24, 16), red, cv::FILLED);
    WriteJpeg(val / "000000000101.jpg", img);
    WriteJpeg(val / "000000000102.jpg", Flat(gray));
    const json val_json = {{"images", json::array({Image(101), Image(102)})},
                           {"annotations", json::array({Rect(1010, 101, 90, 8, 8, 24, 16)})},
                           {"categories", Categories()}};
    WriteBytes(*root_ / "annotations" / "instances_val.json", val_json.dump());
  }
  static void TearDownTestSuite() {
    fs::remove_all(*root_);
    delete root_;
    delete train_json_;
  }

  static fs::path TrainJson() { return *root_ / "annotations" / "instances_train.json"; }
  static fs::path ValJson() { return *root_ / "annotations" / "instances_val.json"; }
  static fs::path TrainImages() { return *root_ / "train2017"; }
  static fs::path ValImages() { return *root_ / "val2017"; }

  static std::shared_ptr<CocoDetectionDataset> Train(bool for_training = true) {
    auto ds = CocoDetectionDataset::Load(TrainJson(), TrainImages(), for_training);
    EXPECT_TRUE(ds.ok()) << ds.status();
    return ds.ok() ? *ds : nullptr;
  }
  static size_t IndexOf(const CocoDetectionDataset& ds, coco::ImageId id) {
    for (size_t i = 0; i < ds.size(); ++i) {
      if (ds.image_info(i).id == id) return i;
    }
    ADD_FAILURE() << "image " << id << " not in the set";
    return 0;
  }
  static RawSample Decode(coco::ImageId id) {
    auto ds = Train(/*for_training=*/false);
    auto s = ds->Get(IndexOf(*ds, id));
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : RawSample{};
  }

  static fs::path* root_;
  static json* train_json_;
};
fs::path* CocoTreeTest::root_ = nullptr;
json* CocoTreeTest::train_json_ = nullptr;

void ExpectPixel(const cv::Mat& rgb, int x, int y, cv::Vec3b expected, int tolerance) {
  const cv::Vec3b p = rgb.at<cv::Vec3b>(y, x);
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(p[c], expected[c], tolerance)
        << "channel " << c << " at (" << x << ", " << y << ")";
  }
}

TEST_F(CocoTreeTest, TrainingKeepsImagesWithObjectsEvaluationKeepsAll) {
  auto train = Train(/*for_training=*/true);
  std::vector<coco::ImageId> ids;
  for (size_t i = 0; i < train->size(); ++i) ids.push_back(train->image_info(i).id);
  // 6 (no annotations) and 7 (only a crowd) have nothing to learn from.
  EXPECT_EQ(ids, (std::vector<coco::ImageId>{1, 2, 3, 4, 5}));
  EXPECT_EQ(Train(/*for_training=*/false)->size(), 7u);
  auto val = CocoDetectionDataset::Load(ValJson(), ValImages(), false);
  ASSERT_TRUE(val.ok()) << val.status();
  EXPECT_EQ((*val)->size(), 2u);
  EXPECT_TRUE((*val)->CheckImagesExist().ok());
  EXPECT_TRUE(train->CheckImagesExist().ok());
}

TEST_F(CocoTreeTest, NonContiguousCategoryIdsBecomeLabelsInIdOrder) {
  auto train = Train();
  ASSERT_EQ(train->num_classes(), 3);
  EXPECT_EQ(train->CategoryIdOf(0), 1);
  EXPECT_EQ(train->CategoryIdOf(1), 18);
  EXPECT_EQ(train->CategoryIdOf(2), 90);
  EXPECT_EQ(Decode(2).labels, (std::vector<int64_t>{1}));  // dog
  EXPECT_EQ(Decode(3).labels, (std::vector<int64_t>{0}));  // person
}

TEST_F(CocoTreeTest, CrowdAnnotationsAreCrowdBoxesNotTargets) {
  RawSample raw = Decode(1);
  ASSERT_EQ(raw.labels, (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(raw.crowd, (std::vector<bool>{false, true}));
  ASSERT_EQ(raw.masks.size(), 2u);
  EXPECT_EQ(cv::countNonZero(raw.masks[1]), 16 * 16);
  EXPECT_EQ(cv::boundingRect(raw.masks[1]), cv::Rect(40, 30, 16, 16));
  std::mt19937_64 rng(1);
  AugmentOptions none;
  none.mode = "none";
  Sample s = PrepareSample(std::move(raw), 64, none, &rng);
  ASSERT_EQ(s.targets.labels.size(0), 1);
  EXPECT_EQ(s.targets.labels[0].item<int64_t>(), 2);
  EXPECT_TRUE(torch::allclose(s.targets.boxes,
                              torch::tensor({{8.f / kW, 8.f / kH, 32.f / kW, 24.f / kH}})));
  EXPECT_TRUE(torch::allclose(s.targets.crowd_boxes,
                              torch::tensor({{40.f / kW, 30.f / kH, 56.f / kW, 46.f / kH}})));
}

TEST_F(CocoTreeTest, GrayscaleAndCmykJpegsDecodeToRgb) {
  RawSample gray = Decode(2);
  ASSERT_EQ(gray.image.type(), CV_8UC3);
  ExpectPixel(gray.image, 30, 20, {200, 200, 200}, 2);
  ExpectPixel(gray.image, 2, 2, {50, 50, 50}, 2);
  RawSample cmyk = Decode(3);
  ASSERT_EQ(cmyk.image.type(), CV_8UC3);
  ASSERT_EQ(cmyk.image.size(), cv::Size(kW, kH));
  ExpectPixel(cmyk.image, 8, 20, {255, 0, 0}, 6);   // red, RGB order
  ExpectPixel(cmyk.image, 56, 20, {0, 0, 255}, 6);  // blue
}

TEST_F(CocoTreeTest, ExifOrientationFollowsTheAnnotationSize) {
  // Without an annotation size: upright, as the reference's cv2.imread.
  auto upright = ReadImageRgb(TrainImages() / "000000000004.jpg");
  ASSERT_TRUE(upright.ok()) << upright.status();
  EXPECT_EQ(upright->size(), cv::Size(kH, kW));
  // Annotated upright (48x64): the stored top-left block is at the top right.
  RawSample four = Decode(4);
  ASSERT_EQ(four.image.size(), cv::Size(kH, kW));
  ExpectPixel(four.image, kH - 8, 8, {255, 255, 255}, 4);
  ExpectPixel(four.image, 8, 8, {128, 128, 128}, 4);
  EXPECT_EQ(cv::boundingRect(four.masks[0]), cv::Rect(kH - 16, 0, 16, 16));
  // Annotated on the stored grid (64x48): the block stays at the top left.
  RawSample five = Decode(5);
  ASSERT_EQ(five.image.size(), cv::Size(kW, kH));
  ExpectPixel(five.image, 8, 8, {255, 255, 255}, 4);
  ExpectPixel(five.image, kW - 8, 8, {128, 128, 128}, 4);
}

TEST_F(CocoTreeTest, ImageSizeDisagreeingWithTheAnnotationIsAnError) {
  json bad = *train_json_;
  bad["images"][0]["width"] = 100;
  bad["images"][0]["height"] = 90;
  const fs::path json_path = *root_ / "annotations" / "wrong_size.json";
  WriteBytes(json_path, bad.dump());
  auto ds = CocoDetectionDataset::Load(json_path, TrainImages(), false);
  ASSERT_TRUE(ds.ok()) << ds.status();
  auto s = (*ds)->Get(IndexOf(**ds, 1));
  ASSERT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.status().message(),
            "image " + (TrainImages() / "000000000001.jpg").string() +
                " is 64x48 (64x48 upright), the annotation says 100x90 (image id 1 of " +
                json_path.string() + ")");
}

TEST_F(CocoTreeTest, MissingImageIsAnErrorNamingTheFileAndTheAnnotationFile) {
  // The training annotations pointed at the validation folder: nothing there.
  auto ds = CocoDetectionDataset::Load(TrainJson(), ValImages(), true);
  ASSERT_TRUE(ds.ok()) << ds.status();
  const std::string missing = (ValImages() / "000000000001.jpg").string();
  Status all = (*ds)->CheckImagesExist();
  ASSERT_EQ(all.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(all.message(), "missing image " + missing + " (listed in " + TrainJson().string() +
                               "; 5 of 5 images missing from " + ValImages().string() + ")");
  auto one = (*ds)->Get(0);
  ASSERT_EQ(one.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(one.status().message(),
            "missing image " + missing + " (image id 1 of " + TrainJson().string() + ")");
}

TEST_F(CocoTreeTest, TrainsAndEvaluatesFromTwoImageFolders) {
  auto config = TrainPreset("tiny");
  ASSERT_TRUE(config.ok());
  ASSERT_TRUE(config->ParseOverride("image_size", "64").ok());
  config->batch_size = 2;
  config->num_workers = 1;
  config->max_steps = 2;
  config->augment = "reference";  // crops and expands the crowd and oriented images too
  TrainOptions o;
  o.train_json = TrainJson();
  o.val_json = ValJson();
  o.train_image_dir = TrainImages();
  o.val_image_dir = ValImages();
  o.out_dir = *root_ / "run";
  o.log_every = 0;
  o.gallery_images = 2;
  auto r = ::ablate::detector::Train(*config, o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, "finished");
  ASSERT_TRUE(r->eval.has_value());
  EXPECT_EQ(r->eval->num_images, 2);  // the image without annotations is evaluated too
  ASSERT_TRUE(r->eval->gallery.has_value());
  EXPECT_EQ(r->eval->gallery->images.size(), 2u);

  // Today's default (next to the JSON) for the validation set: it fails before training,
  // naming the file and the annotation file, and writes no checkpoint.
  o.val_image_dir.clear();
  o.out_dir = *root_ / "run-default-val";
  auto missing = ::ablate::detector::Train(*config, o);
  ASSERT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "missing image " + (*root_ / "annotations" / "000000000101.jpg").string() +
                " (listed in " + ValJson().string() + "; 2 of 2 images missing from " +
                (*root_ / "annotations").string() + ")");
  EXPECT_FALSE(fs::exists(o.out_dir) && !fs::is_empty(o.out_dir));

  // A validation file with other category ids: its labels would mean other classes.
  json other = *train_json_;
  other["categories"][0]["id"] = 91;
  for (auto& a : other["annotations"]) {
    if (a["category_id"] == 90) a["category_id"] = 91;
  }
  const fs::path other_json = *root_ / "annotations" / "other_categories.json";
  WriteBytes(other_json, other.dump());
  o.val_json = other_json;
  o.val_image_dir = TrainImages();
  auto mismatch = ::ablate::detector::Train(*config, o);
  ASSERT_EQ(mismatch.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(mismatch.status().message(), other_json.string() + " has category ids [1, 18, 91], " +
                                             TrainJson().string() +
                                             " [1, 18, 90]: labels would not match");
}

using tool_test::CommandResult;
using tool_test::RunTool;

TEST_F(CocoTreeTest, CommandLineTakesTrainImagesAndValImages) {
  const fs::path out = *root_ / "cli";
  fs::create_directories(out);
  CommandResult run =
      RunTool("run --device cpu --train " + TrainJson().string() + " --train-images " +
                  TrainImages().string() + " --val " + ValJson().string() + " --val-images " +
                  ValImages().string() +
                  " --steps 1 --set image_size=64 --set batch_size=2 --gallery 0 --json --out " +
                  out.string(),
              out);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json result = json::parse(run.out);
  EXPECT_EQ(result["status"], "finished");
  EXPECT_TRUE(result.contains("bbox"));  // evaluated on val2017/
  const std::string ckpt = result["checkpoint_path"].get<std::string>();

  CommandResult eval =
      RunTool("eval --device cpu --checkpoint " + ckpt + " --val " + ValJson().string() +
                  " --val-images " + ValImages().string() + " --gallery 0 --json",
              out);
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_EQ(json::parse(eval.out)["num_images"], 2);

  // Without --val-images the images are looked for next to the JSON: exit 2, the file named.
  CommandResult missing = RunTool(
      "eval --device cpu --checkpoint " + ckpt + " --val " + ValJson().string() + " --gallery 0",
      out);
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(
      missing.err.find("missing image " + (*root_ / "annotations" / "000000000101.jpg").string() +
                       " (listed in " + ValJson().string()),
      std::string::npos)
      << missing.err;
}

}  // namespace
}  // namespace ablate::detector
