// Who may do what (docs/security.md): every method of ablate.v1.Coordinator and
// ablate.v1.Scheduler, taken from the proto descriptors (so a new RPC without an access-table entry
// fails here), called over a real loopback channel with no token, a malformed one, an unknown one
// and each role's token; plus the audit log those calls leave.
#include "server/access_policy.h"

#include <google/protobuf/descriptor.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include <future>
#include <mutex>
#include <set>

#include "ablate/v1/coordinator.grpc.pb.h"
#include "ablate/v1/scheduler.grpc.pb.h"
#include "absl/strings/str_cat.h"
#include "proto/client_channel.h"
#include "server/coordinator.h"
#include "server/test_util.h"

namespace ablate::server {
namespace {

constexpr char kAdminToken[] = "admin-token-0123456789abcdef";
constexpr char kWorkerToken[] = "worker-token-0123456789abcdef";
constexpr char kReaderToken[] = "reader-token-0123456789abcdef";
constexpr char kUnknownToken[] = "nobody-token-0123456789abcdef";

// The specification, written out here rather than read from the table under test.
const std::set<std::string> kReaderMethods = {"/ablate.v1.Coordinator/GetRun",
                                              "/ablate.v1.Coordinator/ListRuns",
                                              "/ablate.v1.Coordinator/ResolveCheckpoint",
                                              "/ablate.v1.Coordinator/ListCheckpoints",
                                              "/ablate.v1.Coordinator/Leaderboard",
                                              "/ablate.v1.Coordinator/CompareRuns",
                                              "/ablate.v1.Scheduler/ListSweeps",
                                              "/ablate.v1.Scheduler/GetSweep",
                                              "/ablate.v1.Scheduler/Lineage",
                                              "/ablate.v1.Scheduler/ListJobs"};
const std::set<std::string> kWorkerMethods = {"/ablate.v1.Coordinator/SetRunStatus",
                                              "/ablate.v1.Coordinator/LogMetrics",
                                              "/ablate.v1.Coordinator/RegisterCheckpoint",
                                              "/ablate.v1.Coordinator/RecordEvaluation",
                                              "/ablate.v1.Scheduler/RegisterWorker",
                                              "/ablate.v1.Scheduler/LeaseJob",
                                              "/ablate.v1.Scheduler/Heartbeat",
                                              "/ablate.v1.Scheduler/CompleteJob"};

std::vector<std::string> ServiceMethods() {
  std::vector<std::string> methods;
  for (const char* service : {"ablate.v1.Coordinator", "ablate.v1.Scheduler"}) {
    const google::protobuf::ServiceDescriptor* d =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service);
    EXPECT_NE(d, nullptr) << service;
    if (d == nullptr) continue;
    for (int i = 0; i < d->method_count(); ++i) {
      methods.push_back(absl::StrCat("/", service, "/", d->method(i)->name()));
    }
  }
  return methods;
}

// One unary call with an empty (all-default) request message.
grpc::Status CallEmpty(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                       const std::string& authorization = "") {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!authorization.empty()) ctx.AddMetadata("authorization", authorization);
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status st) { done.set_value(st); });
  return done.get_future().get();
}

class AccessPolicyTest : public ::testing::Test {
 protected:
  void Start(bool with_tokens) {
    CoordinatorOptions options;
    options.db_path =
        (testing::FreshTempDir(std::string("access_") +
                               ::testing::UnitTest::GetInstance()->current_test_info()->name()) /
         "ablate.db")
            .string();
    options.listen_address = "127.0.0.1:0";
    if (with_tokens) {
      auto tokens =
          TokenTable::Parse(absl::StrCat("# roles\nadmin ", kAdminToken, " alice\nworker ",
                                         kWorkerToken, " gpu-box-1\nreader ", kReaderToken, "\n"),
                            "tokens");
      ASSERT_TRUE(tokens.ok()) << tokens.status();
      options.tokens = *tokens;
    }
    options.audit = [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(mu_);
      audit_.push_back(line);
    };
    auto c = Coordinator::Create(options);
    ASSERT_TRUE(c.ok()) << c.status();
    coordinator_ = std::move(*c);
    plain_ = grpc::CreateChannel(coordinator_->address(), grpc::InsecureChannelCredentials());
  }

  std::shared_ptr<grpc::Channel> ChannelWithToken(const std::string& token) {
    rpc::ClientSecurity security;
    security.token = token;
    return rpc::CreateCoordinatorChannel(coordinator_->address(), security);
  }

  std::vector<std::string> AuditLines() {
    std::lock_guard<std::mutex> lock(mu_);
    return audit_;
  }

  std::unique_ptr<Coordinator> coordinator_;
  std::shared_ptr<grpc::Channel> plain_;
  std::mutex mu_;
  std::vector<std::string> audit_;
};

TEST(AccessTableTest, CoversEveryMethodOfBothServicesOnce) {
  const std::vector<std::string> methods = ServiceMethods();
  ASSERT_EQ(methods.size(), 26u);
  for (const std::string& m : methods) {
    const MethodAccess* access = FindMethodAccess(m);
    ASSERT_NE(access, nullptr) << m << " has no entry in server/access_policy.cc";
    EXPECT_EQ(access->reader, kReaderMethods.count(m) == 1) << m;
    EXPECT_EQ(access->worker, kWorkerMethods.count(m) == 1) << m;
    // Everything a reader may call only reads.
    if (access->reader) {
      EXPECT_FALSE(access->mutating) << m;
    }
  }
  EXPECT_EQ(MethodAccessTable().size(), methods.size());
}

TEST_F(AccessPolicyTest, EveryMethodWithEveryRole) {
  Start(/*with_tokens=*/true);
  struct Caller {
    std::string role;
    std::shared_ptr<grpc::Channel> channel;
  };
  const std::vector<Caller> callers = {{"admin", ChannelWithToken(kAdminToken)},
                                       {"worker", ChannelWithToken(kWorkerToken)},
                                       {"reader", ChannelWithToken(kReaderToken)}};
  const std::shared_ptr<grpc::Channel> unknown = ChannelWithToken(kUnknownToken);
  for (const std::string& method : ServiceMethods()) {
    SCOPED_TRACE(method);
    grpc::Status st = CallEmpty(plain_, method);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(st.error_message(),
              absl::StrCat(method,
                           " needs an access token: send metadata `authorization: Bearer TOKEN` "
                           "(ablate --token-file FILE or ABLATE_TOKEN)"));
    st = CallEmpty(plain_, method, absl::StrCat("Basic ", kAdminToken));
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(st.error_message(),
              absl::StrCat(method, ": the authorization metadata is not `Bearer TOKEN`"));
    st = CallEmpty(unknown, method);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(
        st.error_message(),
        absl::StrCat(method, ": unknown access token (not in the coordinator's --auth-tokens)"));
    for (const Caller& caller : callers) {
      const bool allowed = caller.role == "admin" ||
                           (caller.role == "reader" && kReaderMethods.count(method) == 1) ||
                           (caller.role == "worker" && kWorkerMethods.count(method) == 1);
      st = CallEmpty(caller.channel, method);
      if (allowed) {
        // The handler ran: whatever it says about an empty request, it is not a denial.
        EXPECT_NE(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << caller.role;
        EXPECT_NE(st.error_code(), grpc::StatusCode::PERMISSION_DENIED)
            << caller.role << ": " << st.error_message();
      } else {
        EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << caller.role;
        EXPECT_EQ(st.error_message(),
                  absl::StrCat("role '", caller.role, "' may not call ", method));
      }
    }
  }
  // The audit log: one line per mutating call and per denied call, never a token.
  const std::vector<std::string> lines = AuditLines();
  for (const std::string& line : lines) {
    for (const char* token : {kAdminToken, kWorkerToken, kReaderToken, kUnknownToken}) {
      EXPECT_EQ(line.find(token), std::string::npos) << line;
    }
  }
  auto count = [&](const std::string& needle) {
    return std::count_if(lines.begin(), lines.end(),
                         [&](const std::string& l) { return l.find(needle) != std::string::npos; });
  };
  // SubmitSweep (mutating, admin only): all six attempts.
  EXPECT_EQ(count("method=/ablate.v1.Scheduler/SubmitSweep "), 6);
  EXPECT_EQ(
      count("method=/ablate.v1.Scheduler/SubmitSweep role=admin name=alice peer=ipv4:127.0.0.1:"),
      1);
  EXPECT_EQ(count("method=/ablate.v1.Scheduler/SubmitSweep role=reader name=reader-"), 1);
  EXPECT_EQ(count("method=/ablate.v1.Scheduler/SubmitSweep role=- name=- "), 3);
  // ListRuns (a read): only the denials: no token, malformed, unknown, worker.
  EXPECT_EQ(count("method=/ablate.v1.Coordinator/ListRuns "), 4);
  EXPECT_EQ(count("method=/ablate.v1.Coordinator/ListRuns role=worker name=gpu-box-1 peer="
                  "ipv4:127.0.0.1:"),
            1);
  // LogMetrics (mutating, worker): the worker's allowed call with the handler's own status.
  EXPECT_EQ(count("method=/ablate.v1.Coordinator/LogMetrics role=worker name=gpu-box-1 "), 1);
  for (const std::string& line : lines) {
    if (line.find("method=/ablate.v1.Coordinator/LogMetrics role=worker") != std::string::npos) {
      EXPECT_NE(line.find(" status=INVALID_ARGUMENT"), std::string::npos) << line;
    }
    if (line.find("role=- ") != std::string::npos) {
      EXPECT_NE(line.find(" status=UNAUTHENTICATED"), std::string::npos) << line;
    }
  }
}

TEST_F(AccessPolicyTest, HealthNeedsNoTokenAndReflectionIsOff) {
  Start(/*with_tokens=*/true);
  EXPECT_TRUE(CallEmpty(plain_, "/grpc.health.v1.Health/Check").ok());
  grpc::GenericStub stub(plain_);
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", absl::StrCat("Bearer ", kAdminToken));
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                 grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status st) { done.set_value(st); });
  EXPECT_EQ(done.get_future().get().error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

TEST_F(AccessPolicyTest, WithoutTokensEveryCallIsAllowedAndAudited) {
  Start(/*with_tokens=*/false);
  grpc::Status st = CallEmpty(plain_, "/ablate.v1.Scheduler/Cancel");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  EXPECT_TRUE(CallEmpty(plain_, "/ablate.v1.Coordinator/ListRuns").ok());
  const std::vector<std::string> lines = AuditLines();
  ASSERT_EQ(lines.size(), 1u);  // the read is not audited
  EXPECT_EQ(lines[0].rfind("audit method=/ablate.v1.Scheduler/Cancel role=none name=anonymous "
                           "peer=ipv4:127.0.0.1:",
                           0),
            0u)
      << lines[0];
  EXPECT_NE(lines[0].find(" status=INVALID_ARGUMENT"), std::string::npos) << lines[0];
}

}  // namespace
}  // namespace ablate::server
