// Conversions from the store's types to ablate.v1 messages shared by the gRPC adapters
// (CoordinatorService, SchedulerService).
#pragma once

#include "ablate/v1/coordinator.pb.h"
#include "server/run_store.h"

namespace ablate::server {

v1::RunStatus ToProto(RunStatus s);
void ToProto(const Run& r, v1::Run* p);
void ToProto(const Checkpoint& c, v1::Checkpoint* p);
// Issue 7: an evaluation's counts (the mean is derived) and gallery.
void ToProto(const EvaluationOutputs& o, v1::EvaluationOutputs* p);
void ToProto(const Gallery& g, v1::Gallery* p);
EvaluationOutputs FromProto(const v1::EvaluationOutputs& p);
Gallery FromProto(const v1::Gallery& p);

}  // namespace ablate::server
