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

// 0003 rebuilds jobs and leases (a CHECK constraint cannot be altered in place): every row and
// id of a version-2 database must survive, foreign keys intact, with the new columns defaulted.
TEST(MigratorTest, Migration0003KeepsJobsAndLeasesOfAVersion2Database) {
  FakeClock clock;
  auto db = SqliteDb::Open(TempDbPath("v2").string());
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Exec("PRAGMA foreign_keys = ON").ok());
  auto all = migrations::EmbeddedMigrations();
  ASSERT_GE(all.size(), 3u);
  ASSERT_TRUE(Migrate(**db, clock, all.subspan(0, 2)).ok());
  ASSERT_TRUE(
      (*db)
          ->Exec("INSERT INTO runs (id, name, status, config_json, config_fingerprint, "
                 "created_unix_ms, updated_unix_ms) VALUES (5, 'r', 'running', '{}', 'f', 1, 1);"
                 "INSERT INTO checkpoints (id, run_id, name, step, uri, created_unix_ms) "
                 "VALUES (9, 5, 'step100', 100, 'file:///w/a.pt', 1);"
                 "INSERT INTO workers (id, name, registered_unix_ms, last_heartbeat_unix_ms) "
                 "VALUES (2, 'w', 1, 1);"
                 "INSERT INTO jobs (id, run_id, kind, spec_json, state, attempts, "
                 "created_unix_ms, updated_unix_ms, last_error) VALUES "
                 "(7, 5, 'train', '{\"kind\":\"train\"}', 'leased', 2, 3, 4, 'boom'), "
                 "(8, 5, 'eval', '{}', 'pending', 0, 5, 6, '');"
                 "INSERT INTO leases (id, job_id, worker_id, granted_unix_ms, "
                 "expires_unix_ms, released_unix_ms, outcome) VALUES "
                 "(11, 7, 2, 10, 20, 15, 'expired'), (12, 7, 2, 30, 40, NULL, NULL);")
          .ok());
  auto report = Migrate(**db, clock);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->from_version, 2);

  auto rows = [&](const std::string& sql) {
    auto q = (*db)->Prepare(sql);
    EXPECT_TRUE(q.ok()) << q.status();
    std::string out;
    while (true) {
      auto row = (*q)->Step();
      EXPECT_TRUE(row.ok()) << row.status();
      if (!row.ok() || !*row) break;
      out += (*q)->ColumnText(0) + "\n";
    }
    (*q)->Reset();
    return out;
  };
  EXPECT_EQ(rows("SELECT id || ' ' || run_id || ' ' || kind || ' ' || spec_json || ' ' || state || "
                 "' ' || attempts || ' ' || created_unix_ms || ' ' || updated_unix_ms || ' ' || "
                 "last_error || ' ' || result_json FROM jobs ORDER BY id"),
            "7 5 train {\"kind\":\"train\"} leased 2 3 4 boom {}\n"
            "8 5 eval {} pending 0 5 6  {}\n");
  EXPECT_EQ(rows("SELECT id || ' ' || job_id || ' ' || worker_id || ' ' || granted_unix_ms || ' ' "
                 "|| expires_unix_ms || ' ' || IFNULL(released_unix_ms, '-') || ' ' || "
                 "IFNULL(outcome, '-') FROM leases ORDER BY id"),
            "11 7 2 10 20 15 expired\n12 7 2 30 40 - -\n");
  EXPECT_EQ(rows("SELECT IFNULL(deleting_job_id, '-') || IFNULL(deleted_unix_ms, '-') || "
                 "IFNULL(deleted_by_job_id, '-') FROM checkpoints"),
            "---\n");
  EXPECT_EQ(rows("PRAGMA foreign_key_check"), "");
  // The rebuilt tables still enforce what 0001 did, and accept the new kind.
  EXPECT_FALSE((*db)
                   ->Exec("INSERT INTO leases (job_id, worker_id, granted_unix_ms, "
                          "expires_unix_ms) VALUES (99, 2, 1, 2)")
                   .ok());
  EXPECT_FALSE((*db)
                   ->Exec("INSERT INTO leases (job_id, worker_id, granted_unix_ms, "
                          "expires_unix_ms) VALUES (7, 2, 1, 2)")
                   .ok());  // a second unreleased lease of job 7
  EXPECT_FALSE((*db)
                   ->Exec("INSERT INTO jobs (kind, spec_json, created_unix_ms, updated_unix_ms) "
                          "VALUES ('cleanup', '{}', 1, 1)")
                   .ok());
  EXPECT_TRUE((*db)
                  ->Exec("INSERT INTO jobs (kind, spec_json, created_unix_ms, updated_unix_ms) "
                         "VALUES ('retention', '{}', 1, 1)")
                  .ok());
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
