// Early stopping end to end over a real loopback channel: the test plays a worker running the
// scripted 8-trial sweep of early_stop_test_curves.h (one trial at a time, max_parallel 1), with
// the worker's RPCs — LeaseJob, RegisterCheckpoint + RecordEvaluation at every evaluated step,
// Heartbeat after each, CompleteJob — and checks which trials the coordinator stopped, where,
// why, that their jobs ended and were not retried, and what watch/leaderboard data shows.
#include <gtest/gtest.h>

#include <map>

#include "server/coordinator.h"
#include "server/early_stop_test_curves.h"
#include "server/testing/loopback_coordinator.h"

namespace ablate::server {
namespace {

std::string SweepSpec(const std::string& early_stop) {
  return "name: curves\n"
         "base: {preset: tiny}\n"
         "data: {train: data/train.json, val: data/val.json}\n"
         "budget: {steps: 900, checkpoint_every: 100, eval_every: 100}\n"
         "max_parallel: 1\n"
         "parameters:\n"
         "  lr: [0.001, 0.0015, 0.002, 0.003, 0.004, 0.006, 0.008, 0.01]\n"
         "early_stop: " +
         early_stop + "\n";
}

class EarlyStopServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    coordinator_ = testing::StartLoopbackCoordinator("es_svc_");
    ASSERT_NE(coordinator_, nullptr);
    auto channel = testing::LoopbackChannel(*coordinator_);
    coord_ = v1::Coordinator::NewStub(channel);
    sched_ = v1::Scheduler::NewStub(channel);
  }

  template <typename Stub, typename Req, typename Resp, typename M>
  void Call(Stub& stub, M method, const Req& req, Resp* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Status st = ((*stub).*method)(&ctx, req, resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  // Submits the sweep and plays the worker; returns trial run name -> the last step it trained
  // (900: its whole budget).
  std::map<std::string, int64_t> PlaySweep(const std::string& early_stop) {
    v1::SubmitSweepRequest submit;
    submit.set_spec_yaml(SweepSpec(early_stop));
    submit.set_source("curves.yaml");
    v1::SubmitSweepResponse submitted;
    Call(sched_, &v1::Scheduler::Stub::SubmitSweep, submit, &submitted);
    EXPECT_EQ(submitted.trials_size(), testing::kCurveTrials);

    v1::RegisterWorkerRequest reg;
    reg.set_name("scripted");
    reg.set_slots(1);
    reg.set_device("cpu");
    v1::RegisterWorkerResponse worker;
    Call(sched_, &v1::Scheduler::Stub::RegisterWorker, reg, &worker);

    std::map<std::string, int64_t> trained;
    for (int leases = 0; leases < 2 * testing::kCurveTrials; ++leases) {
      v1::LeaseJobRequest lease;
      lease.set_worker_id(worker.worker_id());
      v1::LeaseJobResponse leased;
      Call(sched_, &v1::Scheduler::Stub::LeaseJob, lease, &leased);
      if (!leased.has_job()) break;
      const std::string run = leased.job().run_name();
      EXPECT_FALSE(trained.count(run)) << run << " was leased twice";
      const int trial = std::stoi(run.substr(run.size() - 2));
      bool stopped = false;
      for (int i = 0; i < testing::kCurveEvals && !stopped; ++i) {
        const int64_t step = testing::kCurveEverySteps * (i + 1);
        char name[32];
        std::snprintf(name, sizeof(name), "step%07lld", static_cast<long long>(step));
        v1::RegisterCheckpointRequest ck;
        ck.mutable_run()->set_name(run);
        ck.set_name(name);
        ck.set_step(step);
        ck.set_uri("file:///scripted/" + run + "/" + name + ".pt");
        v1::RegisterCheckpointResponse ck_resp;
        Call(coord_, &v1::Coordinator::Stub::RegisterCheckpoint, ck, &ck_resp);
        v1::RecordEvaluationRequest ev;
        ev.mutable_run()->set_name(run);
        ev.set_checkpoint(run + "/" + name);
        auto* s = ev.mutable_settings();
        s->set_iou_type(v1::IOU_TYPE_SEGM);
        s->set_score_threshold(0.05);
        s->set_top_k(100);
        s->set_nms_iou(0.5);
        s->set_max_dets(100);
        s->set_dataset_fingerprint("sha256:val");
        ev.mutable_stats()->set_ap(testing::kCurves[trial][i]);
        v1::RecordEvaluationResponse ev_resp;
        Call(coord_, &v1::Coordinator::Stub::RecordEvaluation, ev, &ev_resp);
        trained[run] = step;

        v1::HeartbeatRequest beat;
        beat.set_worker_id(worker.worker_id());
        beat.add_lease_ids(leased.job().lease_id());
        v1::HeartbeatResponse beat_resp;
        Call(sched_, &v1::Scheduler::Stub::Heartbeat, beat, &beat_resp);
        stopped = beat_resp.stop_lease_ids_size() == 1 &&
                  beat_resp.stop_lease_ids(0) == leased.job().lease_id();
      }
      // What the worker does after it killed a stopped trial (as for a cancel) or at the end.
      v1::CompleteJobRequest complete;
      complete.set_lease_id(leased.job().lease_id());
      complete.set_outcome(stopped ? v1::JOB_OUTCOME_CANCELLED : v1::JOB_OUTCOME_SUCCEEDED);
      complete.set_reason(stopped ? "cancelled by the coordinator" : "");
      v1::CompleteJobResponse completed;
      Call(sched_, &v1::Scheduler::Stub::CompleteJob, complete, &completed);
      EXPECT_FALSE(completed.will_retry());
    }
    return trained;
  }

  std::map<std::string, v1::Run> Runs() {
    v1::ListRunsRequest req;
    req.set_sweep("curves");
    v1::ListRunsResponse resp;
    Call(coord_, &v1::Coordinator::Stub::ListRuns, req, &resp);
    std::map<std::string, v1::Run> out;
    for (const auto& r : resp.runs()) out[r.name()] = r;
    return out;
  }

  std::unique_ptr<Coordinator> coordinator_;
  std::unique_ptr<v1::Coordinator::Stub> coord_;
  std::unique_ptr<v1::Scheduler::Stub> sched_;
};

// The hand-worked ASHA run of docs/sweeps.md: t03, t04, t06, t07 stop at rung 100, t05 at rung
// 300; t00-t02 train their whole budget. 3,400 of the grid's 7,200 steps; the best trial (t02,
// 0.36) is among those that finished.
TEST_F(EarlyStopServiceTest, AshaStopsTheScriptedTrialsAndEndsTheirJobs) {
  std::map<std::string, int64_t> trained = PlaySweep(
      "{method: asha, metric: segm.AP, mode: max, grace_steps: 100, reduction_factor: 3}");
  EXPECT_EQ(trained, (std::map<std::string, int64_t>{{"curves-t00", 900},
                                                     {"curves-t01", 900},
                                                     {"curves-t02", 900},
                                                     {"curves-t03", 100},
                                                     {"curves-t04", 100},
                                                     {"curves-t05", 300},
                                                     {"curves-t06", 100},
                                                     {"curves-t07", 100}}));
  int64_t steps = 0;
  for (const auto& [run, step] : trained) steps += step;
  EXPECT_EQ(steps, 3400);

  std::map<std::string, v1::Run> runs = Runs();
  for (const char* done : {"curves-t00", "curves-t01", "curves-t02"}) {
    EXPECT_EQ(runs[done].status(), v1::RUN_STATUS_SUCCEEDED) << done;
    EXPECT_FALSE(runs[done].has_stopped_at_step()) << done;
  }
  for (const char* stopped :
       {"curves-t03", "curves-t04", "curves-t05", "curves-t06", "curves-t07"}) {
    EXPECT_EQ(runs[stopped].status(), v1::RUN_STATUS_STOPPED) << stopped;
  }
  EXPECT_EQ(runs["curves-t05"].stopped_at_step(), 300);
  EXPECT_EQ(runs["curves-t05"].stop_reason(),
            "asha rung 300: segm.AP 0.1900 ranks 3 of 4 results seen there; only the top 1 "
            "continue (reduction_factor 3)");
  EXPECT_EQ(runs["curves-t04"].stopped_at_step(), 100);
  EXPECT_EQ(runs["curves-t04"].stop_reason(),
            "asha rung 100: segm.AP 0.0800 ranks 3 of 5 results seen there; only the top 1 "
            "continue (reduction_factor 3)");

  // `ablate watch` data: progress counts and each trial's run with its stop.
  v1::GetSweepRequest get;
  get.set_sweep("curves");
  v1::GetSweepResponse sweep;
  Call(sched_, &v1::Scheduler::Stub::GetSweep, get, &sweep);
  EXPECT_EQ(sweep.sweep().progress().total(), 8);
  EXPECT_EQ(sweep.sweep().progress().succeeded(), 3);
  EXPECT_EQ(sweep.sweep().progress().stopped(), 5);
  EXPECT_EQ(sweep.sweep().progress().cancelled(), 0);
  for (const auto& t : sweep.trials()) {
    if (t.run().name() == "curves-t06") {
      EXPECT_EQ(t.run().status(), v1::RUN_STATUS_STOPPED);
      EXPECT_EQ(t.last_error(), t.run().stop_reason());
    }
  }
  // The stopped trial's job ended as cancelled with the reason, after one attempt.
  v1::ListJobsRequest jobs_req;
  v1::ListJobsResponse jobs;
  Call(sched_, &v1::Scheduler::Stub::ListJobs, jobs_req, &jobs);
  for (const auto& j : jobs.jobs()) {
    if (j.run() != "curves-t03") continue;
    EXPECT_EQ(j.state(), "cancelled");
    EXPECT_EQ(j.attempts(), 1);
    EXPECT_EQ(j.last_error(),
              "asha rung 100: segm.AP 0.0300 ranks 4 of 4 results seen there; only the top 1 "
              "continue (reduction_factor 3)");
  }

  // The leaderboard ranks stopped trials by what they reached, with their status.
  v1::LeaderboardRequest lb;
  lb.set_sort_by("AP");
  lb.set_iou_type(v1::IOU_TYPE_SEGM);
  lb.set_sweep("curves");
  v1::LeaderboardResponse board;
  Call(coord_, &v1::Coordinator::Stub::Leaderboard, lb, &board);
  ASSERT_EQ(board.groups_size(), 1);
  ASSERT_EQ(board.groups(0).rows_size(), 8);
  EXPECT_EQ(board.groups(0).rows(0).run().name(), "curves-t02");
  EXPECT_DOUBLE_EQ(board.groups(0).rows(0).sort_value(), 0.36);
  const auto& last = board.groups(0).rows(7);
  EXPECT_EQ(last.run().name(), "curves-t06");
  EXPECT_EQ(last.run().status(), v1::RUN_STATUS_STOPPED);
  EXPECT_EQ(last.run().stopped_at_step(), 100);
}

// Median rule, min_trials 3: t03 and t06 stop at 100, t07 at 200, t05 at 300; the late bloomer
// t04 is kept and finishes second (0.35). 4,300 of 7,200 steps.
TEST_F(EarlyStopServiceTest, MedianStopsTheScriptedTrials) {
  std::map<std::string, int64_t> trained =
      PlaySweep("{method: median, metric: segm.AP, mode: max, grace_steps: 100}");
  EXPECT_EQ(trained, (std::map<std::string, int64_t>{{"curves-t00", 900},
                                                     {"curves-t01", 900},
                                                     {"curves-t02", 900},
                                                     {"curves-t03", 100},
                                                     {"curves-t04", 900},
                                                     {"curves-t05", 300},
                                                     {"curves-t06", 100},
                                                     {"curves-t07", 200}}));
  std::map<std::string, v1::Run> runs = Runs();
  EXPECT_EQ(runs["curves-t04"].status(), v1::RUN_STATUS_SUCCEEDED);
  EXPECT_EQ(runs["curves-t07"].status(), v1::RUN_STATUS_STOPPED);
  EXPECT_EQ(runs["curves-t07"].stop_reason(),
            "median at step 200: best segm.AP so far 0.1400 is below the median 0.1600 of 5 "
            "other trials there");
}

}  // namespace
}  // namespace ablate::server
