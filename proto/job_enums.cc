#include "proto/job_enums.h"

#include <string>

namespace ablate::rpc {

std::string_view JobKindName(v1::JobKind kind) {
  switch (kind) {
    case v1::JOB_KIND_TRAIN:
      return "train";
    case v1::JOB_KIND_EVAL:
      return "eval";
    case v1::JOB_KIND_RETENTION:
      return "retention";
    default:
      return "";
  }
}

std::string_view JobStateName(v1::JobState state) {
  switch (state) {
    case v1::JOB_STATE_PENDING:
      return "pending";
    case v1::JOB_STATE_LEASED:
      return "leased";
    case v1::JOB_STATE_SUCCEEDED:
      return "succeeded";
    case v1::JOB_STATE_FAILED:
      return "failed";
    case v1::JOB_STATE_CANCELLED:
      return "cancelled";
    default:
      return "";
  }
}

v1::JobKind ParseJobKind(std::string_view name) {
  for (v1::JobKind k : {v1::JOB_KIND_TRAIN, v1::JOB_KIND_EVAL, v1::JOB_KIND_RETENTION}) {
    if (name == JobKindName(k)) return k;
  }
  return v1::JOB_KIND_UNSPECIFIED;
}

v1::JobState ParseJobState(std::string_view name) {
  for (v1::JobState s : {v1::JOB_STATE_PENDING, v1::JOB_STATE_LEASED, v1::JOB_STATE_SUCCEEDED,
                         v1::JOB_STATE_FAILED, v1::JOB_STATE_CANCELLED}) {
    if (name == JobStateName(s)) return s;
  }
  return v1::JOB_STATE_UNSPECIFIED;
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
