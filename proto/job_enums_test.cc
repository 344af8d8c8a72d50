// Job kind and state: enum first, the deprecated string for messages from older builds.
#include "proto/job_enums.h"

#include <gtest/gtest.h>

namespace ablate::rpc {
namespace {

TEST(JobEnumsTest, NamesRoundTrip) {
  EXPECT_EQ(JobKindName(v1::JOB_KIND_RETENTION), "retention");
  EXPECT_EQ(ParseJobKind("eval"), v1::JOB_KIND_EVAL);
  EXPECT_EQ(ParseJobKind("Eval"), v1::JOB_KIND_UNSPECIFIED);
  EXPECT_EQ(ParseJobKind(""), v1::JOB_KIND_UNSPECIFIED);
  EXPECT_EQ(JobKindName(v1::JOB_KIND_UNSPECIFIED), "");
  EXPECT_EQ(JobStateName(v1::JOB_STATE_CANCELLED), "cancelled");
  EXPECT_EQ(ParseJobState("leased"), v1::JOB_STATE_LEASED);
  EXPECT_EQ(ParseJobState("lost"), v1::JOB_STATE_UNSPECIFIED);
}

TEST(JobEnumsTest, WritersFillBothFields) {
  v1::JobSummary j;
  SetJobKind(v1::JOB_KIND_TRAIN, &j);
  SetJobState(v1::JOB_STATE_SUCCEEDED, &j);
  EXPECT_EQ(j.job_kind(), v1::JOB_KIND_TRAIN);
  EXPECT_EQ(j.kind(), "train");
  EXPECT_EQ(j.job_state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(j.state(), "succeeded");
  v1::Job leased;
  SetJobKind(v1::JOB_KIND_RETENTION, &leased);
  EXPECT_EQ(leased.kind(), "retention");
  EXPECT_EQ(leased.job_kind(), v1::JOB_KIND_RETENTION);
}

TEST(JobEnumsTest, ReadersPreferTheEnum) {
  v1::Job job;
  job.set_job_kind(v1::JOB_KIND_EVAL);
  job.set_kind("train");  // disagreeing string: the enum wins
  EXPECT_EQ(JobKindOf(job), v1::JOB_KIND_EVAL);
}

TEST(JobEnumsTest, ReadersFallBackToTheStringOfOlderBuilds) {
  // What a coordinator from before the enums sends: the strings only.
  v1::JobSummary old;
  old.set_kind("retention");
  old.set_state("leased");
  EXPECT_EQ(JobKindOf(old), v1::JOB_KIND_RETENTION);
  EXPECT_EQ(JobStateOf(old), v1::JOB_STATE_LEASED);
  // And an older CLI's filter.
  v1::ListJobsRequest filter;
  filter.set_kind("eval");
  EXPECT_EQ(JobKindOf(filter), v1::JOB_KIND_EVAL);
  // Neither set: unspecified.
  EXPECT_EQ(JobKindOf(v1::Job()), v1::JOB_KIND_UNSPECIFIED);
  EXPECT_EQ(JobStateOf(v1::JobSummary()), v1::JOB_STATE_UNSPECIFIED);
}

TEST(JobEnumsTest, OldReadersSeeTheStringAfterTheWire) {
  // A new writer's bytes parsed by a reader that knows only the strings: the same message type
  // here, reading only `kind`/`state` as an old build would.
  v1::JobSummary j;
  SetJobKind(v1::JOB_KIND_EVAL, &j);
  SetJobState(v1::JOB_STATE_PENDING, &j);
  v1::JobSummary parsed;
  ASSERT_TRUE(parsed.ParseFromString(j.SerializeAsString()));
  EXPECT_EQ(parsed.kind(), "eval");
  EXPECT_EQ(parsed.state(), "pending");
}

}  // namespace
}  // namespace ablate::rpc
