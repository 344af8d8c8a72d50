#include "server/coordinator.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "proto/grpc_limits.h"
#include "server/train_config_validator.h"

namespace ablate::server {

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
  c->service_ = std::make_unique<CoordinatorService>(*c->store_, options.service);
  c->scheduler_service_ = std::make_unique<SchedulerService>(*c->scheduler_);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen_address, grpc::InsecureServerCredentials(), &c->port_);
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
