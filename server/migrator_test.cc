#include "server/migrator.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/atomic_file.h"
#include "protocol/job_names.h"
#include "server/migration_test_util.h"
#include "server/sqlite_run_store.h"
#include "server/test_util.h"

namespace ablate::server {
namespace {

namespace fs = std::filesystem;

using testing::OpenAtVersion;
using testing::QueryRows;

// A fresh folder per test (removed when the program passes) holding the database's path.
fs::path TempDbPath(const std::string& name) {
  return testing::FreshTempDir("migrator_test_" + name) / "ablate.db";
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
  auto db = OpenAtVersion(TempDbPath("v2"), 2, clock);
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(
      db->Exec("INSERT INTO runs (id, name, status, config_json, config_fingerprint, "
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
  auto report = Migrate(*db, clock);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->from_version, 2);

  EXPECT_EQ(
      QueryRows(*db,
                "SELECT id || ' ' || run_id || ' ' || kind || ' ' || spec_json || ' ' || state || "
                "' ' || attempts || ' ' || created_unix_ms || ' ' || updated_unix_ms || ' ' || "
                "last_error || ' ' || result_json FROM jobs ORDER BY id"),
      "7 5 train {\"kind\":\"train\"} leased 2 3 4 boom {}\n"
      "8 5 eval {} pending 0 5 6  {}\n");
  EXPECT_EQ(
      QueryRows(*db,
                "SELECT id || ' ' || job_id || ' ' || worker_id || ' ' || granted_unix_ms || ' ' "
                "|| expires_unix_ms || ' ' || IFNULL(released_unix_ms, '-') || ' ' || "
                "IFNULL(outcome, '-') FROM leases ORDER BY id"),
      "11 7 2 10 20 15 expired\n12 7 2 30 40 - -\n");
  EXPECT_EQ(QueryRows(*db,
                      "SELECT IFNULL(deleting_job_id, '-') || IFNULL(deleted_unix_ms, '-') || "
                      "IFNULL(deleted_by_job_id, '-') FROM checkpoints"),
            "---\n");
  EXPECT_EQ(QueryRows(*db, "PRAGMA foreign_key_check"), "");
  // The rebuilt tables still enforce what 0001 did, and accept the new kind.
  EXPECT_FALSE(db->Exec("INSERT INTO leases (job_id, worker_id, granted_unix_ms, "
                        "expires_unix_ms) VALUES (99, 2, 1, 2)")
                   .ok());
  EXPECT_FALSE(db->Exec("INSERT INTO leases (job_id, worker_id, granted_unix_ms, "
                        "expires_unix_ms) VALUES (7, 2, 1, 2)")
                   .ok());  // a second unreleased lease of job 7
  EXPECT_FALSE(db->Exec("INSERT INTO jobs (kind, spec_json, created_unix_ms, updated_unix_ms) "
                        "VALUES ('cleanup', '{}', 1, 1)")
                   .ok());
  EXPECT_TRUE(db->Exec("INSERT INTO jobs (kind, spec_json, created_unix_ms, updated_unix_ms) "
                       "VALUES ('retention', '{}', 1, 1)")
                  .ok());
}

// 0006 rebuilds runs (status 'stopped', stopped_at_step, stop_reason) while every other table
// references it: every row of a version-5 database survives with its id, the references still
// resolve and are still enforced, and the connection's foreign-key setting is back on.
TEST(MigratorTest, Migration0006KeepsEveryRowOfAVersion5Database) {
  FakeClock clock;
  auto db = OpenAtVersion(TempDbPath("v5"), 5, clock);
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(
      db->Exec("INSERT INTO sweeps (id, name, spec_json, created_unix_ms, max_parallel) "
               "VALUES (3, 'sw', '{\"name\":\"sw\"}', 1, 2);"
               "INSERT INTO runs (id, name, sweep_id, status, config_json, config_fingerprint, "
               "created_unix_ms, updated_unix_ms) VALUES "
               "(5, 'parent', 3, 'succeeded', '{\"a\":1}', 'sha256:p', 10, 11),"
               "(6, 'queued', 3, 'queued', '{}', 'sha256:q', 12, 13),"
               "(7, 'bad', NULL, 'diverged', '{}', 'sha256:d', 14, 15);"
               "INSERT INTO checkpoints (id, run_id, name, step, uri, created_unix_ms) "
               "VALUES (9, 5, 'step100', 100, 'file:///w/a.pt', 1);"
               "UPDATE runs SET parent_run_id = 5, parent_checkpoint_id = 9 WHERE id = 6;"
               "INSERT INTO metric_points VALUES (5, 100, 'loss', 1.5), (6, 10, 'loss', 2.5);"
               "INSERT INTO evaluations (id, run_id, checkpoint_id, iou_type, dataset_fingerprint, "
               "eval_key, AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl, "
               "created_unix_ms) VALUES (4, 5, 9, 'segm', 'sha256:v', 'k', 0.25, 0, 0, 0, 0, 0, "
               "0, 0, 0, 0, 0, 0, 2);"
               "INSERT INTO evaluation_category_ap VALUES (4, 1, 'circle', 0.5);"
               "INSERT INTO evaluation_gallery (evaluation_id, image_id, uri) "
               "VALUES (4, 1, 'file:///w/g/000001.jpg');"
               "INSERT INTO workers (id, name, registered_unix_ms, last_heartbeat_unix_ms) "
               "VALUES (2, 'w', 1, 1);"
               "INSERT INTO jobs (id, run_id, sweep_id, kind, spec_json, state, attempts, "
               "created_unix_ms, updated_unix_ms) VALUES (8, 6, 3, 'train', '{}', 'leased', 1, 3, "
               "4);"
               "INSERT INTO leases (id, job_id, worker_id, granted_unix_ms, expires_unix_ms) "
               "VALUES (11, 8, 2, 10, 20);")
          .ok());
  const std::string runs_query =
      "SELECT id || ' ' || name || ' ' || IFNULL(sweep_id, '-') || ' ' || status || ' ' || "
      "config_json || ' ' || config_fingerprint || ' ' || IFNULL(parent_run_id, '-') || ' ' || "
      "IFNULL(parent_checkpoint_id, '-') || ' ' || created_unix_ms || ' ' || updated_unix_ms "
      "FROM runs ORDER BY id";
  const std::string counts_query =
      "SELECT (SELECT COUNT(*) FROM sweeps) || (SELECT COUNT(*) FROM runs) || "
      "(SELECT COUNT(*) FROM checkpoints) || (SELECT COUNT(*) FROM metric_points) || "
      "(SELECT COUNT(*) FROM evaluations) || (SELECT COUNT(*) FROM evaluation_category_ap) || "
      "(SELECT COUNT(*) FROM evaluation_gallery) || (SELECT COUNT(*) FROM jobs) || "
      "(SELECT COUNT(*) FROM leases)";
  const std::string runs_before = QueryRows(*db, runs_query);
  EXPECT_EQ(runs_before,
            "5 parent 3 succeeded {\"a\":1} sha256:p - - 10 11\n"
            "6 queued 3 queued {} sha256:q 5 9 12 13\n"
            "7 bad - diverged {} sha256:d - - 14 15\n");
  EXPECT_EQ(QueryRows(*db, counts_query), "131211111\n");

  auto report = Migrate(*db, clock);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->from_version, 5);
  EXPECT_GE(report->to_version, 6);

  EXPECT_EQ(QueryRows(*db, runs_query), runs_before);
  EXPECT_EQ(QueryRows(*db, counts_query), "131211111\n");
  EXPECT_EQ(QueryRows(*db, "SELECT IFNULL(stopped_at_step, '-') || '|' || stop_reason FROM runs"),
            "-|\n-|\n-|\n");
  EXPECT_EQ(QueryRows(*db, "PRAGMA foreign_key_check"), "");
  EXPECT_EQ(QueryRows(*db, "PRAGMA foreign_keys"), "1\n");
  // Children still point at the rebuilt table and it still enforces what 0001 did.
  EXPECT_EQ(QueryRows(*db,
                      "SELECT r.name FROM metric_points m JOIN runs r ON r.id = m.run_id "
                      "ORDER BY m.run_id"),
            "parent\nqueued\n");
  EXPECT_FALSE(db->Exec("INSERT INTO metric_points VALUES (99, 1, 'loss', 1)").ok());
  EXPECT_FALSE(db->Exec("DELETE FROM runs WHERE id = 5").ok());  // referenced
  EXPECT_FALSE(db->Exec("UPDATE runs SET status = 'paused' WHERE id = 7").ok());
  EXPECT_TRUE(db->Exec("UPDATE runs SET status = 'stopped', stopped_at_step = 300, "
                       "stop_reason = 'asha' WHERE id = 6")
                  .ok());
  EXPECT_FALSE(db->Exec("UPDATE runs SET stopped_at_step = -1 WHERE id = 6").ok());
}

// The foreign keys are checked before the migrations commit: a database that already had a
// broken reference (written with enforcement off) is refused and stays at its version.
TEST(MigratorTest, MigrationsThatLeaveABrokenReferenceAreRolledBack) {
  FakeClock clock;
  auto db = OpenAtVersion(TempDbPath("broken_fk"), 5, clock);
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Exec("PRAGMA foreign_keys = OFF;"
                       "INSERT INTO runs (id, name, status, config_json, config_fingerprint, "
                       "created_unix_ms, updated_unix_ms, parent_run_id) "
                       "VALUES (1, 'orphan', 'queued', '{}', 'f', 1, 1, 42);"
                       "PRAGMA foreign_keys = ON;")
                  .ok());
  auto report = Migrate(*db, clock);
  ASSERT_EQ(report.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(std::string(report.status().message()),
            "migrations left rows that break a foreign key: runs row 1 -> runs");
  auto version = SchemaVersion(*db);
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, 5);
  EXPECT_EQ(QueryRows(*db, "PRAGMA foreign_keys"), "1\n");
  EXPECT_EQ(QueryRows(*db, "SELECT name FROM runs"), "orphan\n");
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

// protocol/job_names.h is the one list of job kind and state names: the jobs table's CHECK
// constraints accept every name on it and refuse others.
TEST(MigratorTest, JobsTableAcceptsEveryListedKindAndState) {
  FakeClock clock;
  auto db = OpenAtVersion(TempDbPath("job_names"), migrations::EmbeddedMigrations().back().version,
                          clock);
  ASSERT_NE(db, nullptr);
  auto insert = [&](std::string_view kind, std::string_view state) {
    return db->Exec(
        "INSERT INTO jobs (kind, state, spec_json, created_unix_ms, updated_unix_ms) "
        "VALUES ('" +
        std::string(kind) + "', '" + std::string(state) + "', '{}', 1, 1)");
  };
  for (std::string_view kind : protocol::kJobKindNames) {
    for (std::string_view state : protocol::kJobStateNames) {
      EXPECT_TRUE(insert(kind, state).ok()) << kind << " " << state;
    }
  }
  EXPECT_FALSE(insert("cleanup", "pending").ok());
  EXPECT_FALSE(insert("train", "lost").ok());
  EXPECT_EQ(
      QueryRows(*db, "SELECT COUNT(*) FROM jobs"),
      std::to_string(protocol::kJobKindNames.size() * protocol::kJobStateNames.size()) + "\n");
}

}  // namespace
}  // namespace ablate::server
