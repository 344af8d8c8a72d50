#include "server/migrator.h"

#include <algorithm>
#include <set>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"

namespace ablate::server {

StatusOr<int> SchemaVersion(SqliteDb& db) {
  ABLATE_ASSIGN_OR_RETURN(
      SqliteStatement * exists,
      db.Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"));
  ABLATE_ASSIGN_OR_RETURN(bool has_table, exists->Step());
  exists->Reset();
  if (!has_table) return 0;
  ABLATE_ASSIGN_OR_RETURN(SqliteStatement * max,
                          db.Prepare("SELECT IFNULL(MAX(version), 0) FROM schema_version"));
  ABLATE_ASSIGN_OR_RETURN(bool row, max->Step());
  int version = row ? static_cast<int>(max->ColumnInt(0)) : 0;
  max->Reset();
  return version;
}

namespace {

StatusOr<bool> ForeignKeysEnforced(SqliteDb& db) {
  ABLATE_ASSIGN_OR_RETURN(SqliteStatement * q, db.Prepare("PRAGMA foreign_keys"));
  ABLATE_ASSIGN_OR_RETURN(bool row, q->Step());
  const bool on = row && q->ColumnInt(0) != 0;
  q->Reset();
  return on;
}

// Every row that breaks a foreign key, as "table row R -> parent", or "" when none does.
StatusOr<std::string> ForeignKeyViolations(SqliteDb& db) {
  ABLATE_ASSIGN_OR_RETURN(SqliteStatement * q, db.Prepare("PRAGMA foreign_key_check"));
  std::string out;
  int shown = 0;
  while (true) {
    ABLATE_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    if (++shown <= 5) {
      absl::StrAppend(&out, out.empty() ? "" : "; ", q->ColumnText(0), " row ", q->ColumnInt(1),
                      " -> ", q->ColumnText(2));
    }
  }
  q->Reset();
  if (shown > 5) absl::StrAppend(&out, "; ... (", shown, " rows)");
  return out;
}

}  // namespace

StatusOr<MigrationReport> Migrate(SqliteDb& db, const Clock& clock,
                                  std::span<const migrations::Migration> migrations) {
  int newest = 0;
  std::set<int> embedded;
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version <= newest) {
      return absl::InternalError(
          absl::StrCat("embedded migrations are not numbered in increasing order: ",
                       std::string(migrations[i].name), " comes after version ", newest));
    }
    newest = migrations[i].version;
    embedded.insert(newest);
  }
  // A migration may rebuild a table that other tables reference (0003: jobs, 0006: runs). That
  // needs foreign-key enforcement off while it runs (SQLite's procedure for changing a table's
  // definition); the setting cannot change inside a transaction, so it is switched off here,
  // restored on return, and every foreign key is checked before the transaction commits.
  ABLATE_ASSIGN_OR_RETURN(const bool enforce_foreign_keys, ForeignKeysEnforced(db));
  if (enforce_foreign_keys) ABLATE_RETURN_IF_ERROR(db.Exec("PRAGMA foreign_keys = OFF"));
  absl::Cleanup restore_foreign_keys = [&db, enforce_foreign_keys] {
    if (enforce_foreign_keys) (void)db.Exec("PRAGMA foreign_keys = ON");
  };
  ABLATE_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::Begin(db));
  ABLATE_RETURN_IF_ERROR(
      db.Exec("CREATE TABLE IF NOT EXISTS schema_version (\n"
              "  version INTEGER PRIMARY KEY,\n"
              "  name TEXT NOT NULL,\n"
              "  applied_unix_ms INTEGER NOT NULL\n"
              ")"));
  ABLATE_ASSIGN_OR_RETURN(SqliteStatement * list,
                          db.Prepare("SELECT version, name FROM schema_version ORDER BY version"));
  std::set<int> applied;
  int current = 0;
  std::string unknown;  // the first applied version this binary does not embed
  while (true) {
    ABLATE_ASSIGN_OR_RETURN(bool row, list->Step());
    if (!row) break;
    const int version = static_cast<int>(list->ColumnInt(0));
    applied.insert(version);
    current = std::max(current, version);
    if (unknown.empty() && !embedded.contains(version) && version < newest) {
      unknown = absl::StrCat(version, " (", list->ColumnText(1), ")");
    }
  }
  list->Reset();
  if (current > newest) {
    return absl::FailedPreconditionError(
        absl::StrCat("database schema version ", current,
                     " is newer than this ablate binary supports (", newest, "); upgrade ablate"));
  }
  if (!unknown.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("database has schema migration ", unknown,
                     " which this ablate binary does not know; upgrade ablate"));
  }
  MigrationReport report{current, current, 0};
  for (const auto& m : migrations) {
    if (applied.contains(m.version)) continue;
    Status st = db.Exec(std::string(m.sql));
    if (!st.ok()) {
      return absl::InternalError(
          absl::StrCat("migration ", std::string(m.name), " failed: ", std::string(st.message())));
    }
    ABLATE_ASSIGN_OR_RETURN(
        SqliteStatement * ins,
        db.Prepare("INSERT INTO schema_version (version, name, applied_unix_ms) VALUES (?, ?, ?)"));
    ins->Bind(1, static_cast<int64_t>(m.version)).Bind(2, m.name).Bind(3, clock.NowUnixMs());
    ABLATE_RETURN_IF_ERROR(ins->Run());
    report.to_version = std::max(report.to_version, m.version);
    ++report.applied;
  }
  if (report.applied > 0) {
    ABLATE_ASSIGN_OR_RETURN(std::string broken, ForeignKeyViolations(db));
    if (!broken.empty()) {
      return absl::InternalError(
          absl::StrCat("migrations left rows that break a foreign key: ", broken));
    }
  }
  ABLATE_RETURN_IF_ERROR(tx->Commit());
  return report;
}

StatusOr<std::string> SchemaSnapshot(SqliteDb& db) {
  ABLATE_ASSIGN_OR_RETURN(SqliteStatement * q,
                          db.Prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND "
                                     "name NOT LIKE 'sqlite_%' ORDER BY type DESC, name"));
  std::string out;
  while (true) {
    ABLATE_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    absl::StrAppend(&out, q->ColumnText(0), ";\n");
  }
  return out;
}

}  // namespace ablate::server
