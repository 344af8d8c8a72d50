// Conversions from the store's types to ablate.v1 messages shared by the gRPC adapters
// (CoordinatorService, SchedulerService).
#pragma once

#include "ablate/v1/coordinator.pb.h"
#include "server/run_store.h"

namespace ablate::server {

v1::RunStatus ToProto(RunStatus s);
void ToProto(const Run& r, v1::Run* p);
void ToProto(const Checkpoint& c, v1::Checkpoint* p);

}  // namespace ablate::server
