#include "proto/job_enums.h"

#include <cstddef>
#include <string>

#include "protocol/job_names.h"

namespace ablate::rpc {

// The enums number protocol/job_names.h's lists from 1 (0 is UNSPECIFIED).
static_assert(v1::JOB_KIND_TRAIN == 1 &&
              static_cast<std::size_t>(v1::JobKind_MAX) == protocol::kJobKindNames.size());
static_assert(v1::JOB_STATE_PENDING == 1 &&
              static_cast<std::size_t>(v1::JobState_MAX) == protocol::kJobStateNames.size());

std::string_view JobKindName(v1::JobKind kind) {
  return protocol::NameOf(protocol::kJobKindNames, kind, "", v1::JOB_KIND_TRAIN);
}
std::string_view JobStateName(v1::JobState state) {
  return protocol::NameOf(protocol::kJobStateNames, state, "", v1::JOB_STATE_PENDING);
}
v1::JobKind ParseJobKind(std::string_view name) {
  return protocol::EnumNamed<v1::JobKind>(protocol::kJobKindNames, name, v1::JOB_KIND_TRAIN)
      .value_or(v1::JOB_KIND_UNSPECIFIED);
}
v1::JobState ParseJobState(std::string_view name) {
  return protocol::EnumNamed<v1::JobState>(protocol::kJobStateNames, name, v1::JOB_STATE_PENDING)
      .value_or(v1::JOB_STATE_UNSPECIFIED);
}

namespace {

template <typename Message>
v1::JobKind KindOf(const Message& m) {
  return m.job_kind() != v1::JOB_KIND_UNSPECIFIED ? m.job_kind() : ParseJobKind(m.kind());
}

template <typename Message>
void SetKind(v1::JobKind kind, Message* m) {
  m->set_job_kind(kind);
  m->set_kind(std::string(JobKindName(kind)));
}

}  // namespace

v1::JobKind JobKindOf(const v1::Job& job) { return KindOf(job); }
v1::JobKind JobKindOf(const v1::JobSummary& job) { return KindOf(job); }
v1::JobKind JobKindOf(const v1::ListJobsRequest& request) { return KindOf(request); }

v1::JobState JobStateOf(const v1::JobSummary& job) {
  return job.job_state() != v1::JOB_STATE_UNSPECIFIED ? job.job_state()
                                                      : ParseJobState(job.state());
}

void SetJobKind(v1::JobKind kind, v1::Job* job) { SetKind(kind, job); }
void SetJobKind(v1::JobKind kind, v1::JobSummary* job) { SetKind(kind, job); }
void SetJobKind(v1::JobKind kind, v1::ListJobsRequest* request) { SetKind(kind, request); }

void SetJobState(v1::JobState state, v1::JobSummary* job) {
  job->set_job_state(state);
  job->set_state(std::string(JobStateName(state)));
}

}  // namespace ablate::rpc
