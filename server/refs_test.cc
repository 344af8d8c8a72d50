#include "server/refs.h"

#include <gtest/gtest.h>

#include "server/test_util.h"

namespace ablate::server {
namespace {

using testing::AddCheckpoint;
using testing::AddRun;

class RefsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::OpenTestStore();
    a_ = AddRun(*store_, "run-a").id;
    b_ = AddRun(*store_, "run-b").id;
    AddCheckpoint(*store_, a_, "step1066300-ep073-loss5.715", 1066300);
    AddCheckpoint(*store_, a_, "step1066-ep001-loss9.000", 1066);
    AddCheckpoint(*store_, b_, "step2000000-ep100-loss4.000", 2000000);
    AddCheckpoint(*store_, b_, "step1066300-ep080-loss5.100", 1066300);
  }
  std::unique_ptr<SqliteRunStore> store_;
  RunId a_, b_;
};

TEST_F(RefsTest, StepPrefixResolvesToTheUniqueCheckpoint) {
  auto c = ResolveCheckpointRef(*store_, "step2000000");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->name, "step2000000-ep100-loss4.000");
  EXPECT_EQ(c->run_name, "run-b");
}

TEST_F(RefsTest, StepPrefixMatchesWholeStepOnly) {
  // "step1066" must not match step1066300-...: only step1066-ep001-... of run-a.
  auto c = ResolveCheckpointRef(*store_, "step1066");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->name, "step1066-ep001-loss9.000");
}

TEST_F(RefsTest, AmbiguousStepListsCandidates) {
  auto c = ResolveCheckpointRef(*store_, "step1066300");
  ASSERT_EQ(c.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(c.status().message()),
            "checkpoint reference 'step1066300' is ambiguous: 2 candidates: "
            "run-a/step1066300-ep073-loss5.715, run-b/step1066300-ep080-loss5.100; qualify it "
            "as RUN/NAME or use the full name");
}

TEST_F(RefsTest, RunQualifiedReference) {
  auto c = ResolveCheckpointRef(*store_, "run-b/step1066300");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->name, "step1066300-ep080-loss5.100");
  auto by_full_name = ResolveCheckpointRef(*store_, "step1066300-ep073-loss5.715");
  ASSERT_TRUE(by_full_name.ok());
  EXPECT_EQ(by_full_name->run_name, "run-a");
}

TEST_F(RefsTest, Errors) {
  EXPECT_EQ(std::string(ResolveCheckpointRef(*store_, "step42").status().message()),
            "no checkpoint matches 'step42'");
  EXPECT_EQ(ResolveCheckpointRef(*store_, "nope/step1066300").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ResolveCheckpointRef(*store_, "run-a/").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveCheckpointRef(*store_, "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveCheckpointRef(*store_, "#999").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RefsTest, RunByNameThenById) {
  auto r = ResolveRunName(*store_, "run-b");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->id, b_);
  auto by_id = ResolveRunName(*store_, std::to_string(a_.value));
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->name, "run-a");
  EXPECT_EQ(std::string(ResolveRunName(*store_, "77").status().message()),
            "run '77' not found (neither a run name nor a run id)");
}

}  // namespace
}  // namespace ablate::server
