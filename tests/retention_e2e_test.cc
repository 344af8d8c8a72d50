// Retention for real: an `ablate server` process, an `ablate worker` process, checkpoint files in
// a temp directory registered over the Coordinator RPCs, `ablate pin` and `ablate retention`
// through the CLI. The worker deletes exactly what the policy says; the coordinator marks the
// rows; deleted checkpoints stay listed and refuse fork/pin with a message naming them. Gallery
// JPEGs of evaluations registered over RecordEvaluation go with their checkpoint (both passes of
// a re-run evaluation); a kept checkpoint's gallery stays.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "ablate/v1/coordinator.grpc.pb.h"
#include "common/testing/fresh_temp_dir.h"
#include "tests/process_util.h"
#include "worker/child_process.h"

namespace ablate::e2e {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class RetentionE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ablate::testing::FreshTempDirForTest("retention_e2e_");
    fs::create_directories(dir_ / "work" / "runs" / "r");
    server_ = std::make_unique<ServerProcess>(dir_ / "ablate.db");
    std::string error;
    ASSERT_TRUE(server_->Start(&error)) << error;
    stub_ = v1::Coordinator::NewStub(
        grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (worker_) {
      worker_->Signal(SIGTERM);
      worker_->Wait();
    }
    server_.reset();
    if (!HasFailure()) fs::remove_all(dir_);
  }

  void StartWorker() {
    // A retention job never runs ablate-train; any executable satisfies the worker's check.
    auto child = worker::ChildProcess::Start(
        {{AblateBinary(), "worker", "--server", server_->address(), "--slots", "1", "--name", "w1",
          "--work-dir", (dir_ / "work").string(), "--trainer", "/bin/true"},
         dir_ / "worker.log",
         {}});
    ASSERT_TRUE(child.ok()) << child.status();
    worker_ = std::move(*child);
  }

  template <typename Req, typename Resp, typename M>
  void Rpc(M method, const Req& req, Resp* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Status st = ((*stub_).*method)(&ctx, req, resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  // Writes a checkpoint file of `bytes` bytes under work/runs/r and registers it.
  fs::path Checkpoint(int64_t step, int64_t bytes) {
    char name[64];
    std::snprintf(name, sizeof name, "step%07lld-ep001-loss1.000", static_cast<long long>(step));
    const fs::path path = dir_ / "work" / "runs" / "r" / (std::string(name) + ".pt");
    std::ofstream(path) << std::string(static_cast<size_t>(bytes), 'w');
    v1::RegisterCheckpointRequest req;
    req.mutable_run()->set_name("r");
    req.set_name(name);
    req.set_step(step);
    req.set_epoch(1);
    req.set_uri("file://" + path.string());
    req.set_sha256("sha256:" + std::to_string(step));
    req.set_bytes(bytes);
    v1::RegisterCheckpointResponse resp;
    Rpc(&v1::Coordinator::Stub::RegisterCheckpoint, req, &resp);
    return path;
  }

  // Writes gallery JPEGs (`bytes` each, ids 1, 2, ...) under work/evals/JOB/gallery and records
  // a bbox evaluation of checkpoint `step` of run r with that gallery. Returns the files.
  std::vector<fs::path> GalleryEval(int64_t step, int job, const std::vector<int64_t>& bytes) {
    const fs::path dir = dir_ / "work" / "evals" / std::to_string(job) / "gallery";
    fs::create_directories(dir);
    std::ofstream(dir.parent_path() / "results.json") << "[]";  // the eval job's other output
    v1::RecordEvaluationRequest req;
    req.mutable_run()->set_name("r");
    char name[64];
    std::snprintf(name, sizeof name, "r/step%07lld", static_cast<long long>(step));
    req.set_checkpoint(name);
    auto* s = req.mutable_settings();
    s->set_iou_type(v1::IOU_TYPE_BBOX);
    s->set_score_threshold(0.05);
    s->set_dataset_fingerprint("sha256:val");
    req.mutable_stats()->set_ap(0.25);
    auto* g = req.mutable_gallery();
    g->set_dir_uri("file://" + dir.string());
    std::vector<fs::path> files;
    for (size_t i = 0; i < bytes.size(); ++i) {
      char file[32];
      std::snprintf(file, sizeof file, "%06zu.jpg", i + 1);
      files.push_back(dir / file);
      std::ofstream(files.back()) << "\xFF\xD8\xFF" << std::string(bytes[i] - 3, 'j');
      auto* image = g->add_images();
      image->set_image_id(static_cast<int64_t>(i + 1));
      image->set_uri("file://" + files.back().string());
      image->set_bytes(bytes[i]);
    }
    v1::RecordEvaluationResponse resp;
    Rpc(&v1::Coordinator::Stub::RecordEvaluation, req, &resp);
    return files;
  }

  CommandResult Ablate(std::vector<std::string> args) {
    return RunAblate(server_->address(), std::move(args));
  }

  json AblateJson(std::vector<std::string> args) {
    args.push_back("--json");
    CommandResult r = Ablate(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }

  fs::path dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
  std::unique_ptr<worker::ChildProcess> worker_;
};

TEST_F(RetentionE2eTest, WorkerDeletesWhatThePolicySaysAndTheRowsStay) {
  {
    v1::CreateRunRequest req;
    req.set_name("r");
    req.set_config_json(
        R"({"preset": "tiny", "data": {"train": "/d/t.json", "val": "/d/v.json"}})");
    req.set_status(v1::RUN_STATUS_SUCCEEDED);
    v1::CreateRunResponse resp;
    Rpc(&v1::Coordinator::Stub::CreateRun, req, &resp);
  }
  const fs::path s100 = Checkpoint(100, 1000);
  const fs::path s200 = Checkpoint(200, 2000);
  const fs::path s250 = Checkpoint(250, 2500);
  const fs::path s300 = Checkpoint(300, 3000);
  const fs::path s400 = Checkpoint(400, 4000);
  fs::remove(s250);  // gone already (e.g. removed by hand): reported missing, marked deleted
  // Galleries: step200's evaluation twice (a second eval job of the same checkpoint and settings
  // wrote its gallery into its own folder), step400's (kept) once.
  const std::vector<fs::path> g200 = GalleryEval(200, 7, {100, 200});
  const std::vector<fs::path> g200_again = GalleryEval(200, 8, {110, 210});
  const std::vector<fs::path> g400 = GalleryEval(400, 9, {300});

  // Bad input first: clear errors, non-zero exits, nothing queued.
  CommandResult bad = Ablate({"pin", "step9999999"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err, "error: no checkpoint matches 'step9999999'\n");
  bad = Ablate({"retention", "--keep-last=-1"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err, "error: --keep-last must be >= 0, got -1\n");
  bad = Ablate({"retention", "--run", "nope", "--dry-run"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("run 'nope' not found"), std::string::npos) << bad.err;

  CommandResult pin = Ablate({"pin", "r/step0000100"});
  ASSERT_EQ(pin.exit_code, 0) << pin.err;
  EXPECT_EQ(pin.out, "pinned r/step0000100-ep001-loss1.000\n");

  // The dry run lists what would go and changes nothing.
  json plan = AblateJson({"retention", "--keep-last", "1", "--dry-run"});
  EXPECT_EQ(plan["to_delete"], 3);
  EXPECT_EQ(plan["gallery_files"], 4);
  EXPECT_EQ(plan["gallery_bytes"], 620);
  EXPECT_EQ(plan["bytes_to_free"], 2000 + 2500 + 3000 + 620);
  EXPECT_TRUE(plan["job"].is_null());
  std::map<int64_t, json> by_step;
  for (const auto& c : plan["checkpoints"]) by_step[c["step"].get<int64_t>()] = c;
  EXPECT_EQ(by_step[100]["keep_reasons"], json::array({"pinned"}));
  EXPECT_EQ(by_step[400]["keep_reasons"], json::array({"one of the newest 1 of its run"}));
  EXPECT_EQ(by_step[300]["remove"], true);
  EXPECT_EQ(by_step[200]["gallery_files"], 4);
  EXPECT_EQ(by_step[400]["gallery_files"], 0);
  CommandResult text_plan = Ablate({"retention", "--keep-last", "1", "--dry-run"});
  EXPECT_NE(text_plan.out.find("would delete 3 checkpoint file(s) and 4 gallery image(s), 7.9 KiB"),
            std::string::npos)
      << text_plan.out;
  EXPECT_NE(text_plan.out.find("4 images, 620 B"), std::string::npos) << text_plan.out;
  EXPECT_TRUE(fs::exists(s200));
  EXPECT_TRUE(fs::exists(g200[0]));
  EXPECT_TRUE(AblateJson({"jobs"})["jobs"].empty());

  // The real thing: queued through the CLI, leased and run by the worker process.
  CommandResult queued = Ablate({"retention", "--keep-last", "1"});
  ASSERT_EQ(queued.exit_code, 0) << queued.err;
  EXPECT_EQ(queued.out.rfind("queued retention job 1 (keep the newest 1 per run)", 0), 0u)
      << queued.out;
  StartWorker();
  json job;
  for (int i = 0; i < 300; ++i) {
    job = AblateJson({"jobs", "--job", "1"})["jobs"][0];
    if (job["state"] != "pending" && job["state"] != "leased") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(job["state"], "succeeded") << job.dump(2) << "\n" << ReadAll(dir_ / "worker.log");
  EXPECT_EQ(job["kind"], "retention");
  EXPECT_EQ(job["result"], json::parse(R"({"deleted": 2, "missing": 1, "failed": 0,
      "ignored": 0, "bytes_freed": 5620, "gallery_deleted": 4, "gallery_missing": 0,
      "gallery_failed": 0, "gallery_ignored": 0, "gallery_bytes_freed": 620, "failures": []})"));
  CommandResult listing = Ablate({"jobs"});
  EXPECT_NE(listing.out.find("keep 1, all runs"), std::string::npos) << listing.out;
  EXPECT_NE(listing.out.find("deleted 2 (4.9 KiB), missing 1, failed 0; gallery images: deleted "
                             "4 (620 B), missing 0, failed 0"),
            std::string::npos)
      << listing.out;

  // Files: pinned and newest kept, the rest gone.
  EXPECT_TRUE(fs::exists(s100));
  EXPECT_FALSE(fs::exists(s200));
  EXPECT_FALSE(fs::exists(s300));
  EXPECT_TRUE(fs::exists(s400));
  // Gallery: both passes of step200's evaluation gone, their emptied folders removed (the eval
  // jobs' folders with their other files stay); step400's gallery untouched.
  for (const fs::path& f : g200) EXPECT_FALSE(fs::exists(f)) << f;
  for (const fs::path& f : g200_again) EXPECT_FALSE(fs::exists(f)) << f;
  EXPECT_FALSE(fs::exists(g200[0].parent_path()));
  EXPECT_FALSE(fs::exists(g200_again[0].parent_path()));
  EXPECT_TRUE(fs::exists(dir_ / "work" / "evals" / "7" / "results.json"));
  EXPECT_TRUE(fs::exists(g400[0]));
  // `ablate show` says so, by which job; the evaluation's numbers stay.
  CommandResult show = Ablate({"show", "r"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("2 images in " + g200[0].parent_path().string() + ", deleted (job 1)"),
            std::string::npos)
      << show.out;
  EXPECT_NE(show.out.find("1 images in " + g400[0].parent_path().string() + "\n"),
            std::string::npos)
      << show.out;
  json shown = AblateJson({"show", "r"});
  ASSERT_TRUE(shown.contains("evaluations")) << shown.dump(2);
  for (const auto& e : shown["evaluations"]) {
    EXPECT_EQ(e["gallery"]["state"],
              e["checkpoint"].get<std::string>().rfind("step0000200", 0) == 0 ? "deleted" : "kept");
    EXPECT_DOUBLE_EQ(e["stats"]["AP"].get<double>(), 0.25);
  }

  // Rows: all five still listed; three marked deleted by job 1.
  json cks = AblateJson({"checkpoints", "--run", "r"})["checkpoints"];
  ASSERT_EQ(cks.size(), 5u);
  std::map<int64_t, std::string> state;
  for (const auto& c : cks) state[c["step"].get<int64_t>()] = c["state"];
  EXPECT_EQ(
      state,
      (std::map<int64_t, std::string>{
          {100, "kept"}, {200, "deleted"}, {250, "deleted"}, {300, "deleted"}, {400, "kept"}}));
  EXPECT_NE(Ablate({"checkpoints"}).out.find("deleted (job 1)"), std::string::npos);
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2((dir_ / "ablate.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
              SQLITE_OK);
    sqlite3_stmt* q = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db,
                                 "SELECT step FROM checkpoints WHERE deleted_unix_ms > 0 AND "
                                 "deleted_by_job_id = 1 AND deleting_job_id IS NULL ORDER BY step",
                                 -1, &q, nullptr),
              SQLITE_OK);
    std::vector<int64_t> deleted;
    while (sqlite3_step(q) == SQLITE_ROW) deleted.push_back(sqlite3_column_int64(q, 0));
    sqlite3_finalize(q);
    sqlite3_close(db);
    EXPECT_EQ(deleted, (std::vector<int64_t>{200, 250, 300}));
  }

  // A deleted checkpoint names itself when used.
  CommandResult fork = Ablate({"fork", "r/step0000200", "--steps", "10"});
  EXPECT_EQ(fork.exit_code, 1);
  EXPECT_EQ(fork.err,
            "error: checkpoint r/step0000200-ep001-loss1.000 was deleted by retention job 1: its "
            "file is gone (the row is kept for lineage and evaluations)\n");
  CommandResult pin_deleted = Ablate({"pin", "r/step0000300"});
  EXPECT_EQ(pin_deleted.exit_code, 1);
  EXPECT_EQ(pin_deleted.err,
            "error: cannot pin checkpoint r/step0000300-ep001-loss1.000: its file was deleted by "
            "retention job 1\n");
  CommandResult resolve = Ablate({"checkpoints", "--resolve", "r/step0000300"});
  EXPECT_EQ(resolve.exit_code, 1);
  EXPECT_NE(resolve.err.find("was deleted by retention job 1"), std::string::npos);

  // Again with --wait: nothing left to delete; it ends at once with an empty result.
  CommandResult again = Ablate({"retention", "--keep-last", "1", "--wait", "--timeout", "60"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("retention job 2 succeeded: deleted 0 (0 B), missing 0, failed 0"),
            std::string::npos)
      << again.out;
  EXPECT_TRUE(fs::exists(s100));
  EXPECT_TRUE(fs::exists(s400));
}

}  // namespace
}  // namespace ablate::e2e
