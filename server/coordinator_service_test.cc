// Every RPC of ablate.v1.Coordinator over a real loopback channel: normal path and error paths
// with their gRPC status codes and messages; and the retention RPCs of ablate.v1.Scheduler.
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "server/coordinator.h"
#include "server/test_util.h"

namespace ablate::server {
namespace {

class CoordinatorServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CoordinatorOptions options;
    options.db_path =
        (testing::FreshTempDir(std::string("svc_") +
                               ::testing::UnitTest::GetInstance()->current_test_info()->name()) /
         "ablate.db")
            .string();
    options.listen_address = "127.0.0.1:0";
    options.service.max_metric_batch = 5;
    auto c = Coordinator::Create(options);
    ASSERT_TRUE(c.ok()) << c.status();
    coordinator_ = std::move(*c);
    auto channel = grpc::CreateChannel(coordinator_->address(), grpc::InsecureChannelCredentials());
    stub_ = v1::Coordinator::NewStub(channel);
    scheduler_ = v1::Scheduler::NewStub(channel);
  }

  template <typename Req, typename Resp, typename M>
  grpc::Status CallScheduler(M method, const Req& req, Resp* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return ((*scheduler_).*method)(&ctx, req, resp);
  }

  template <typename Req, typename Resp, typename M>
  grpc::Status Call(M method, const Req& req, Resp* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return ((*stub_).*method)(&ctx, req, resp);
  }

  v1::Run CreateRun(const std::string& name, const std::string& config = "{}") {
    v1::CreateRunRequest req;
    req.set_name(name);
    req.set_sweep("s");
    req.set_config_json(config);
    v1::CreateRunResponse resp;
    grpc::Status st = Call(&v1::Coordinator::Stub::CreateRun, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.run();
  }

  v1::Checkpoint Register(const std::string& run, const std::string& name) {
    v1::RegisterCheckpointRequest req;
    req.mutable_run()->set_name(run);
    req.set_name(name);
    req.set_uri("file:///" + name + ".pt");
    v1::RegisterCheckpointResponse resp;
    grpc::Status st = Call(&v1::Coordinator::Stub::RegisterCheckpoint, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.checkpoint();
  }

  v1::RecordEvaluationRequest EvalRequest(const std::string& run, double ap,
                                          double score_threshold = 0.05) {
    v1::RecordEvaluationRequest req;
    req.mutable_run()->set_name(run);
    auto* s = req.mutable_settings();
    s->set_iou_type(v1::IOU_TYPE_BBOX);
    s->set_score_threshold(score_threshold);
    s->set_top_k(100);
    s->set_max_dets(100);
    s->set_dataset_fingerprint("sha256:val");
    req.mutable_stats()->set_ap(ap);
    req.mutable_stats()->set_ap50(ap + 0.2);
    req.mutable_stats()->set_arl(0.5);
    return req;
  }

  std::unique_ptr<Coordinator> coordinator_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
  std::unique_ptr<v1::Scheduler::Stub> scheduler_;
};

TEST_F(CoordinatorServiceTest, CreateGetListRuns) {
  v1::Run r = CreateRun("r1", R"({"lr": 0.01, "conf_loss": "focal"})");
  EXPECT_GT(r.id(), 0);
  EXPECT_EQ(r.config_json(), R"({"conf_loss":"focal","lr":0.01})");
  EXPECT_EQ(r.status(), v1::RUN_STATUS_QUEUED);
  for (int i = 2; i <= 5; ++i)
    CreateRun(absl::StrCat("r", i));  // not "r" + to_string: GCC 12 -Wrestrict at -O3

  v1::GetRunRequest get;
  get.mutable_run()->set_id(r.id());
  v1::GetRunResponse got;
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::GetRun, get, &got).ok());
  EXPECT_EQ(got.run().name(), "r1");

  v1::ListRunsRequest list;
  list.set_page_size(2);
  std::vector<std::string> names;
  while (true) {
    v1::ListRunsResponse page;
    ASSERT_TRUE(Call(&v1::Coordinator::Stub::ListRuns, list, &page).ok());
    for (const auto& run : page.runs()) names.push_back(run.name());
    if (page.next_page_token().empty()) break;
    list.set_page_token(page.next_page_token());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"r1", "r2", "r3", "r4", "r5"}));
}

TEST_F(CoordinatorServiceTest, RunErrors) {
  CreateRun("r1", R"({"lr": 0.01})");
  v1::CreateRunRequest dup;
  dup.set_name("r1");
  dup.set_config_json(R"({"lr": 0.02})");
  v1::CreateRunResponse resp;
  EXPECT_EQ(Call(&v1::Coordinator::Stub::CreateRun, dup, &resp).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  dup.set_name("r2");
  dup.set_config_json("{not json");
  grpc::Status bad = Call(&v1::Coordinator::Stub::CreateRun, dup, &resp);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad.error_message().find("config_json is not JSON"), std::string::npos);
  dup.set_config_json("{}");
  dup.set_parent_checkpoint("step1");
  EXPECT_EQ(Call(&v1::Coordinator::Stub::CreateRun, dup, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);

  v1::GetRunRequest get;
  get.mutable_run()->set_name("missing");
  v1::GetRunResponse got;
  grpc::Status nf = Call(&v1::Coordinator::Stub::GetRun, get, &got);
  EXPECT_EQ(nf.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(nf.error_message(), "run 'missing' not found");
  v1::GetRunRequest unset;
  EXPECT_EQ(Call(&v1::Coordinator::Stub::GetRun, unset, &got).error_message(), "run is required");

  v1::ListRunsRequest list;
  list.set_page_token("abc");
  v1::ListRunsResponse lr;
  EXPECT_EQ(Call(&v1::Coordinator::Stub::ListRuns, list, &lr).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  list.clear_page_token();
  list.set_page_size(5000);
  EXPECT_EQ(Call(&v1::Coordinator::Stub::ListRuns, list, &lr).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(CoordinatorServiceTest, SetRunStatusAndFilter) {
  CreateRun("r1");
  CreateRun("r2");
  v1::SetRunStatusRequest req;
  req.mutable_run()->set_name("r2");
  v1::SetRunStatusResponse resp;
  req.set_status(v1::RUN_STATUS_RUNNING);
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::SetRunStatus, req, &resp).ok());
  req.set_status(v1::RUN_STATUS_DIVERGED);
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::SetRunStatus, req, &resp).ok());
  EXPECT_EQ(resp.run().status(), v1::RUN_STATUS_DIVERGED);
  v1::ListRunsRequest list;
  list.add_statuses(v1::RUN_STATUS_DIVERGED);
  v1::ListRunsResponse lr;
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::ListRuns, list, &lr).ok());
  ASSERT_EQ(lr.runs_size(), 1);
  EXPECT_EQ(lr.runs(0).name(), "r2");
  req.set_status(v1::RUN_STATUS_UNSPECIFIED);
  EXPECT_EQ(Call(&v1::Coordinator::Stub::SetRunStatus, req, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  req.set_status(static_cast<v1::RunStatus>(42));
  EXPECT_EQ(Call(&v1::Coordinator::Stub::SetRunStatus, req, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// The lifecycle (server/run_lifecycle.h): queued -> running -> a final state, queued -> cancelled
// or failed; nothing leaves a final state; the same status again is a no-op.
TEST_F(CoordinatorServiceTest, SetRunStatusAcceptsOnlyLifecycleTransitions) {
  CreateRun("r1");
  v1::SetRunStatusRequest req;
  req.mutable_run()->set_name("r1");
  v1::SetRunStatusResponse resp;
  req.set_status(v1::RUN_STATUS_SUCCEEDED);
  grpc::Status st = Call(&v1::Coordinator::Stub::SetRunStatus, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(st.error_message(),
            "a run cannot go from queued to succeeded (from queued it may go to running, "
            "cancelled, failed)");
  req.set_status(v1::RUN_STATUS_RUNNING);
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::SetRunStatus, req, &resp).ok());
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::SetRunStatus, req, &resp).ok());  // no-op retry
  req.set_status(v1::RUN_STATUS_QUEUED);
  st = Call(&v1::Coordinator::Stub::SetRunStatus, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(st.error_message(),
            "a run cannot go from running to queued (from running it may go to succeeded, "
            "failed, cancelled, diverged)");
  req.set_status(v1::RUN_STATUS_SUCCEEDED);
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::SetRunStatus, req, &resp).ok());
  EXPECT_EQ(resp.run().status(), v1::RUN_STATUS_SUCCEEDED);
  req.set_status(v1::RUN_STATUS_RUNNING);
  st = Call(&v1::Coordinator::Stub::SetRunStatus, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(st.error_message(), "a run cannot go from succeeded to running (succeeded is final)");
  v1::GetRunRequest get;
  get.mutable_run()->set_name("r1");
  v1::GetRunResponse got;
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::GetRun, get, &got).ok());
  EXPECT_EQ(got.run().status(), v1::RUN_STATUS_SUCCEEDED);
}

TEST_F(CoordinatorServiceTest, LogMetricsIdempotentAndBounded) {
  CreateRun("r1");
  v1::LogMetricsRequest req;
  req.mutable_run()->set_name("r1");
  for (int step = 1; step <= 3; ++step) {
    auto* p = req.add_points();
    p->set_step(step);
    p->set_key("loss");
    p->set_value(10.0 / step);
  }
  v1::LogMetricsResponse resp;
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::LogMetrics, req, &resp).ok());
  EXPECT_EQ(resp.accepted(), 3);
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::LogMetrics, req, &resp).ok());  // same points again
  auto points = coordinator_->store().ListMetrics(RunId{1}, "loss");
  ASSERT_TRUE(points.ok());
  EXPECT_EQ(points->size(), 3u);

  for (int i = 0; i < 3; ++i) *req.add_points() = req.points(0);  // 6 points > limit 5
  grpc::Status big = Call(&v1::Coordinator::Stub::LogMetrics, req, &resp);
  EXPECT_EQ(big.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(big.error_message(),
            "LogMetrics batch of 6 points exceeds the limit of 5; split it into smaller batches");

  v1::LogMetricsRequest nan;
  nan.mutable_run()->set_name("r1");
  nan.add_points()->set_key("loss");
  nan.mutable_points(0)->set_value(std::nan(""));
  EXPECT_EQ(Call(&v1::Coordinator::Stub::LogMetrics, nan, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  nan.mutable_points(0)->set_value(1);
  nan.mutable_run()->set_name("ghost");
  EXPECT_EQ(Call(&v1::Coordinator::Stub::LogMetrics, nan, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(CoordinatorServiceTest, CheckpointsRegisterResolveList) {
  CreateRun("a");
  CreateRun("b");
  v1::Checkpoint c = Register("a", "step1066300-ep073-loss5.715");
  EXPECT_EQ(c.step(), 1066300);  // parsed from the name
  Register("b", "step1066300-ep080-loss5.100");
  Register("b", "step2000000-ep100-loss4.000");

  v1::ResolveCheckpointRequest res;
  v1::ResolveCheckpointResponse got;
  res.set_ref("step2000000");
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::ResolveCheckpoint, res, &got).ok());
  EXPECT_EQ(got.checkpoint().run_name(), "b");
  res.set_ref("a/step1066300");
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::ResolveCheckpoint, res, &got).ok());
  EXPECT_EQ(got.checkpoint().name(), "step1066300-ep073-loss5.715");
  res.set_ref("step1066300");
  grpc::Status amb = Call(&v1::Coordinator::Stub::ResolveCheckpoint, res, &got);
  EXPECT_EQ(amb.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(
      amb.error_message().find("a/step1066300-ep073-loss5.715, b/step1066300-ep080-loss5.100"),
      std::string::npos)
      << amb.error_message();
  res.set_ref("step5");
  EXPECT_EQ(Call(&v1::Coordinator::Stub::ResolveCheckpoint, res, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);

  v1::ListCheckpointsRequest list;
  list.mutable_run()->set_name("b");
  v1::ListCheckpointsResponse lr;
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::ListCheckpoints, list, &lr).ok());
  EXPECT_EQ(lr.checkpoints_size(), 2);

  v1::RegisterCheckpointRequest bad;
  bad.mutable_run()->set_name("a");
  v1::RegisterCheckpointResponse br;
  EXPECT_EQ(Call(&v1::Coordinator::Stub::RegisterCheckpoint, bad, &br).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  bad.set_name("step1066300-ep073-loss5.715");
  bad.set_uri("file:///elsewhere.pt");
  EXPECT_EQ(Call(&v1::Coordinator::Stub::RegisterCheckpoint, bad, &br).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  bad.mutable_run()->set_name("nobody");
  EXPECT_EQ(Call(&v1::Coordinator::Stub::RegisterCheckpoint, bad, &br).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(CoordinatorServiceTest, PinRetentionAndDeletedCheckpoints) {
  CreateRun("a");
  Register("a", "step100-ep1-loss1.0");
  Register("a", "step200-ep1-loss1.0");
  Register("a", "step300-ep1-loss1.0");

  v1::SetCheckpointPinnedRequest pin;
  v1::SetCheckpointPinnedResponse pinned;
  pin.set_checkpoint("step999");
  pin.set_pinned(true);
  grpc::Status nf = Call(&v1::Coordinator::Stub::SetCheckpointPinned, pin, &pinned);
  EXPECT_EQ(nf.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(nf.error_message(), "no checkpoint matches 'step999'");
  pin.set_checkpoint("");
  EXPECT_EQ(Call(&v1::Coordinator::Stub::SetCheckpointPinned, pin, &pinned).error_message(),
            "checkpoint is required");
  pin.set_checkpoint("a/step300");
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::SetCheckpointPinned, pin, &pinned).ok());
  EXPECT_TRUE(pinned.checkpoint().pinned());
  EXPECT_TRUE(pinned.changed());
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::SetCheckpointPinned, pin, &pinned).ok());
  EXPECT_FALSE(pinned.changed());
  // step100 has an evaluation with a one-image gallery: it goes with the checkpoint.
  {
    auto req = EvalRequest("a", 0.3);
    req.set_checkpoint("a/step100");
    auto* g = req.mutable_gallery();
    g->set_dir_uri("file:///work/evals/3/gallery");
    auto* image = g->add_images();
    image->set_image_id(12);
    image->set_uri("file:///work/evals/3/gallery/000012.jpg");
    image->set_bytes(2345);
    image->set_deleted_by_job_id(99);  // ignored in requests: only the store sets it
    v1::RecordEvaluationResponse resp;
    ASSERT_TRUE(Call(&v1::Coordinator::Stub::RecordEvaluation, req, &resp).ok());
    EXPECT_EQ(resp.evaluation().gallery().images(0).deleted_by_job_id(), 0);
  }

  v1::SubmitRetentionRequest ret;
  v1::SubmitRetentionResponse plan;
  ret.set_keep_last(-3);
  grpc::Status neg = CallScheduler(&v1::Scheduler::Stub::SubmitRetention, ret, &plan);
  EXPECT_EQ(neg.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(neg.error_message(), "keep_last must be >= 0 (checkpoints kept per run), got -3");
  ret.set_keep_last(0);
  ret.set_dry_run(true);
  ASSERT_TRUE(CallScheduler(&v1::Scheduler::Stub::SubmitRetention, ret, &plan).ok());
  EXPECT_EQ(plan.job_id(), 0);
  EXPECT_EQ(plan.to_delete(), 2);
  ASSERT_EQ(plan.verdicts_size(), 3);
  EXPECT_EQ(plan.verdicts(2).keep_reasons(0), "pinned");
  EXPECT_EQ(plan.verdicts(0).gallery_files(), 1);
  EXPECT_EQ(plan.verdicts(0).gallery_bytes(), 2345);
  EXPECT_EQ(plan.gallery_files(), 1);
  EXPECT_EQ(plan.gallery_bytes(), 2345);
  EXPECT_EQ(plan.leftover_gallery_files(), 0);
  EXPECT_EQ(plan.bytes_to_free(), 2345);  // the checkpoints were registered with 0 bytes
  ret.set_dry_run(false);
  ASSERT_TRUE(CallScheduler(&v1::Scheduler::Stub::SubmitRetention, ret, &plan).ok());
  ASSERT_GT(plan.job_id(), 0);

  // A worker leases it, gets the list, and reports.
  v1::RegisterWorkerRequest reg;
  reg.set_name("w");
  v1::RegisterWorkerResponse worker;
  ASSERT_TRUE(CallScheduler(&v1::Scheduler::Stub::RegisterWorker, reg, &worker).ok());
  v1::LeaseJobRequest lease;
  lease.set_worker_id(worker.worker_id());
  v1::LeaseJobResponse leased;
  ASSERT_TRUE(CallScheduler(&v1::Scheduler::Stub::LeaseJob, lease, &leased).ok());
  ASSERT_TRUE(leased.has_job());
  EXPECT_EQ(leased.job().kind(), "retention");  // deprecated string, for older workers
  EXPECT_EQ(leased.job().job_kind(), v1::JOB_KIND_RETENTION);
  EXPECT_EQ(leased.job().run_name(), "");
  auto spec = nlohmann::json::parse(leased.job().spec_json());
  ASSERT_EQ(spec["delete"].size(), 2u);
  v1::CompleteJobRequest complete;
  complete.set_lease_id(leased.job().lease_id());
  complete.set_outcome(v1::JOB_OUTCOME_SUCCEEDED);
  auto* d = complete.add_deletions();
  d->set_checkpoint_id(spec["delete"][0]["checkpoint_id"].get<int64_t>());
  v1::CompleteJobResponse completed;
  EXPECT_EQ(CallScheduler(&v1::Scheduler::Stub::CompleteJob, complete, &completed).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);  // no result
  d->set_result(v1::DELETION_RESULT_DELETED);
  d->set_bytes_freed(10);
  d = complete.add_deletions();
  d->set_checkpoint_id(spec["delete"][1]["checkpoint_id"].get<int64_t>());
  d->set_result(v1::DELETION_RESULT_FAILED);
  d->set_reason("read-only file system");
  ASSERT_EQ(spec["delete_gallery"].size(), 1u);
  EXPECT_EQ(spec["delete_gallery"][0]["uri"], "file:///work/evals/3/gallery/000012.jpg");
  auto* gd = complete.add_gallery_deletions();
  gd->set_uri(spec["delete_gallery"][0]["uri"].get<std::string>());
  EXPECT_EQ(CallScheduler(&v1::Scheduler::Stub::CompleteJob, complete, &completed).error_message(),
            "deletion of gallery file file:///work/evals/3/gallery/000012.jpg: result is required");
  gd->set_result(v1::DELETION_RESULT_DELETED);
  gd->set_bytes_freed(2345);
  ASSERT_TRUE(CallScheduler(&v1::Scheduler::Stub::CompleteJob, complete, &completed).ok());
  {
    v1::GetRunRequest get;
    get.mutable_run()->set_name("a");
    v1::GetRunResponse run;
    ASSERT_TRUE(Call(&v1::Coordinator::Stub::GetRun, get, &run).ok());
    ASSERT_EQ(run.evaluations_size(), 1);
    const v1::GalleryImage& image = run.evaluations(0).gallery().images(0);
    EXPECT_GT(image.deleted_unix_ms(), 0);
    EXPECT_EQ(image.deleted_by_job_id(), plan.job_id());
    EXPECT_EQ(image.deleting_job_id(), 0);
    EXPECT_DOUBLE_EQ(run.evaluations(0).stats().ap(), 0.3);  // the numbers stay
  }

  v1::ListJobsRequest jobs;
  jobs.set_kind("retention");
  v1::ListJobsResponse listed;
  ASSERT_TRUE(CallScheduler(&v1::Scheduler::Stub::ListJobs, jobs, &listed).ok());
  ASSERT_EQ(listed.jobs_size(), 1);
  EXPECT_EQ(listed.jobs(0).state(), "succeeded");
  auto result = nlohmann::json::parse(listed.jobs(0).result_json());
  EXPECT_EQ(result["deleted"], 1);
  EXPECT_EQ(result["gallery_deleted"], 1);
  EXPECT_EQ(result["bytes_freed"], 10 + 2345);
  EXPECT_EQ(result["failures"][0]["reason"], "read-only file system");
  EXPECT_EQ(listed.jobs(0).job_state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(listed.jobs(0).job_kind(), v1::JOB_KIND_RETENTION);
  jobs.set_kind("cleanup");
  EXPECT_EQ(CallScheduler(&v1::Scheduler::Stub::ListJobs, jobs, &listed).error_message(),
            "unknown job kind 'cleanup'; expected train, eval or retention");
  // The enum filter is read first (the string is for clients from before it).
  jobs.set_job_kind(v1::JOB_KIND_RETENTION);
  ASSERT_TRUE(CallScheduler(&v1::Scheduler::Stub::ListJobs, jobs, &listed).ok());
  ASSERT_EQ(listed.jobs_size(), 1);
  jobs.clear_kind();
  jobs.set_job_kind(v1::JOB_KIND_TRAIN);
  ASSERT_TRUE(CallScheduler(&v1::Scheduler::Stub::ListJobs, jobs, &listed).ok());
  EXPECT_EQ(listed.jobs_size(), 0);
  jobs.set_job_kind(static_cast<v1::JobKind>(9));  // from a newer client
  EXPECT_EQ(CallScheduler(&v1::Scheduler::Stub::ListJobs, jobs, &listed).error_message(),
            "unknown job kind '9'; expected train, eval or retention");

  // Deleted: still listed, marked; resolving it for use is FAILED_PRECONDITION naming it.
  v1::ListCheckpointsRequest list;
  v1::ListCheckpointsResponse lr;
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::ListCheckpoints, list, &lr).ok());
  ASSERT_EQ(lr.checkpoints_size(), 3);
  EXPECT_GT(lr.checkpoints(0).deleted_unix_ms(), 0);
  EXPECT_EQ(lr.checkpoints(0).deleted_by_job_id(), plan.job_id());
  EXPECT_EQ(lr.checkpoints(1).deleted_unix_ms(), 0);  // the failed one stays
  v1::ResolveCheckpointRequest res;
  v1::ResolveCheckpointResponse got;
  res.set_ref("a/step100");
  grpc::Status gone = Call(&v1::Coordinator::Stub::ResolveCheckpoint, res, &got);
  EXPECT_EQ(gone.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(
      gone.error_message(),
      absl::StrCat("checkpoint a/step100-ep1-loss1.0 was deleted by retention job ", plan.job_id(),
                   ": its file is gone (the row is kept for lineage and evaluations)"));
  v1::ForkRunRequest fork;
  fork.set_checkpoint("a/step100");
  v1::ForkRunResponse forked;
  EXPECT_EQ(CallScheduler(&v1::Scheduler::Stub::ForkRun, fork, &forked).error_message(),
            gone.error_message());
  pin.set_checkpoint("a/step100");
  EXPECT_EQ(Call(&v1::Coordinator::Stub::SetCheckpointPinned, pin, &pinned).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(CoordinatorServiceTest, RecordEvaluationAndErrors) {
  CreateRun("a");
  CreateRun("b");
  Register("a", "step100-ep1-loss1.0");
  auto req = EvalRequest("a", 0.3);
  req.set_checkpoint("step100");
  req.add_per_category()->set_category_id(1);
  req.mutable_per_category(0)->set_category_name("person");
  req.mutable_per_category(0)->set_ap(0.4);
  v1::RecordEvaluationResponse resp;
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::RecordEvaluation, req, &resp).ok());
  EXPECT_TRUE(resp.created());
  EXPECT_EQ(resp.evaluation().checkpoint_name(), "step100-ep1-loss1.0");
  EXPECT_EQ(resp.evaluation().eval_key(),
            "bbox|score_threshold=0.05|top_k=100|nms_iou=?|max_dets=100|dataset=sha256:val");
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::RecordEvaluation, req, &resp).ok());
  EXPECT_FALSE(resp.created());

  auto wrong_run = req;
  wrong_run.mutable_run()->set_name("b");
  EXPECT_EQ(Call(&v1::Coordinator::Stub::RecordEvaluation, wrong_run, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  auto bad_iou = EvalRequest("a", 0.3);
  bad_iou.mutable_settings()->set_iou_type(static_cast<v1::IouType>(7));
  grpc::Status st = Call(&v1::Coordinator::Stub::RecordEvaluation, bad_iou, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "unknown iou type 7; expected bbox or segm");
  auto no_dataset = EvalRequest("a", 0.3);
  no_dataset.mutable_settings()->clear_dataset_fingerprint();
  EXPECT_EQ(Call(&v1::Coordinator::Stub::RecordEvaluation, no_dataset, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  auto nan = EvalRequest("a", std::nan(""));
  EXPECT_EQ(Call(&v1::Coordinator::Stub::RecordEvaluation, nan, &resp).error_message(),
            "stat AP is not a finite number");
  v1::RecordEvaluationRequest nothing;
  nothing.mutable_settings()->set_dataset_fingerprint("d");
  EXPECT_EQ(Call(&v1::Coordinator::Stub::RecordEvaluation, nothing, &resp).error_message(),
            "run or checkpoint is required");
}

// Issue 7: detection counts and the gallery travel with RecordEvaluation and come back from
// GetRun; the same checkpoint re-scored at a low threshold shows more detections.
TEST_F(CoordinatorServiceTest, EvaluationOutputsAndGalleryOverTheWire) {
  CreateRun("a");
  Register("a", "step100-ep1-loss1.0");
  auto at = [&](double score_threshold, int64_t detections, int64_t max_per_image) {
    auto req = EvalRequest("a", 0.3, score_threshold);
    req.set_checkpoint("a/step100");
    auto* o = req.mutable_outputs();
    o->set_detections(detections);
    o->set_images(40);
    o->set_detections_per_image_max(max_per_image);
    o->set_results_bytes(detections * 400);
    o->set_detections_per_image_mean(123);  // ignored: the coordinator derives it
    auto* g = req.mutable_gallery();
    g->set_dir_uri("file:///work/evals/3/gallery");
    g->set_seed(0);
    auto* image = g->add_images();
    image->set_image_id(12);
    image->set_uri("file:///work/evals/3/gallery/000012.jpg");
    image->set_bytes(23456);
    image->set_detections(max_per_image);
    return req;
  };
  v1::RecordEvaluationResponse resp;
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::RecordEvaluation, at(0.05, 120, 9), &resp).ok());
  ASSERT_TRUE(resp.evaluation().has_outputs());
  EXPECT_EQ(resp.evaluation().outputs().detections(), 120);
  EXPECT_DOUBLE_EQ(resp.evaluation().outputs().detections_per_image_mean(), 3.0);
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::RecordEvaluation, at(0.005, 2950, 100), &resp).ok());

  v1::GetRunRequest get;
  get.mutable_run()->set_name("a");
  v1::GetRunResponse run;
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::GetRun, get, &run).ok());
  ASSERT_EQ(run.evaluations_size(), 2);
  const v1::Evaluation& normal = run.evaluations(0);
  const v1::Evaluation& low = run.evaluations(1);
  EXPECT_EQ(normal.settings().score_threshold(), 0.05);
  EXPECT_EQ(low.settings().score_threshold(), 0.005);
  EXPECT_EQ(normal.outputs().detections(), 120);
  EXPECT_EQ(normal.outputs().images(), 40);
  EXPECT_EQ(normal.outputs().detections_per_image_max(), 9);
  EXPECT_EQ(normal.outputs().results_bytes(), 48000);
  EXPECT_EQ(low.outputs().detections(), 2950);
  EXPECT_GT(low.outputs().detections_per_image_mean(),
            normal.outputs().detections_per_image_mean());
  EXPECT_EQ(normal.gallery().dir_uri(), "file:///work/evals/3/gallery");
  ASSERT_EQ(normal.gallery().images_size(), 1);
  EXPECT_EQ(normal.gallery().images(0).image_id(), 12);
  EXPECT_EQ(normal.gallery().images(0).uri(), "file:///work/evals/3/gallery/000012.jpg");
  EXPECT_EQ(normal.gallery().images(0).bytes(), 23456);
  EXPECT_EQ(normal.gallery().images(0).detections(), 9);

  // An evaluation without outputs (a diary import, an older worker) has none on the wire.
  CreateRun("b");
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::RecordEvaluation, EvalRequest("b", 0.2), &resp).ok());
  EXPECT_FALSE(resp.evaluation().has_outputs());
  EXPECT_FALSE(resp.evaluation().has_gallery());

  auto no_images = at(0.5, 3, 3);
  no_images.mutable_outputs()->set_images(0);
  grpc::Status st = Call(&v1::Coordinator::Stub::RecordEvaluation, no_images, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "evaluation outputs: 3 detections on 0 images");
  auto escaping = at(0.5, 3, 3);
  escaping.mutable_gallery()->mutable_images(0)->set_uri("file:///etc/shadow.jpg");
  st = Call(&v1::Coordinator::Stub::RecordEvaluation, escaping, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(),
            "gallery: image 12 uri 'file:///etc/shadow.jpg' is not a .jpg/.jpeg file directly "
            "inside file:///work/evals/3/gallery");
  auto recount = at(0.05, 121, 9);
  EXPECT_EQ(Call(&v1::Coordinator::Stub::RecordEvaluation, recount, &resp).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
}

TEST_F(CoordinatorServiceTest, LeaderboardGroupsAndErrors) {
  CreateRun("a");
  CreateRun("b");
  CreateRun("c");
  v1::RecordEvaluationResponse resp;
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::RecordEvaluation, EvalRequest("a", 0.30), &resp).ok());
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::RecordEvaluation, EvalRequest("b", 0.32), &resp).ok());
  ASSERT_TRUE(
      Call(&v1::Coordinator::Stub::RecordEvaluation, EvalRequest("c", 0.90, 0.005), &resp).ok());
  v1::LeaderboardRequest req;
  req.set_sort_by("AP");
  v1::LeaderboardResponse board;
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::Leaderboard, req, &board).ok());
  ASSERT_EQ(board.groups_size(), 2);
  EXPECT_TRUE(board.groups(0).selected());
  ASSERT_EQ(board.groups(0).rows_size(), 2);
  EXPECT_EQ(board.groups(0).rows(0).run().name(), "b");
  EXPECT_EQ(board.groups(0).rows(1).run().name(), "a");
  EXPECT_FALSE(board.groups(1).selected());
  EXPECT_EQ(board.groups(1).run_count(), 1);

  req.set_sort_by("AP51");
  grpc::Status st = Call(&v1::Coordinator::Stub::Leaderboard, req, &board);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(),
            "unknown stat 'AP51'; expected one of AP, AP50, AP75, APs, APm, APl, AR1, AR10, "
            "AR100, ARs, ARm, ARl");
  req.set_sort_by("ARl");
  req.set_iou_type(static_cast<v1::IouType>(3));
  EXPECT_EQ(Call(&v1::Coordinator::Stub::Leaderboard, req, &board).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  req.set_iou_type(v1::IOU_TYPE_BBOX);
  req.set_group("bbox|nope");
  EXPECT_EQ(Call(&v1::Coordinator::Stub::Leaderboard, req, &board).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(CoordinatorServiceTest, CompareRunsAndErrors) {
  CreateRun("a", R"({"conf_loss": "ohem"})");
  CreateRun("b", R"({"conf_loss": "focal"})");
  v1::RecordEvaluationResponse resp;
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::RecordEvaluation, EvalRequest("a", 0.262), &resp).ok());
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::RecordEvaluation, EvalRequest("b", 0.268), &resp).ok());
  v1::CompareRunsRequest req;
  req.mutable_a()->set_name("a");
  req.mutable_b()->set_name("b");
  v1::CompareRunsResponse cmp;
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::CompareRuns, req, &cmp).ok());
  ASSERT_EQ(cmp.config_diff_size(), 1);
  EXPECT_EQ(cmp.config_diff(0).a_json(), "\"ohem\"");
  ASSERT_EQ(cmp.stats_size(), 1);
  EXPECT_TRUE(cmp.stats(0).comparable());
  EXPECT_NEAR(cmp.stats(0).delta().ap(), 0.006, 1e-12);

  req.mutable_b()->set_name("zzz");
  EXPECT_EQ(Call(&v1::Coordinator::Stub::CompareRuns, req, &cmp).error_code(),
            grpc::StatusCode::NOT_FOUND);
  req.mutable_b()->set_name("a");
  EXPECT_EQ(Call(&v1::Coordinator::Stub::CompareRuns, req, &cmp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  req.clear_b();
  EXPECT_EQ(Call(&v1::Coordinator::Stub::CompareRuns, req, &cmp).error_message(),
            "run b is required");
}

TEST_F(CoordinatorServiceTest, ImportDiarySkipsBadEntriesAndIsIdempotent) {
  v1::ImportDiaryRequest req;
  req.set_source("notes.txt");
  req.set_sweep("notes");
  auto* e = req.add_entries();
  e->set_line(4);
  e->set_run_name("notes-1");
  e->set_new_run(true);
  e->set_config_json(R"({"lr": 0.001})");
  e->set_checkpoint_name("step0000100-ep001-loss2.000");
  e->mutable_settings()->set_dataset_fingerprint("diary:notes.txt");
  e->mutable_stats()->set_ap(0.2);
  v1::ImportDiaryResponse resp;
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::ImportDiary, req, &resp).ok());
  EXPECT_EQ(resp.runs_created(), 1);
  EXPECT_EQ(resp.checkpoints_created(), 1);
  EXPECT_EQ(resp.evaluations_created(), 1);
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::ImportDiary, req, &resp).ok());
  EXPECT_EQ(resp.evaluations_created(), 0);
  EXPECT_FALSE(resp.entries(0).evaluation_created());

  auto* bad = req.add_entries();
  *bad = req.entries(0);
  bad->set_line(30);
  bad->set_run_name("notes-2");
  bad->set_parent_checkpoint("step0999999");
  auto* unreadable = req.add_entries();
  *unreadable = req.entries(0);
  unreadable->set_line(20);
  unreadable->set_run_name("notes-3");
  unreadable->set_config_json("{not json");
  auto* good = req.add_entries();
  *good = req.entries(0);
  good->set_line(40);
  good->set_run_name("notes-4");
  good->set_parent_checkpoint("step0000100");
  good->set_checkpoint_name("step0000200-ep002-loss1.000");
  ASSERT_TRUE(Call(&v1::Coordinator::Stub::ImportDiary, req, &resp).ok());
  ASSERT_EQ(resp.skipped_size(), 2);
  EXPECT_EQ(resp.skipped(0).line(), 20);
  EXPECT_EQ(resp.skipped(0).reason().rfind("config_json is not JSON: ", 0), 0u)
      << resp.skipped(0).reason();
  EXPECT_EQ(resp.skipped(1).line(), 30);
  EXPECT_EQ(resp.skipped(1).reason(), "no checkpoint matches 'step0999999'");
  EXPECT_EQ(resp.runs_created(), 1);  // notes-4, forked from notes-1's checkpoint
  ASSERT_EQ(resp.entries_size(), 2);
  EXPECT_EQ(resp.entries(1).line(), 40);
  EXPECT_EQ(coordinator_->store().FindRunByName("notes-2").status().code(),
            absl::StatusCode::kNotFound);
  auto fork = coordinator_->store().FindRunByName("notes-4");
  ASSERT_TRUE(fork.ok()) << fork.status();
  EXPECT_EQ(fork->parent_run_name, "notes-1");
}

TEST_F(CoordinatorServiceTest, ConcurrentWritersAllLand) {
  CreateRun("shared");
  constexpr int kThreads = 8;
  constexpr int kCallsPerThread = 25;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        v1::LogMetricsRequest req;
        req.mutable_run()->set_name("shared");
        auto* p = req.add_points();
        p->set_step(t * 1000 + i);
        p->set_key("loss");
        p->set_value(i);
        v1::LogMetricsResponse resp;
        if (!Call(&v1::Coordinator::Stub::LogMetrics, req, &resp).ok()) ++failures;
        v1::CreateRunRequest run;
        run.set_name(absl::StrCat("t", t, "-", i));
        v1::CreateRunResponse created;
        if (!Call(&v1::Coordinator::Stub::CreateRun, run, &created).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto points = coordinator_->store().ListMetrics(RunId{1}, "loss");
  ASSERT_TRUE(points.ok());
  EXPECT_EQ(points->size(), static_cast<size_t>(kThreads * kCallsPerThread));
  RunFilter all;
  all.limit = 1000;
  EXPECT_EQ(coordinator_->store().ListRuns(all)->size(),
            static_cast<size_t>(kThreads * kCallsPerThread + 1));
}

// Server reflection answers list_services with our service and the health service. The request
// is a hand-encoded ServerReflectionRequest{list_services: ""} (field 7, bytes 0x3a 0x00).
TEST_F(CoordinatorServiceTest, ReflectionListsTheServices) {
  auto channel = grpc::CreateChannel(coordinator_->address(), grpc::InsecureChannelCredentials());
  grpc::GenericStub generic(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::CompletionQueue cq;
  auto call = generic.PrepareCall(
      &ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag = nullptr;
  bool ok = false;
  auto step = [&](intptr_t expected) {
    EXPECT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(reinterpret_cast<intptr_t>(tag), expected);
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(step(1));
  grpc::Slice slice(std::string("\x3a\x00", 2));
  grpc::ByteBuffer request(&slice, 1);
  call->Write(request, reinterpret_cast<void*>(2));
  ASSERT_TRUE(step(2));
  grpc::ByteBuffer response;
  call->Read(&response, reinterpret_cast<void*>(3));
  ASSERT_TRUE(step(3));
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const auto& sl : slices) bytes.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
  EXPECT_NE(bytes.find("ablate.v1.Coordinator"), std::string::npos);
  EXPECT_NE(bytes.find("grpc.health.v1.Health"), std::string::npos);
  call->WritesDone(reinterpret_cast<void*>(4));
  step(4);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  step(5);
  EXPECT_TRUE(status.ok()) << status.error_message();
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

}  // namespace
}  // namespace ablate::server
