#include "server/access_interceptor.h"

#include <iostream>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "common/mutex.h"
#include "proto/grpc_status.h"
#include "server/access_policy.h"

namespace ablate::server {
namespace {

using grpc::experimental::InterceptionHookPoints;

// Denied calls in flight, by their ServerContextBase. An entry lives from the interceptor's
// decision until the interceptor is destroyed (the end of the call).
class DenialRegistry {
 public:
  void Record(const void* context, grpc::Status status) {
    MutexLock lock(&mu_);
    denials_[context] = std::move(status);
  }
  void Forget(const void* context) {
    MutexLock lock(&mu_);
    denials_.erase(context);
  }
  grpc::Status Find(const void* context) {
    MutexLock lock(&mu_);
    auto it = denials_.find(context);
    return it == denials_.end() ? grpc::Status::OK : it->second;
  }

 private:
  Mutex mu_;
  std::unordered_map<const void*, grpc::Status> denials_ ABSL_GUARDED_BY(mu_);
};

DenialRegistry& Registry() {
  static DenialRegistry* registry = new DenialRegistry();
  return *registry;
}

std::string_view CodeName(grpc::StatusCode code) {
  static constexpr std::string_view kNames[] = {"OK",
                                                "CANCELLED",
                                                "UNKNOWN",
                                                "INVALID_ARGUMENT",
                                                "DEADLINE_EXCEEDED",
                                                "NOT_FOUND",
                                                "ALREADY_EXISTS",
                                                "PERMISSION_DENIED",
                                                "RESOURCE_EXHAUSTED",
                                                "FAILED_PRECONDITION",
                                                "ABORTED",
                                                "OUT_OF_RANGE",
                                                "UNIMPLEMENTED",
                                                "INTERNAL",
                                                "UNAVAILABLE",
                                                "DATA_LOSS",
                                                "UNAUTHENTICATED"};
  const int i = static_cast<int>(code);
  return i >= 0 && i < 17 ? kNames[i] : "UNKNOWN";
}

class AccessInterceptor : public grpc::experimental::Interceptor {
 public:
  AccessInterceptor(grpc::experimental::ServerRpcInfo* info, const TokenTable* tokens,
                    const AuditSink* audit)
      : info_(info), tokens_(tokens), audit_(audit), method_(info->method()) {}

  ~AccessInterceptor() override {
    if (denied_) Registry().Forget(info_->server_context());
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      Decide(*methods->GetRecvInitialMetadata());
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      Audit(methods->GetSendStatus());
    }
    methods->Proceed();
  }

 private:
  void Decide(std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
    std::optional<std::string> authorization;
    if (auto it = metadata.find("authorization"); it != metadata.end()) {
      authorization = std::string(it->second.data(), it->second.size());
    }
    metadata.erase("authorization");
    const MethodAccess* access = FindMethodAccess(method_);
    mutating_ = access != nullptr && access->mutating;
    if (IsPublicMethod(method_)) {
      mutating_ = false;
      return;
    }
    if (tokens_ == nullptr) {
      principal_ = Principal{Role::kAdmin, "anonymous"};
      anonymous_ = true;
      return;
    }
    StatusOr<Principal> principal = Authorize(
        *tokens_, authorization ? std::optional<std::string_view>(*authorization) : std::nullopt,
        method_);
    if (principal.ok()) {
      principal_ = *std::move(principal);
      return;
    }
    denied_ = true;
    // The role of a known token that may not call the method, for the audit line.
    if (authorization) {
      if (auto token = BearerToken(*authorization)) {
        if (auto p = tokens_->Find(*token)) principal_ = *p;
      }
    }
    Registry().Record(info_->server_context(), rpc::ToGrpcStatus(principal.status()));
  }

  void Audit(const grpc::Status& status) {
    if (!mutating_ && !denied_) return;
    if (!*audit_) return;
    std::string role = "-";
    std::string name = "-";
    if (principal_) {
      role = anonymous_ ? "none" : std::string(RoleName(principal_->role));
      name = principal_->name;
    }
    (*audit_)(absl::StrCat("audit method=", method_, " role=", role, " name=", name,
                           " peer=", info_->server_context()->peer(),
                           " status=", std::string(CodeName(status.error_code()))));
  }

  grpc::experimental::ServerRpcInfo* info_;
  const TokenTable* tokens_;
  const AuditSink* audit_;
  std::string method_;
  std::optional<Principal> principal_;
  bool anonymous_ = false;
  bool mutating_ = false;
  bool denied_ = false;
};

class AccessInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  AccessInterceptorFactory(const TokenTable* tokens, AuditSink audit)
      : tokens_(tokens), audit_(std::move(audit)) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new AccessInterceptor(info, tokens_, &audit_);
  }

 private:
  const TokenTable* tokens_;
  AuditSink audit_;
};

}  // namespace

AuditSink StderrAuditSink() {
  return [](const std::string& line) {
    static std::mutex mu;
    std::lock_guard<std::mutex> lock(mu);
    std::cerr << line << '\n' << std::flush;
  };
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeAccessInterceptorFactory(
    const TokenTable* tokens, AuditSink audit) {
  return std::make_unique<AccessInterceptorFactory>(tokens, std::move(audit));
}

grpc::Status AccessDenial(const grpc::ServerContextBase* context) {
  return Registry().Find(context);
}

}  // namespace ablate::server
