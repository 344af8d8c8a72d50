// The coordinator's composition root: store -> services -> gRPC server, built in that order and
// torn down in reverse. Create() either returns a serving coordinator or an error; never a
// half-built one (the database is migrated before anything listens).
//
// Thread safety: Shutdown() and Wait() may be called from any thread.
#pragma once

#include <grpcpp/server.h>

#include <memory>
#include <optional>
#include <string>

#include "common/access_tokens.h"
#include "common/clock.h"
#include "server/access_interceptor.h"
#include "server/coordinator_service.h"
#include "server/job_scheduler.h"
#include "server/scheduler_service.h"
#include "server/sqlite_job_store.h"
#include "server/sqlite_run_store.h"

namespace ablate::server {

struct CoordinatorOptions {
  std::string db_path;  // required; created and migrated if needed
  // "HOST:PORT"; port 0 picks a free port (see Coordinator::port()).
  std::string listen_address = "127.0.0.1:50051";
  const Clock* clock = nullptr;  // nullptr: system clock. Not owned.
  CoordinatorServiceOptions service;
  JobSchedulerOptions scheduler;
  // Access tokens (docs/security.md). nullopt: every call is allowed (loopback use); with tokens,
  // every RPC but grpc.health needs one and server reflection is off.
  std::optional<TokenTable> tokens;
  // PEM certificate chain and private key; both empty: plaintext. Both set: TLS only.
  std::string tls_cert_pem;
  std::string tls_key_pem;
  // Audit lines (server/access_interceptor.h); empty: StderrAuditSink().
  AuditSink audit;
};

class Coordinator {
 public:
  // FailedPrecondition for a database newer than this binary; Unavailable when the address
  // cannot be bound; other store errors as they come.
  static StatusOr<std::unique_ptr<Coordinator>> Create(const CoordinatorOptions& options);
  ~Coordinator();

  int port() const { return port_; }
  std::string address() const { return address_; }
  RunStore& store() { return *store_; }
  JobStore& job_store() { return *job_store_; }
  const MigrationReport& migration_report() const { return store_->migration_report(); }

  // Stops accepting calls and waits (up to `deadline_ms`) for in-flight ones.
  void Shutdown(int deadline_ms = 2000);
  // Blocks until Shutdown().
  void Wait();

 private:
  Coordinator() = default;

  SystemClock system_clock_;
  std::optional<TokenTable> tokens_;
  std::unique_ptr<SqliteRunStore> store_;
  std::unique_ptr<SqliteJobStore> job_store_;
  std::unique_ptr<JobScheduler> scheduler_;
  std::unique_ptr<CoordinatorService> service_;
  std::unique_ptr<SchedulerService> scheduler_service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::string address_;
};

}  // namespace ablate::server
