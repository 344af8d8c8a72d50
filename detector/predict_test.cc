// Looking at predictions: `Predict` and `ablate-train predict` on a briefly trained tiny model
// (bad inputs included), and what every evaluation stores besides the COCO tables (detection
// counts, results size, the gallery) in the worker's `evaluation` events.
#include "detector/predict.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "detector/shapes.h"
#include "detector/tool_runner_test_util.h"
#include "detector/tools/event_stream.h"
#include "detector/train.h"

namespace ablate::detector {
namespace {

namespace fs = std::filesystem;

using tool_test::CommandResult;
using tool_test::RunTool;

class PredictTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    torch::set_num_threads(1);  // see train_test.cc: OpenMP spins on a shared 2-core machine
    dir_ = new fs::path(fs::temp_directory_path() / ("ablate_predict_" + std::to_string(getpid())));
    ShapesOptions o;
    o.train_images = 16;
    o.val_images = 6;
    o.image_size = 64;
    o.seed = 5;
    ASSERT_TRUE(WriteShapesDataset(*dir_, o).ok());
    auto c = TrainPreset("tiny");
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c->ParseOverride("image_size", "64").ok());
    c->batch_size = 4;
    c->num_workers = 1;
    c->warmup_steps = 2;
    c->max_steps = 10;
    TrainOptions t;
    t.train_json = *dir_ / "train.json";
    t.out_dir = *dir_ / "run";
    t.log_every = 0;
    t.evaluate = false;
    auto r = Train(*c, t);
    ASSERT_TRUE(r.ok()) << r.status();
    checkpoint_ = new fs::path(r->checkpoint_path);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete checkpoint_;
  }
  // A copy of the validation set whose second image file holds garbage.
  static fs::path CorruptedValSet(const std::string& name) {
    const fs::path d = *dir_ / name;
    fs::create_directories(d / "images");
    fs::copy_file(*dir_ / "val.json", d / "val.json");
    for (const auto& e : fs::directory_iterator(*dir_ / "images")) {
      const std::string f = e.path().filename().string();
      if (f.rfind("val_", 0) == 0) fs::copy_file(e.path(), d / "images" / f);
    }
    std::ofstream(d / "images" / "val_000001.png", std::ios::binary | std::ios::trunc)
        << "\x89PNG\r\n\x1a\n truncated, not an image";
    return d / "val.json";
  }
  static fs::path* dir_;
  static fs::path* checkpoint_;
};
fs::path* PredictTest::dir_ = nullptr;
fs::path* PredictTest::checkpoint_ = nullptr;

TEST_F(PredictTest, CheckpointStoresClassNames) {
  auto ck = LoadCheckpoint(*checkpoint_, torch::kCPU);
  ASSERT_TRUE(ck.ok()) << ck.status();
  EXPECT_EQ(ck->meta.class_names,
            (std::vector<std::string>{"circle", "square", "triangle", "cross"}));
}

TEST_F(PredictTest, UndecodableImageIsSkippedAndReportedOthersWritten) {
  const fs::path val = CorruptedValSet("corrupt_lib");
  auto ck = LoadCheckpoint(*checkpoint_, torch::kCPU);
  ASSERT_TRUE(ck.ok()) << ck.status();
  PredictOptions o;
  o.images = val;
  o.out_dir = *dir_ / "predict_lib";
  o.score_threshold = 0.05;  // a barely trained model: low scores, still something to draw
  o.top_k = 5;
  std::vector<std::string> logged;
  o.log = [&](const std::string& line) { logged.push_back(line); };
  auto r = Predict(*ck->model, ck->meta, o, torch::kCPU);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->skipped.size(), 1u);
  EXPECT_EQ(fs::path(r->skipped[0].file).filename(), "val_000001.png");
  EXPECT_NE(r->skipped[0].reason.find("cannot decode"), std::string::npos) << r->skipped[0].reason;
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_NE(logged[0].find("val_000001.png"), std::string::npos);
  ASSERT_EQ(r->written.size(), 5u);
  int64_t bytes = 0, detections = 0;
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(o.out_dir)) files += e.path().extension() == ".jpg";
  EXPECT_EQ(files, 5u);
  for (const auto& w : r->written) {
    EXPECT_EQ(static_cast<int64_t>(fs::file_size(w.file)), w.bytes);
    EXPECT_GT(w.bytes, 5'000) << w.file;  // 64-px input drawn at 384 px, two panels
    EXPECT_LT(w.bytes, 150'000) << w.file;
    EXPECT_LE(w.detections, 5);
    cv::Mat img = cv::imread(w.file, cv::IMREAD_COLOR);
    ASSERT_FALSE(img.empty()) << w.file;
    EXPECT_EQ(img.cols, 2 * 384 + 6);  // [prediction | ground truth]
    EXPECT_GT(img.rows, 384);          // plus the header
    bytes += w.bytes;
    detections += w.detections;
  }
  EXPECT_EQ(r->bytes, bytes);
  EXPECT_EQ(r->detections, detections);
  EXPECT_TRUE(fs::exists(o.out_dir / "000001.jpg"));  // image id 1 = val_000000.png
  EXPECT_FALSE(fs::exists(o.out_dir / "000002.jpg"));

  // A screenshot-style PNG for people to look at (see docs/detector.md).
  const char* out_dir = std::getenv("ABLATE_TEST_OUTPUT_DIR");
  const fs::path shots = out_dir ? fs::path(out_dir) : fs::path("build/test-output");
  fs::create_directories(shots);
  EXPECT_TRUE(cv::imwrite((shots / "predict_example.png").string(),
                          cv::imread(r->written[0].file, cv::IMREAD_COLOR)));
}

TEST_F(PredictTest, FolderOfImagesWithoutGroundTruth) {
  auto ck = LoadCheckpoint(*checkpoint_, torch::kCPU);
  ASSERT_TRUE(ck.ok()) << ck.status();
  const fs::path folder = *dir_ / "folder_lib";
  fs::create_directories(folder);
  fs::copy_file(*dir_ / "images" / "val_000000.png", folder / "b.png");
  fs::copy_file(*dir_ / "images" / "val_000002.png", folder / "a.PNG");
  std::ofstream(folder / "c.jpg", std::ios::binary) << "\xff\xd8\xff garbage";
  std::ofstream(folder / "notes.txt") << "ignored";
  PredictOptions o;
  o.images = folder;
  o.out_dir = *dir_ / "predict_folder";
  auto r = Predict(*ck->model, ck->meta, o, torch::kCPU);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->written.size(), 2u);
  EXPECT_EQ(fs::path(r->written[0].file).filename(), "a.jpg");  // sorted by name
  EXPECT_EQ(fs::path(r->written[1].file).filename(), "b.jpg");
  cv::Mat img = cv::imread(r->written[0].file);
  EXPECT_EQ(img.cols, 384);  // one panel: no ground truth
  ASSERT_EQ(r->skipped.size(), 1u);
  EXPECT_EQ(r->skipped[0].reason, "cannot decode image");

  o.images = *dir_ / "nope";
  EXPECT_EQ(Predict(*ck->model, ck->meta, o, torch::kCPU).status().code(),
            absl::StatusCode::kNotFound);
  o.images = *dir_ / "images" / "val_000000.png";
  EXPECT_EQ(Predict(*ck->model, ck->meta, o, torch::kCPU).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(PredictTest, ToolReportsSkipsAsJsonAndFailsClearlyOnBadInput) {
  const fs::path val = CorruptedValSet("corrupt_tool");
  const fs::path out = *dir_ / "predict_tool";
  const std::string ck = checkpoint_->string();
  CommandResult ok = RunTool("predict --checkpoint " + ck + " --images " + val.string() +
                                 " --out " + out.string() + " --limit 3 --json",
                             *dir_);
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  const nlohmann::json j = nlohmann::json::parse(ok.out);
  EXPECT_EQ(j.at("images_written"), 2);  // --limit 3: images 0, 1 (corrupt), 2
  ASSERT_EQ(j.at("skipped").size(), 1u);
  EXPECT_EQ(fs::path(j["skipped"][0].at("file").get<std::string>()).filename(), "val_000001.png");
  EXPECT_TRUE(j.contains("detections"));
  EXPECT_GT(j.at("bytes").get<int64_t>(), 0);
  EXPECT_NE(ok.err.find("skipped"), std::string::npos) << ok.err;

  // Nothing decodable -> exit 1, each skipped image named on stderr.
  const fs::path folder = *dir_ / "folder";
  fs::create_directories(folder);
  std::ofstream(folder / "broken.jpg", std::ios::binary) << "\xff\xd8\xff garbage";
  std::ofstream(folder / "notes.txt") << "ignored";
  CommandResult none = RunTool(
      "predict --checkpoint " + ck + " --images " + folder.string() + " --out " + out.string(),
      *dir_);
  EXPECT_EQ(none.exit_code, 1) << none.err;
  EXPECT_NE(none.err.find("broken.jpg: cannot decode image"), std::string::npos) << none.err;
  CommandResult missing = RunTool("predict --checkpoint " + ck + " --images " +
                                      (*dir_ / "nope").string() + " --out " + out.string(),
                                  *dir_);
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("no such file or folder"), std::string::npos) << missing.err;
  std::ofstream(*dir_ / "garbage.pt") << "not a checkpoint";
  CommandResult bad = RunTool("predict --checkpoint " + (*dir_ / "garbage.pt").string() +
                                  " --images " + val.string() + " --out " + out.string(),
                              *dir_);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("reading checkpoint"), std::string::npos) << bad.err;
}

TEST_F(PredictTest, GalleryIsTheSameImagesForEveryEvaluationAndInTheEvents) {
  auto ck = LoadCheckpoint(*checkpoint_, torch::kCPU);
  ASSERT_TRUE(ck.ok()) << ck.status();
  auto val = CocoDetectionDataset::Load(*dir_ / "val.json", "", false);
  ASSERT_TRUE(val.ok()) << val.status();
  std::vector<std::vector<int64_t>> ids;
  std::vector<EvalResult> results;
  for (const double threshold : {0.05, 0.2}) {
    TrainConfig config = ck->meta.config;
    config.score_threshold = threshold;
    EvalOptions eo;
    eo.num_workers = 1;
    eo.gallery.dir = *dir_ / "gallery" / ("st" + std::to_string(threshold));
    eo.gallery.count = 4;
    eo.results_json = *dir_ / ("results" + std::to_string(threshold) + ".json");
    auto r = Evaluate(*ck->model, config, *val, eo, torch::kCPU);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(r->gallery.has_value()) << r->gallery_error;
    EXPECT_TRUE(r->gallery->dir.is_absolute());
    EXPECT_EQ(r->results_bytes, static_cast<int64_t>(fs::file_size(eo.results_json)));
    EXPECT_GE(r->detections_per_image_max * r->num_images, r->num_detections);
    std::vector<int64_t> these;
    for (const auto& g : r->gallery->images) {
      these.push_back(g.image_id);
      const fs::path f = r->gallery->dir / g.file;
      EXPECT_EQ(static_cast<int64_t>(fs::file_size(f)), g.bytes);
      EXPECT_FALSE(cv::imread(f.string()).empty()) << f;
    }
    EXPECT_EQ(these.size(), 4u);
    ids.push_back(these);
    results.push_back(std::move(*r));
  }
  EXPECT_EQ(ids[0], ids[1]);

  // The lines on the wire, as the worker reads them.
  std::vector<nlohmann::json> events;
  for (const auto& e : EvaluationEvents("step0000010", results[0], EvalSettingsForEvents{})) {
    events.push_back(nlohmann::json::parse(protocol::FormatTrialEvent(e)));
  }
  ASSERT_EQ(events.size(), 2u);
  for (const nlohmann::json& e : events) {
    EXPECT_EQ(e.at("detections"), results[0].num_detections);
    EXPECT_EQ(e.at("images"), 6);
    EXPECT_EQ(e.at("detections_per_image_max"), results[0].detections_per_image_max);
    EXPECT_EQ(e.at("results_bytes"), results[0].results_bytes);
    const nlohmann::json& g = e.at("gallery");
    EXPECT_EQ(g.at("dir"), results[0].gallery->dir.string());
    EXPECT_EQ(g.at("seed"), 0);
    ASSERT_EQ(g.at("images").size(), 4u);
    EXPECT_EQ(g["images"][0].at("image_id"), ids[0][0]);
    for (const char* key : {"file", "bytes", "detections"}) {
      EXPECT_TRUE(g["images"][0].contains(key)) << key;
    }
  }
  EXPECT_EQ(events[0].at("gallery"), events[1].at("gallery"));
  // No gallery asked for: no "gallery" key; no results file: results_bytes 0.
  EvalOptions plain;
  plain.num_workers = 1;
  auto r = Evaluate(*ck->model, ck->meta.config, *val, plain, torch::kCPU);
  ASSERT_TRUE(r.ok());
  const auto plain_events = EvaluationEvents("x", *r, EvalSettingsForEvents{});
  const auto plain_line = nlohmann::json::parse(protocol::FormatTrialEvent(plain_events[0]));
  EXPECT_FALSE(plain_line.contains("gallery"));
  EXPECT_EQ(plain_line.at("results_bytes"), 0);
}

// Issue 15: what `ablate-train run|eval --events` really prints is read by the worker's parser
// (protocol/trial_events.h) without a single skipped line.
TEST_F(PredictTest, ToolEventsParseWithTheWorkersParser) {
  const fs::path out = *dir_ / "events_run";
  CommandResult run = RunTool(
      "run --train " + (*dir_ / "train.json").string() + " --val " + (*dir_ / "val.json").string() +
          " --preset tiny --set image_size=64 --set batch_size=4 --set warmup_steps=1 --steps 10"
          " --checkpoint-every 5 --gallery 2 --out " +
          out.string() + " --events",
      *dir_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::vector<protocol::TrialEvent> events;
  std::istringstream lines(run.out);
  for (std::string line; std::getline(lines, line);) {
    auto e = protocol::ParseTrialEvent(line);
    ASSERT_TRUE(e.ok()) << e.status() << "\n" << line;
    events.push_back(*e);
  }
  ASSERT_GE(events.size(), 5u);
  const auto& started = std::get<protocol::StartedEvent>(events.front());
  EXPECT_EQ(started.protocol, protocol::kTrialProtocolVersion);
  EXPECT_EQ(started.step, 0);
  EXPECT_EQ(started.total_steps, 10);
  int metrics = 0, evaluations = 0;
  std::vector<std::string> checkpoints;
  for (const auto& e : events) {
    if (const auto* m = std::get_if<protocol::MetricsEvent>(&e)) {
      ++metrics;
      EXPECT_TRUE(m->values.count("loss"));
      EXPECT_TRUE(m->values.count("lr"));
    }
    if (const auto* c = std::get_if<protocol::CheckpointEvent>(&e)) {
      checkpoints.push_back(c->name);
      EXPECT_EQ(static_cast<int64_t>(fs::file_size(c->path)), c->bytes);
      EXPECT_EQ(c->sha256.size(), 64u);
    }
    if (const auto* v = std::get_if<protocol::EvaluationEvent>(&e)) {
      ++evaluations;
      EXPECT_EQ(v->images, 6);
      ASSERT_TRUE(v->gallery.has_value());
      EXPECT_EQ(v->gallery->images.size(), 2u);
      EXPECT_EQ(v->dataset_fingerprint.rfind("sha256:", 0), 0u);
    }
  }
  EXPECT_GT(metrics, 0);              // under a worker ablate-train logs every 10 steps at most
  ASSERT_GE(checkpoints.size(), 2u);  // steps 5 and 10 at least
  EXPECT_EQ(evaluations, 2);          // bbox and segm of the final checkpoint
  const auto& finished = std::get<protocol::FinishedEvent>(events.back());
  EXPECT_EQ(finished.status, "succeeded");
  EXPECT_EQ(finished.checkpoint, checkpoints.back());
  EXPECT_TRUE(finished.images_per_s.has_value());

  CommandResult eval =
      RunTool("eval --checkpoint " + (out / (checkpoints.back() + ".pt")).string() + " --val " +
                  (*dir_ / "val.json").string() + " --gallery 0 --out " +
                  (*dir_ / "events_eval").string() + " --events",
              *dir_);
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  std::vector<std::string> kinds;
  std::istringstream eval_lines(eval.out);
  for (std::string line; std::getline(eval_lines, line);) {
    auto e = protocol::ParseTrialEvent(line);
    ASSERT_TRUE(e.ok()) << e.status() << "\n" << line;
    kinds.push_back(std::visit(
        [](const auto& x) -> std::string {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, protocol::StartedEvent>) return "started";
          if constexpr (std::is_same_v<T, protocol::EvaluationEvent>) return x.iou_type;
          if constexpr (std::is_same_v<T, protocol::FinishedEvent>) return "finished";
          return "other";
        },
        *e));
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"started", "bbox", "segm", "finished"}));
}

}  // namespace
}  // namespace ablate::detector
