#include "server/coordinator.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/impl/server_builder_plugin.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "proto/grpc_limits.h"
#include "server/train_config_validator.h"

namespace ablate::server {
namespace {

// Drops the (process-wide) server reflection plugin from one server: a secured coordinator does
// not answer reflection, which gRPC interceptors cannot guard (docs/security.md).
class WithoutReflection : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->erase(std::remove_if(plugins->begin(), plugins->end(),
                                  [](const std::unique_ptr<grpc::ServerBuilderPlugin>& p) {
                                    return p->name().find("reflection") != std::string::npos;
                                  }),
                   plugins->end());
  }
};

}  // namespace

StatusOr<std::unique_ptr<Coordinator>> Coordinator::Create(const CoordinatorOptions& options) {
  auto c = std::unique_ptr<Coordinator>(new Coordinator());
  SqliteRunStoreOptions store_options;
  store_options.path = options.db_path;
  store_options.clock = options.clock;
  ABLATE_ASSIGN_OR_RETURN(c->store_, SqliteRunStore::Open(store_options));
  const Clock& clock = options.clock != nullptr ? *options.clock : c->system_clock_;
  c->job_store_ = std::make_unique<SqliteJobStore>(*c->store_, clock);
  c->scheduler_ = std::make_unique<JobScheduler>(*c->store_, *c->job_store_, ValidateTrainConfig,
                                                 options.scheduler);
  JobScheduler* scheduler = c->scheduler_.get();
  c->service_ = std::make_unique<CoordinatorService>(
      *c->store_, options.service,
      [scheduler](RunId run) { return scheduler->ApplyEarlyStopping(run).status(); });
  c->scheduler_service_ = std::make_unique<SchedulerService>(*c->scheduler_);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  if (options.tls_cert_pem.empty() != options.tls_key_pem.empty()) {
    return absl::InvalidArgumentError("TLS needs both a certificate and a private key");
  }
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (!options.tls_cert_pem.empty()) {
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({options.tls_key_pem, options.tls_cert_pem});
    credentials = grpc::SslServerCredentials(ssl);
  }
  builder.AddListeningPort(options.listen_address, credentials, &c->port_);
  c->tokens_ = options.tokens;
  if (c->tokens_) builder.SetOption(std::make_unique<WithoutReflection>());
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(MakeAccessInterceptorFactory(
      c->tokens_ ? &*c->tokens_ : nullptr, options.audit ? options.audit : StderrAuditSink()));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  builder.RegisterService(c->service_.get());
  builder.RegisterService(c->scheduler_service_.get());
  // Diary imports and metric batches can be large; 64 MiB is far above the batch limits.
  builder.SetMaxReceiveMessageSize(rpc::kMaxGrpcMessageBytes);
  builder.SetMaxSendMessageSize(rpc::kMaxGrpcMessageBytes);
  // gRPC sets SO_REUSEPORT by default, which would let a second coordinator bind the same port
  // and split the traffic between two writers of different databases.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  c->server_ = builder.BuildAndStart();
  if (!c->server_ || c->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen_address,
                                               " (address in use or not a valid HOST:PORT)"));
  }
  const size_t colon = options.listen_address.rfind(':');
  c->address_ = absl::StrCat(options.listen_address.substr(0, colon), ":", c->port_);
  return c;
}

Coordinator::~Coordinator() { Shutdown(); }

void Coordinator::Shutdown(int deadline_ms) {
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(deadline_ms));
  }
}

void Coordinator::Wait() {
  if (server_) server_->Wait();
}

}  // namespace ablate::server
