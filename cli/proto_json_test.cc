// `ablate ... --json`: the records' vocabulary (server/record_json.h) reached from messages.
#include "cli/proto_json.h"

#include <gtest/gtest.h>

#include "cli/cli_test_util.h"
#include "server/proto_convert.h"
#include "server/record_json.h"

namespace ablate::cli {
namespace {

using testing::EvaluationWithOutputs;

TEST(StatsJsonTest, UsesTheTwelveStatNamesInOrder) {
  CocoStats s{};
  for (int i = 0; i < kNumCocoStats; ++i) s[static_cast<size_t>(i)] = i / 100.0;
  v1::CocoStats p;
  server::ToProto(s, &p);
  EXPECT_DOUBLE_EQ(p.ap50(), 0.01);
  EXPECT_DOUBLE_EQ(p.arl(), 0.11);
  nlohmann::json j = StatsJson(p);
  ASSERT_EQ(j.size(), 12u);
  EXPECT_EQ(j["AP"], 0.0);
  EXPECT_EQ(j["APs"], 0.03);
  EXPECT_EQ(j["AR100"], 0.08);
  EXPECT_EQ(j["ARl"], 0.11);
  EXPECT_EQ(server::StatsFromProto(p), s);
}

TEST(DetectionsTableTest, JsonHasCountsMeanAndGallery) {
  nlohmann::json j = EvaluationJson(EvaluationWithOutputs(1, 0.05, 120, 9));
  EXPECT_EQ(j["outputs"]["detections"], 120);
  EXPECT_EQ(j["outputs"]["images"], 40);
  EXPECT_EQ(j["outputs"]["detections_per_image_mean"], 3.0);
  EXPECT_EQ(j["outputs"]["detections_per_image_max"], 9);
  EXPECT_EQ(j["outputs"]["results_bytes"], 48000);
  EXPECT_EQ(j["gallery"]["dir"], "/work/evals/3/gallery");
  EXPECT_EQ(j["gallery"]["count"], 2);
  EXPECT_EQ(j["gallery"]["images"][1]["image_id"], 139);
  EXPECT_EQ(j["gallery"]["state"], "kept");
  EXPECT_EQ(j["gallery"]["images"][1]["state"], "kept");
  v1::Evaluation bare;
  nlohmann::json b = EvaluationJson(bare);
  EXPECT_TRUE(b["outputs"].is_null());
  EXPECT_TRUE(b["gallery"].is_null());
  v1::EvaluationOutputs no_images;
  EXPECT_TRUE(OutputsJson(no_images)["detections_per_image_mean"].is_null());
}

TEST(ProtoJsonTest, NullsForNoneAndUnscored) {
  v1::Run r;
  r.set_name("a");
  r.set_status(v1::RUN_STATUS_SUCCEEDED);
  nlohmann::json run = RunJson(r);
  EXPECT_TRUE(run["sweep"].is_null());
  EXPECT_TRUE(run["parent_run"].is_null());
  EXPECT_TRUE(run["parent_checkpoint"].is_null());
  EXPECT_TRUE(run["stopped_at_step"].is_null());
  EXPECT_EQ(run["config"], nlohmann::json::object());
  v1::Checkpoint c;
  c.set_name("step0000100");
  EXPECT_TRUE(CheckpointJson(c)["loss"].is_null());  // a name without "-loss"
  c.set_loss(0.0);
  EXPECT_EQ(CheckpointJson(c)["loss"], 0.0);
  v1::Evaluation e;
  e.mutable_stats()->set_ap(0.3);
  e.mutable_stats()->set_aps(-1);  // pycocotools: no small objects
  auto* cat = e.add_per_category();
  cat->set_category_id(3);
  cat->set_category_name("cat");
  cat->set_ap(-1);
  nlohmann::json ej = EvaluationJson(e, 1200);
  EXPECT_EQ(ej["stats"]["AP"], 0.3);
  EXPECT_TRUE(ej["stats"]["APs"].is_null());
  EXPECT_TRUE(ej["checkpoint"].is_null());
  EXPECT_EQ(ej["step"], 1200);
  EXPECT_EQ(ej["per_category"][0]["category_id"], 3);
  EXPECT_TRUE(ej["per_category"][0]["AP"].is_null());
  EXPECT_TRUE(EvaluationJson(e)["step"].is_null());
}

// One vocabulary: what `ablate ... --json` prints for the coordinator's message of a record is
// what the dashboard prints for the record itself (server/record_json.h).
TEST(ProtoJsonTest, SameJsonAsTheDashboardForTheSameRecord) {
  server::Run r;
  r.id = server::RunId{7};
  r.name = "focal-1";
  r.sweep = "focal";
  r.status = server::RunStatus::kStopped;
  r.config_json = R"({"lr":0.001})";
  r.config_fingerprint = "sha256:ab";
  r.parent_run = server::RunId{3};
  r.parent_run_name = "base";
  r.parent_checkpoint = server::CheckpointId{4};
  r.parent_checkpoint_name = "step0000100-ep001-loss2.000";
  r.created_unix_ms = 1700000000000;
  r.updated_unix_ms = 1700000001000;
  r.stopped_at_step = 300;
  r.stop_reason = "asha";
  v1::Run rp;
  server::ToProto(r, &rp);
  EXPECT_EQ(RunJson(rp), server::RunJson(r));

  server::Checkpoint c;
  c.id = server::CheckpointId{4};
  c.run_id = r.id;
  c.run_name = r.name;
  c.name = "step0000300";  // no loss recorded
  c.step = 300;
  c.uri = "file:///w/a.pt";
  c.bytes = 5000;
  c.deleted_unix_ms = 1700000002000;
  c.deleted_by_job_id = 9;
  v1::Checkpoint cp;
  server::ToProto(c, &cp);
  EXPECT_EQ(CheckpointJson(cp), server::CheckpointJson(c));

  server::Evaluation e;
  e.id = server::EvaluationId{11};
  e.run_id = r.id;
  e.run_name = r.name;
  e.checkpoint_id = c.id;
  e.checkpoint_name = c.name;
  e.settings.iou_type = server::IouType::kSegm;
  e.settings.score_threshold = 0.05;
  e.settings.max_dets = 100;
  e.settings.dataset_fingerprint = "sha256:cd";
  for (size_t i = 0; i < e.stats.size(); ++i) e.stats[i] = 0.01 * static_cast<double>(i);
  e.stats[3] = -1;
  e.per_category = {{1, "cat", 0.5}, {2, "dog", -1}};
  e.outputs = server::EvaluationOutputs{120, 40, 9, 48000};
  server::Gallery g;
  g.dir_uri = "file:///w/evals/3/gallery";
  g.seed = 5;
  g.images = {{12, "file:///w/evals/3/gallery/000012.jpg", 2000, 3},
              {139, "file:///w/evals/3/gallery/000139.jpg", 3000, 1}};
  g.images[1].deleted_unix_ms = 1700000003000;
  g.images[1].deleted_by_job_id = 9;
  e.gallery = g;
  e.created_unix_ms = 1700000004000;
  v1::Evaluation ep;
  server::ToProto(e, &ep);
  EXPECT_EQ(EvaluationJson(ep, 300), server::EvaluationJson(e, 300, /*detail=*/true));
}

TEST(ProtoJsonTest, JobKindAndStateFromTheEnumsOrTheOldStrings) {
  v1::JobSummary j;
  j.set_id(7);
  j.set_job_kind(v1::JOB_KIND_RETENTION);
  j.set_job_state(v1::JOB_STATE_LEASED);
  j.set_spec_json(R"({"keep_last": 2})");
  nlohmann::json out = JobJson(j);
  EXPECT_EQ(out["kind"], "retention");
  EXPECT_EQ(out["state"], "leased");
  EXPECT_TRUE(out["run"].is_null());
  EXPECT_TRUE(out["worker"].is_null());
  EXPECT_EQ(out["spec"]["keep_last"], 2);
  EXPECT_TRUE(out["result"].is_null());
  v1::JobSummary old;  // from a coordinator before the enums
  old.set_kind("eval");
  old.set_state("failed");
  old.set_last_error("boom");
  out = JobJson(old);
  EXPECT_EQ(out["kind"], "eval");
  EXPECT_EQ(out["state"], "failed");
  EXPECT_EQ(out["last_error"], "boom");
}

TEST(ProtoJsonTest, SweepAndLeaderboardRow) {
  v1::Sweep s;
  s.set_id(2);
  s.set_name("focal");
  s.mutable_progress()->set_total(4);
  s.mutable_progress()->set_succeeded(2);
  s.mutable_progress()->set_stopped(1);
  s.mutable_progress()->set_running(1);
  nlohmann::json sweep = SweepJson(s);
  EXPECT_EQ(sweep["id"], 2);
  EXPECT_EQ(sweep["name"], "focal");
  EXPECT_EQ(sweep["progress"]["total"], 4);
  EXPECT_EQ(sweep["finished"], 3);
  EXPECT_EQ(sweep["active"], true);
  v1::LeaderboardRow row;
  row.set_rank(1);
  row.mutable_run()->set_name("focal-1");
  row.mutable_evaluation()->set_checkpoint_name("step0000200-ep002-loss4.123");
  row.mutable_evaluation()->mutable_stats()->set_ap(0.31);
  row.set_sort_value(0.31);
  nlohmann::json r = LeaderboardRowJson(row);
  EXPECT_EQ(r["rank"], 1);
  EXPECT_EQ(r["run"]["name"], "focal-1");
  EXPECT_EQ(r["evaluation"]["checkpoint"], "step0000200-ep002-loss4.123");
  EXPECT_EQ(r["evaluation"]["stats"]["AP"], 0.31);
  EXPECT_FALSE(r["evaluation"].contains("per_category"));  // lists leave it out
  EXPECT_EQ(r["value"], 0.31);
}

}  // namespace
}  // namespace ablate::cli
