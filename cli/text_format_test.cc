#include "cli/text_format.h"

#include <gtest/gtest.h>

#include "cli/cli_test_util.h"
#include "cli/proto_json.h"
#include "server/proto_convert.h"

namespace ablate::cli {
namespace {

using testing::EvaluationWithOutputs;

TEST(TableTest, AlignsColumnsAndRightAlignsNumbers) {
  Table t({"run", "AP"});
  t.AddRow({"tuning-diary-3", "0.268"});
  t.AddRow({"b", "-0.1"});
  EXPECT_EQ(t.Render(),
            "run                AP\n"
            "tuning-diary-3  0.268\n"
            "b                -0.1\n");
}

TEST(TableTest, WideCharactersCountAsOneColumn) {
  Table t({"name", "x"});
  t.AddRow({"从头", "1"});
  t.AddRow({"abcd", "2"});
  EXPECT_EQ(t.Render(), "name  x\n从头    1\nabcd  2\n");
}

TEST(FormatTest, FixedAndSigned) {
  EXPECT_EQ(Fixed(0.2684), "0.268");
  EXPECT_EQ(Signed(0.006), "+0.006");
  EXPECT_EQ(Signed(-0.1), "-0.100");
}

TEST(CheckpointJsonTest, RetentionState) {
  v1::Checkpoint c;
  c.set_name("step100");
  EXPECT_EQ(CheckpointState(c), "kept");
  EXPECT_TRUE(CheckpointJson(c)["deleted_by_job"].is_null());
  c.set_deleting_job_id(4);
  EXPECT_EQ(CheckpointStateText(c), "deleting (job 4)");
  c.set_deleting_job_id(0);
  c.set_deleted_unix_ms(1700000000000);
  c.set_deleted_by_job_id(4);
  EXPECT_EQ(CheckpointStateText(c), "deleted (job 4)");
  EXPECT_EQ(CheckpointJson(c)["state"], "deleted");
  EXPECT_EQ(CheckpointJson(c)["deleted_by_job"], 4);
}

TEST(SettingsTextTest, UnknownFieldsAreQuestionMarks) {
  v1::EvalSettings s;
  s.set_score_threshold(0.05);
  s.set_top_k(100);
  s.set_dataset_fingerprint("diary:x.txt");
  EXPECT_EQ(SettingsText(s),
            "score_threshold=0.05 top_k=100 nms_iou=? max_dets=? dataset=diary:x.txt");
}

TEST(DetectionsTableTest, CountsPerEvaluationAndWhereTheGalleryIs) {
  google::protobuf::RepeatedPtrField<v1::Evaluation> evals;
  *evals.Add() = EvaluationWithOutputs(1, 0.05, 120, 9);
  *evals.Add() = EvaluationWithOutputs(3, 0.005, 2950, 100);
  v1::Evaluation diary;  // no outputs recorded
  diary.set_id(4);
  diary.mutable_settings()->set_iou_type(v1::IOU_TYPE_SEGM);
  *evals.Add() = diary;
  EXPECT_EQ(DetectionsTable(evals),
            "id  checkpoint                   iou   score_threshold  detections  per_image_mean  "
            "per_image_max  results   gallery\n"
            " 1  step0000600-ep010-loss2.000  bbox  0.05                    120            3.00  "
            "            9  46.9 KiB  2 images in /work/evals/3/gallery\n"
            " 3  step0000600-ep010-loss2.000  bbox  0.005                  2950           73.75  "
            "          100  1.1 MiB   2 images in /work/evals/3/gallery\n"
            " 4  -                            segm  ?                         -               -  "
            "            -  -         -\n");
}

TEST(DetectionsTableTest, ADeletedGallerySaysSoAndByWhichJob) {
  google::protobuf::RepeatedPtrField<v1::Evaluation> evals;
  v1::Evaluation e = EvaluationWithOutputs(1, 0.05, 120, 9);
  for (auto& image : *e.mutable_gallery()->mutable_images()) {
    image.set_deleted_unix_ms(1700000000000);
    image.set_deleted_by_job_id(4);
  }
  *evals.Add() = e;
  v1::Evaluation partly = EvaluationWithOutputs(2, 0.005, 2950, 100);
  partly.mutable_gallery()->mutable_images(0)->set_deleted_unix_ms(1700000000000);
  partly.mutable_gallery()->mutable_images(0)->set_deleted_by_job_id(5);
  *evals.Add() = partly;
  const std::string table = DetectionsTable(evals);
  EXPECT_NE(table.find("2 images in /work/evals/3/gallery, deleted (job 4)\n"), std::string::npos)
      << table;
  EXPECT_NE(table.find("2 images in /work/evals/3/gallery, partly deleted (job 5)\n"),
            std::string::npos)
      << table;
  nlohmann::json j = GalleryJson(e.gallery());
  EXPECT_EQ(j["state"], "deleted");
  EXPECT_EQ(j["deleted_by_job"], 4);
  EXPECT_EQ(j["images"][0]["state"], "deleted");
  EXPECT_EQ(j["images"][0]["deleted_by_job"], 4);
  v1::Gallery held = EvaluationWithOutputs(1, 0.05, 120, 9).gallery();
  held.mutable_images(1)->set_deleting_job_id(6);
  EXPECT_EQ(GalleryStateText(held), "deleting (job 6)");
  EXPECT_EQ(GalleryJson(held)["images"][1]["state"], "deleting");
  EXPECT_EQ(GalleryJson(held)["deleted_by_job"], nullptr);
}

}  // namespace
}  // namespace ablate::cli
