// Conversions from the store's types to ablate.v1 messages shared by the gRPC adapters
// (CoordinatorService, SchedulerService).
#pragma once

#include <optional>

#include "ablate/v1/coordinator.pb.h"
#include "ablate/v1/scheduler.pb.h"
#include "server/job_store.h"
#include "server/run_store.h"

namespace ablate::server {

v1::RunStatus ToProto(RunStatus s);
v1::JobKind ToProto(JobKind k);
v1::JobState ToProto(JobState s);
// nullopt for UNSPECIFIED and values this build does not know.
std::optional<JobKind> JobKindFromProto(v1::JobKind k);
std::optional<JobState> JobStateFromProto(v1::JobState s);
void ToProto(const Run& r, v1::Run* p);
void ToProto(const Checkpoint& c, v1::Checkpoint* p);
// Issue 7: an evaluation's counts (the mean is derived) and gallery.
void ToProto(const EvaluationOutputs& o, v1::EvaluationOutputs* p);
void ToProto(const Gallery& g, v1::Gallery* p);
EvaluationOutputs FromProto(const v1::EvaluationOutputs& p);
Gallery FromProto(const v1::Gallery& p);

}  // namespace ablate::server
