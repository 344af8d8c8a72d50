// The retention job's contract: the spec as queued and as leased, and the job's result, read and
// written back; every malformed field named.
#include "protocol/retention_spec.h"

#include <gtest/gtest.h>

namespace ablate::protocol {
namespace {

using nlohmann::json;

// A leased spec as docs/retention.md describes it.
json LeasedJson() {
  return json::parse(R"({
    "kind": "retention", "keep_last": 2, "scope": {"run": "r", "run_id": 4, "sweep": "s"},
    "delete": [{"checkpoint_id": 7, "run": "r", "name": "step0000100", "uri": "file:///w/a.pt",
                "bytes": 12}],
    "delete_gallery": [{"checkpoint_id": 7, "run": "r", "checkpoint": "step0000100",
                        "image_id": 12, "uri": "file:///w/g/000012.jpg", "bytes": 345}]})");
}

std::string Error(const json& j) {
  auto spec = ParseRetentionSpec(j);
  return spec.ok() ? "ok" : std::string(spec.status().message());
}

std::string ResultError(const json& j) {
  auto result = ParseRetentionResult(j);
  return result.ok() ? "ok" : std::string(result.status().message());
}

TEST(RetentionSpecTest, LeasedSpecRoundTrips) {
  auto spec = ParseLeasedRetentionSpec(LeasedJson());
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->keep_last, 2);
  EXPECT_EQ(spec->scope, (RetentionScope{"r", 4, "s"}));
  ASSERT_TRUE(spec->files.has_value());
  EXPECT_EQ(spec->files->checkpoints,
            (std::vector<RetentionCheckpointFile>{{7, "r", "step0000100", "file:///w/a.pt", 12}}));
  EXPECT_EQ(spec->files->gallery, (std::vector<RetentionGalleryFile>{
                                      {7, "r", "step0000100", 12, "file:///w/g/000012.jpg", 345}}));
  EXPECT_EQ(RetentionSpecToJson(*spec), LeasedJson());
}

TEST(RetentionSpecTest, QueuedSpecHasNoListsAndOnlyTheScopeItSets) {
  RetentionSpec queued;
  queued.keep_last = 1;
  queued.scope.sweep = "s";
  EXPECT_EQ(RetentionSpecToJson(queued),
            json::parse(R"({"kind": "retention", "keep_last": 1, "scope": {"sweep": "s"}})"));
  auto back = ParseRetentionSpec(RetentionSpecToJson(queued));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, queued);
  EXPECT_FALSE(back->files.has_value());

  // Every run, the coordinator's default K: nothing but the kind.
  EXPECT_EQ(RetentionSpecToJson(RetentionSpec{}), json::parse(R"({"kind": "retention"})"));
  auto defaults = ParseRetentionSpec(json::parse(R"({"kind": "retention"})"));
  ASSERT_TRUE(defaults.ok());
  EXPECT_FALSE(defaults->keep_last.has_value());
  EXPECT_TRUE(defaults->scope.empty());

  // A queued spec is not what a worker accepts.
  EXPECT_EQ(ParseLeasedRetentionSpec(RetentionSpecToJson(queued)).status().message(),
            "retention job spec: 'delete' must be a list");
}

TEST(RetentionSpecTest, EmptyListsAreWrittenAndAnOldCoordinatorsSpecWithoutGalleryIsRead) {
  RetentionSpec spec;
  spec.files = RetentionFiles{};
  EXPECT_EQ(RetentionSpecToJson(spec),
            json::parse(R"({"kind": "retention", "delete": [], "delete_gallery": []})"));
  auto old = ParseLeasedRetentionSpec(
      json::parse(R"({"delete": [{"checkpoint_id": 3, "uri": "file:///w/b.pt"}]})"));
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->files->checkpoints,
            (std::vector<RetentionCheckpointFile>{{3, "", "", "file:///w/b.pt", 0}}));
  EXPECT_TRUE(old->files->gallery.empty());
}

TEST(RetentionSpecTest, UrisAreTheWorkersToCheck) {
  json j = LeasedJson();
  j["delete"][0]["uri"] = "s3://bucket/a.pt";
  EXPECT_EQ(Error(j), "ok");
}

TEST(RetentionSpecTest, RejectsMalformedSpecsNamingTheField) {
  EXPECT_EQ(Error(json::array()), "retention job spec: not a JSON object");
  json j = LeasedJson();
  j["kind"] = "train";
  EXPECT_EQ(Error(j), "retention job spec: kind is 'train', expected 'retention'");
  j = LeasedJson();
  j["keep_last"] = -1;
  EXPECT_EQ(Error(j), "retention job spec: keep_last must be >= 0");
  j["keep_last"] = "2";
  EXPECT_EQ(Error(j), "retention job spec: keep_last must be an integer");
  j = LeasedJson();
  j["scope"] = "s";
  EXPECT_EQ(Error(j), "retention job spec: 'scope' must be an object");
  j = LeasedJson();
  j["scope"]["run_id"] = "4";
  EXPECT_EQ(Error(j), "retention job spec: scope.run_id must be an integer");
  j = LeasedJson();
  j["delete"] = json::object();
  EXPECT_EQ(Error(j), "retention job spec: 'delete' must be a list");
  j = LeasedJson();
  j["delete"][0].erase("checkpoint_id");
  EXPECT_EQ(Error(j), "retention job spec: delete[0] needs checkpoint_id and uri");
  j = LeasedJson();
  j["delete"][0]["bytes"] = 1.5;
  EXPECT_EQ(Error(j), "retention job spec: delete[0].bytes must be an integer");
  j = LeasedJson();
  j["delete"][0]["name"] = 100;
  EXPECT_EQ(Error(j), "retention job spec: delete[0].name must be a string");
  j = LeasedJson();
  j["delete_gallery"] = json::object();
  EXPECT_EQ(Error(j), "retention job spec: 'delete_gallery' must be a list");
  j = LeasedJson();
  j["delete_gallery"][0].erase("uri");
  EXPECT_EQ(Error(j), "retention job spec: delete_gallery[0] needs a uri");
  j = LeasedJson();
  j["delete_gallery"][0]["image_id"] = "12";
  EXPECT_EQ(Error(j), "retention job spec: delete_gallery[0].image_id must be an integer");
  j = LeasedJson();
  j.erase("delete");
  EXPECT_EQ(Error(j),
            "retention job spec: 'delete_gallery' without 'delete' (the lists come together)");
}

TEST(RetentionResultTest, RoundTripsAndStartsFromNothing) {
  const json text = json::parse(R"({
    "deleted": 2, "missing": 1, "failed": 1, "ignored": 0, "bytes_freed": 3090,
    "gallery_deleted": 3, "gallery_missing": 0, "gallery_failed": 1, "gallery_ignored": 2,
    "gallery_bytes_freed": 90,
    "failures": [{"checkpoint": "a/step300", "reason": "permission denied"},
                 {"file": "file:///w/g/000001.jpg", "reason": "kept with its checkpoint"}]})");
  auto r = ParseRetentionResult(text);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->deleted, 2);
  EXPECT_EQ(r->bytes_freed, 3090);
  EXPECT_EQ(r->gallery_ignored, 2);
  ASSERT_EQ(r->failures.size(), 2u);
  EXPECT_EQ(r->failures[0], (RetentionFailure{"a/step300", "", "permission denied"}));
  EXPECT_EQ(r->failures[1],
            (RetentionFailure{"", "file:///w/g/000001.jpg", "kept with its checkpoint"}));
  EXPECT_EQ(RetentionResultToJson(*r), text);

  auto none = ParseRetentionResult(json::object());  // a job no attempt has completed
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, RetentionResult{});
}

TEST(RetentionResultTest, RejectsMalformedResultsNamingTheField) {
  EXPECT_EQ(ResultError(json::array()), "retention result: not a JSON object");
  EXPECT_EQ(ResultError(json::parse(R"({"deleted": "2"})")),
            "retention result: deleted must be an integer");
  EXPECT_EQ(ResultError(json::parse(R"({"gallery_bytes_freed": 1.5})")),
            "retention result: gallery_bytes_freed must be an integer");
  EXPECT_EQ(ResultError(json::parse(R"({"failures": {}})")),
            "retention result: 'failures' must be a list");
  EXPECT_EQ(ResultError(json::parse(R"({"failures": [{"reason": "x"}]})")),
            "retention result: failures[0] needs exactly one of checkpoint and file");
  EXPECT_EQ(ResultError(json::parse(R"({"failures": [{"checkpoint": "a/b"}]})")),
            "retention result: failures[0] needs a reason");
  EXPECT_EQ(ResultError(json::parse(R"({"failures": [{"file": 3, "reason": "x"}]})")),
            "retention result: failures[0].file must be a string");
}

}  // namespace
}  // namespace ablate::protocol
