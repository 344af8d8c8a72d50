// Conversions between the store's types and ablate.v1 messages: to messages for the gRPC
// adapters (CoordinatorService, SchedulerService); back to records (RecordFromProto) for clients
// that print what the coordinator answered in the records' JSON vocabulary (the CLI's --json,
// server/record_json.h).
#pragma once

#include <optional>

#include "ablate/v1/coordinator.pb.h"
#include "ablate/v1/scheduler.pb.h"
#include "common/coco_stats.h"
#include "server/job_scheduler.h"
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
void ToProto(const SweepProgressCounts& c, v1::SweepProgress* p);
EvaluationOutputs FromProto(const v1::EvaluationOutputs& p);
Gallery FromProto(const v1::Gallery& p);

// CocoStats fields are declared in pycocotools order: field i is stat i. No validation.
CocoStats StatsFromProto(const v1::CocoStats& p);
void ToProto(const CocoStats& s, v1::CocoStats* p);
v1::IouType ToProto(IouType t);
void ToProto(const EvalSettings& s, v1::EvalSettings* p);
// With its eval key, outputs and gallery (the images' retention state included).
void ToProto(const Evaluation& e, v1::Evaluation* p);

// A message from the coordinator back to the record it was made from: every field the message
// carries, retention state included, no validation (unlike the request conversions above). What
// a message does not carry stays at the record's default: a run's parent ids, a job's spec
// fields, and a status, iou type or job kind/state this build does not know (queued, bbox,
// train, pending). The job's kind and state: the enums, else the deprecated strings.
RunStatus RunStatusFromProto(v1::RunStatus s);  // UNSPECIFIED and unknown values: kQueued
EvalSettings RecordFromProto(const v1::EvalSettings& p);
Run RecordFromProto(const v1::Run& p);
Checkpoint RecordFromProto(const v1::Checkpoint& p);
Gallery RecordFromProto(const v1::Gallery& p);  // with the images' retention state
Evaluation RecordFromProto(const v1::Evaluation& p);
Job RecordFromProto(const v1::JobSummary& p);
SweepProgressCounts RecordFromProto(const v1::SweepProgress& p);

}  // namespace ablate::server
