// Applies the embedded forward-only migrations (migrations/NNNN_*.sql) to a SQLite database.
//
// A migration is pending when schema_version has no row for its version: versions need not be
// contiguous (branches number their migrations independently; a database migrated to 1, 2, 4 gets
// 3 once a binary that embeds it starts). Pending migrations run in version order.
//
// All pending migrations run in ONE transaction together with their schema_version rows: a
// failure leaves the database at its previous version. A database that records a version this
// binary does not embed (newer than its newest, or a gap it does not know) is refused
// (FailedPrecondition), so an old binary never writes to a schema it does not understand.
//
// Migrations run with foreign-key enforcement off (a migration may rebuild a table others
// reference, e.g. 0006 rebuilds runs); the connection's setting is restored afterwards, and the
// transaction commits only when PRAGMA foreign_key_check finds no broken reference (Internal
// naming the rows otherwise, nothing applied).
#pragma once

#include <span>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "migrations/embedded_migrations.h"
#include "server/sqlite_db.h"

namespace ablate::server {

struct MigrationReport {
  int from_version = 0;  // highest version applied before; 0: empty database
  int to_version = 0;    // highest version applied after
  int applied = 0;       // how many migrations this call applied
};

// Highest applied schema version: 0 when the schema_version table does not exist.
StatusOr<int> SchemaVersion(SqliteDb& db);

// Brings `db` up to the newest of `migrations` (default: the embedded ones).
StatusOr<MigrationReport> Migrate(
    SqliteDb& db, const Clock& clock,
    std::span<const migrations::Migration> migrations = migrations::EmbeddedMigrations());

// The schema as text: every `sqlite_master` entry's SQL (tables, indexes, ...) except SQLite's
// internal ones, sorted by type then name, each ending in ";\n". Compared with the checked-in
// migrations/schema.snapshot.sql by a test.
StatusOr<std::string> SchemaSnapshot(SqliteDb& db);

}  // namespace ablate::server
