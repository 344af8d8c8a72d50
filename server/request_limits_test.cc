// The limits a hostile client meets at the coordinator's gRPC boundary (issue 13): message size,
// metric batch size, JSON nesting, run names that would become paths, checkpoint URIs with '..'.
// Each refused request leaves the store as it was.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proto/grpc_limits.h"
#include "server/coordinator.h"
#include "server/testing/loopback_coordinator.h"

namespace ablate::server {
namespace {

class RequestLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    coordinator_ = testing::StartLoopbackCoordinator("limits_");
    ASSERT_NE(coordinator_, nullptr);
    // A plain channel: no client-side send limit, so the server's own limit is what answers.
    stub_ = v1::Coordinator::NewStub(testing::LoopbackChannel(*coordinator_));
  }

  template <typename Req, typename Resp, typename M>
  grpc::Status Call(M method, const Req& req, Resp* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return ((*stub_).*method)(&ctx, req, resp);
  }

  grpc::Status CreateRun(const std::string& name, const std::string& config_json) {
    v1::CreateRunRequest req;
    req.set_name(name);
    req.set_config_json(config_json);
    v1::CreateRunResponse resp;
    return Call(&v1::Coordinator::Stub::CreateRun, req, &resp);
  }

  grpc::Status RegisterCheckpoint(const std::string& uri) {
    v1::RegisterCheckpointRequest req;
    req.mutable_run()->set_name("r1");
    req.set_name("step0000100");
    req.set_uri(uri);
    v1::RegisterCheckpointResponse resp;
    return Call(&v1::Coordinator::Stub::RegisterCheckpoint, req, &resp);
  }

  size_t RunCount() {
    auto runs = coordinator_->store().ListRuns({});
    EXPECT_TRUE(runs.ok()) << runs.status();
    return runs.ok() ? runs->size() : 0;
  }

  std::unique_ptr<Coordinator> coordinator_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
};

TEST_F(RequestLimitsTest, MessageOverTheLimitIsResourceExhausted) {
  grpc::Status st = CreateRun("big", "\"" + std::string(rpc::kMaxGrpcMessageBytes, 'x') + "\"");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_NE(st.error_message().find("larger than max"), std::string::npos) << st.error_message();
  EXPECT_NE(st.error_message().find(std::to_string(rpc::kMaxGrpcMessageBytes)), std::string::npos)
      << st.error_message();
  EXPECT_EQ(RunCount(), 0u);
}

TEST_F(RequestLimitsTest, ClientChannelRefusesToSendAnOversizedMessage) {
  auto stub = v1::Coordinator::NewStub(grpc::CreateCustomChannel(
      coordinator_->address(), grpc::InsecureChannelCredentials(), rpc::LimitedChannelArguments()));
  v1::CreateRunRequest req;
  req.set_name("big");
  req.set_config_json(std::string(rpc::kMaxGrpcMessageBytes, ' ') + "{}");
  v1::CreateRunResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st = stub->CreateRun(&ctx, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_NE(st.error_message().find("Sent message larger than max"), std::string::npos)
      << st.error_message();
}

TEST_F(RequestLimitsTest, MetricBatchOverTheDefaultLimitIsRefused) {
  ASSERT_TRUE(CreateRun("r1", "{}").ok());
  v1::LogMetricsRequest req;
  req.mutable_run()->set_name("r1");
  for (int i = 0; i <= 10000; ++i) {
    auto* p = req.add_points();
    p->set_step(i);
    p->set_key("loss");
    p->set_value(1.0);
  }
  v1::LogMetricsResponse resp;
  grpc::Status st = Call(&v1::Coordinator::Stub::LogMetrics, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(),
            "LogMetrics batch of 10001 points exceeds the limit of 10000; split it into smaller "
            "batches");
  auto points = coordinator_->store().ListMetrics(RunId{1}, "loss");
  ASSERT_TRUE(points.ok());
  EXPECT_TRUE(points->empty());
}

TEST_F(RequestLimitsTest, DeeplyNestedConfigIsRefused) {
  grpc::Status st = CreateRun("deep", std::string(100000, '[') + std::string(100000, ']'));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "config_json nests deeper than 64 levels (the JSON depth limit)");
  EXPECT_EQ(RunCount(), 0u);
}

TEST_F(RequestLimitsTest, RunNamesThatWouldBePathsAreRefused) {
  for (const std::string& name :
       std::vector<std::string>{"../escape", "a/b", "..", ".", std::string("a\0b", 3)}) {
    grpc::Status st = CreateRun(name, "{}");
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << name;
    EXPECT_NE(st.error_message().find("is not a plain name (it becomes a folder name"),
              std::string::npos)
        << st.error_message();
  }
  grpc::Status long_name = CreateRun(std::string(201, 'a'), "{}");
  EXPECT_EQ(long_name.error_message(), "run name of 201 bytes is longer than the limit of 200");
  EXPECT_EQ(RunCount(), 0u);
  EXPECT_TRUE(CreateRun(std::string(200, 'a'), "{}").ok());
}

TEST_F(RequestLimitsTest, CheckpointUrisWithTraversalAreRefused) {
  ASSERT_TRUE(CreateRun("r1", "{}").ok());
  for (const std::string uri : {"file:///ckpt/../etc/passwd", "file:///ckpt/./x.pt",
                                "file:///ckpt/..", "file://relative/x.pt", "file:x.pt"}) {
    grpc::Status st = RegisterCheckpoint(uri);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << uri;
    EXPECT_EQ(st.error_message().rfind("checkpoint uri '" + uri + "' ", 0), 0u)
        << st.error_message();
  }
  auto none = coordinator_->store().ListCheckpoints(RunId{1});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  // A bare file name from a diary is an opaque reference and stays allowed.
  EXPECT_TRUE(RegisterCheckpoint("step0000100.pt").ok());
}

TEST_F(RequestLimitsTest, CheckpointUriWithNulIsRefused) {
  ASSERT_TRUE(CreateRun("r1", "{}").ok());
  grpc::Status st = RegisterCheckpoint(std::string("file:///ckpt/a.pt\0/../../etc", 28));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("has a '.' or '..' component or a NUL"), std::string::npos)
      << st.error_message();
}

}  // namespace
}  // namespace ablate::server
