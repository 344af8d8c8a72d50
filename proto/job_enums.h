// Job kind and state between the coordinator and its clients (scheduler.proto JobKind, JobState).
//
// Wire compatibility: the enum fields (job_kind, job_state) came after the string fields (kind,
// state), which are deprecated but still filled. Writers set both (SetJobKind, SetJobState);
// readers take the enum and fall back to the string when the enum is UNSPECIFIED, i.e. when the
// message came from a coordinator or client built before the enums (JobKindOf, JobStateOf).
// docs/coordinator.md "Job kind and state as enums".
//
// Pure functions on messages; safe from any thread.
#pragma once

#include <string_view>

#include "ablate/v1/scheduler.pb.h"

namespace ablate::rpc {

// "train", "eval", "retention"; "" for UNSPECIFIED or a value this build does not know.
std::string_view JobKindName(v1::JobKind kind);
// "pending", "leased", "succeeded", "failed", "cancelled"; "" likewise.
std::string_view JobStateName(v1::JobState state);
// The inverse; UNSPECIFIED for any other text (the empty string included).
v1::JobKind ParseJobKind(std::string_view name);
v1::JobState ParseJobState(std::string_view name);

// The enum, else the deprecated string parsed; UNSPECIFIED when neither says.
v1::JobKind JobKindOf(const v1::Job& job);
v1::JobKind JobKindOf(const v1::JobSummary& job);
v1::JobKind JobKindOf(const v1::ListJobsRequest& request);
v1::JobState JobStateOf(const v1::JobSummary& job);

// Sets the enum and the deprecated string together.
void SetJobKind(v1::JobKind kind, v1::Job* job);
void SetJobKind(v1::JobKind kind, v1::JobSummary* job);
void SetJobKind(v1::JobKind kind, v1::ListJobsRequest* request);
void SetJobState(v1::JobState state, v1::JobSummary* job);

}  // namespace ablate::rpc
