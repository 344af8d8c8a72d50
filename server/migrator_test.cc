#include "server/migrator.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/atomic_file.h"
#include "server/sqlite_run_store.h"

namespace ablate::server {
namespace {

namespace fs = std::filesystem;

fs::path TempDbPath(const std::string& name) {
  fs::path dir = fs::temp_directory_path() /
                 ("ablate_migrator_test_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir / "ablate.db";
}

TEST(MigratorTest, FreshDatabaseMatchesCheckedInSnapshot) {
  FakeClock clock;
  auto db = SqliteDb::Open(TempDbPath("snapshot").string());
  ASSERT_TRUE(db.ok()) << db.status();
  auto report = Migrate(**db, clock);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->from_version, 0);
  EXPECT_EQ(report->to_version, migrations::EmbeddedMigrations().back().version);
  EXPECT_EQ(report->applied, static_cast<int>(migrations::EmbeddedMigrations().size()));
  auto snapshot = SchemaSnapshot(**db);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  auto expected = ReadFile("migrations/schema.snapshot.sql");
  ASSERT_TRUE(expected.ok()) << expected.status();
  if (*snapshot != *expected) {
    fs::path actual = fs::temp_directory_path() / "ablate_schema.snapshot.actual.sql";
    std::ofstream(actual) << *snapshot;
    FAIL() << "the migrated schema differs from migrations/schema.snapshot.sql; review " << actual
           << " and copy it over the snapshot if the change is intended";
  }
}

TEST(MigratorTest, SecondRunIsANoOp) {
  FakeClock clock;
  auto db = SqliteDb::Open(TempDbPath("noop").string());
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(Migrate(**db, clock).ok());
  auto again = Migrate(**db, clock);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->from_version, again->to_version);
  auto version = SchemaVersion(**db);
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, again->to_version);
}

TEST(MigratorTest, NewerDatabaseIsRefusedWithClearMessage) {
  FakeClock clock;
  const std::string path = TempDbPath("newer").string();
  {
    auto db = SqliteDb::Open(path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(Migrate(**db, clock).ok());
    ASSERT_TRUE((*db)->Exec("INSERT INTO schema_version VALUES (7, '0007_future', 0)").ok());
  }
  auto db = SqliteDb::Open(path);
  ASSERT_TRUE(db.ok());
  auto report = Migrate(**db, clock);
  ASSERT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
  const int supported = migrations::EmbeddedMigrations().back().version;
  EXPECT_EQ(std::string(report.status().message()),
            "database schema version 7 is newer than this ablate binary supports (" +
                std::to_string(supported) + "); upgrade ablate");
  // The store refuses to open it the same way.
  SqliteRunStoreOptions options;
  options.path = path;
  auto store = SqliteRunStore::Open(options);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(MigratorTest, FailingMigrationLeavesDatabaseAtOldVersion) {
  FakeClock clock;
  auto db = SqliteDb::Open(TempDbPath("failing").string());
  ASSERT_TRUE(db.ok());
  const migrations::Migration list[] = {
      {1, "0001_ok", "CREATE TABLE a (x INTEGER);"},
      {2, "0002_broken", "CREATE TABLE b (y INTEGER); THIS IS NOT SQL;"},
  };
  auto report = Migrate(**db, clock, list);
  ASSERT_EQ(report.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(report.status().message().find("0002_broken"), absl::string_view::npos);
  auto version = SchemaVersion(**db);
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, 0);
  auto snapshot = SchemaSnapshot(**db);
  ASSERT_TRUE(snapshot.ok());
  EXPECT_EQ(*snapshot, "");  // not even table a: one transaction
}

TEST(MigratorTest, EmbeddedNumbersOutOfOrderAreInternal) {
  FakeClock clock;
  auto db = SqliteDb::Open(TempDbPath("order").string());
  ASSERT_TRUE(db.ok());
  const migrations::Migration list[] = {{2, "0002_b", "SELECT 1;"}, {1, "0001_a", "SELECT 1;"}};
  auto report = Migrate(**db, clock, list);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(std::string(report.status().message()),
            "embedded migrations are not numbered in increasing order: 0001_a comes after "
            "version 2");
}

// Branches number migrations independently (0004 here while 0003 is written elsewhere): a
// database migrated to 1, 2, 4 gets 3 when a binary embedding 1-4 starts.
TEST(MigratorTest, GapsAreAllowedAndAMissingVersionIsAppliedLater) {
  FakeClock clock;
  auto db = SqliteDb::Open(TempDbPath("gap").string());
  ASSERT_TRUE(db.ok());
  const migrations::Migration without_3[] = {{1, "0001_a", "CREATE TABLE a (x INTEGER);"},
                                             {2, "0002_b", "CREATE TABLE b (x INTEGER);"},
                                             {4, "0004_d", "CREATE TABLE d (x INTEGER);"}};
  auto first = Migrate(**db, clock, without_3);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->to_version, 4);
  EXPECT_EQ(first->applied, 3);
  const migrations::Migration merged[] = {{1, "0001_a", "CREATE TABLE a (x INTEGER);"},
                                          {2, "0002_b", "CREATE TABLE b (x INTEGER);"},
                                          {3, "0003_c", "CREATE TABLE c (x INTEGER);"},
                                          {4, "0004_d", "CREATE TABLE d (x INTEGER);"}};
  auto second = Migrate(**db, clock, merged);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->from_version, 4);
  EXPECT_EQ(second->to_version, 4);
  EXPECT_EQ(second->applied, 1);
  auto snapshot = SchemaSnapshot(**db);
  ASSERT_TRUE(snapshot.ok());
  EXPECT_NE(snapshot->find("CREATE TABLE c"), std::string::npos) << *snapshot;
  auto again = Migrate(**db, clock, merged);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->applied, 0);
}

// The other way round: a database that has 0003 opened by a binary that only has 1, 2, 4 would
// run 0004 on a schema it does not know; refused.
TEST(MigratorTest, AppliedVersionUnknownToTheBinaryIsRefused) {
  FakeClock clock;
  auto db = SqliteDb::Open(TempDbPath("unknown").string());
  ASSERT_TRUE(db.ok());
  const migrations::Migration with_3[] = {{1, "0001_a", "SELECT 1;"}, {3, "0003_c", "SELECT 1;"}};
  ASSERT_TRUE(Migrate(**db, clock, with_3).ok());
  const migrations::Migration other[] = {
      {1, "0001_a", "SELECT 1;"}, {2, "0002_b", "SELECT 1;"}, {4, "0004_d", "SELECT 1;"}};
  auto report = Migrate(**db, clock, other);
  ASSERT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(report.status().message()),
            "database has schema migration 3 (0003_c) which this ablate binary does not know; "
            "upgrade ablate");
  auto version = SchemaVersion(**db);
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, 3);  // nothing of 0002/0004 applied
}

}  // namespace
}  // namespace ablate::server
