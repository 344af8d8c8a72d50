// Helpers for tests of schema migrations: a database at an older schema version, and a query's
// rows as text (not part of any library).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "server/migrator.h"
#include "server/sqlite_db.h"

namespace ablate::server::testing {

// A new database file at `path` with the embedded migrations applied up to and including
// `version` (foreign keys on), as a build of that version left it. Null, with a test failure,
// when any step fails.
inline std::unique_ptr<SqliteDb> OpenAtVersion(const std::filesystem::path& path, int version,
                                               const Clock& clock) {
  auto db = SqliteDb::Open(path.string());
  EXPECT_TRUE(db.ok()) << db.status();
  if (!db.ok()) return nullptr;
  EXPECT_TRUE((*db)->Exec("PRAGMA foreign_keys = ON").ok());
  auto all = migrations::EmbeddedMigrations();
  size_t upto = 0;
  while (upto < all.size() && all[upto].version <= version) ++upto;
  EXPECT_TRUE(upto > 0 && all[upto - 1].version == version) << "no migration " << version;
  auto report = Migrate(**db, clock, all.subspan(0, upto));
  EXPECT_TRUE(report.ok()) << report.status();
  if (!report.ok()) return nullptr;
  return std::move(*db);
}

// The first column of every row of `sql`, as text, one row a line.
inline std::string QueryRows(SqliteDb& db, const std::string& sql) {
  auto q = db.Prepare(sql);
  EXPECT_TRUE(q.ok()) << q.status();
  if (!q.ok()) return "";
  auto rows = (*q)->CollectRows([](const SqliteStatement& s) { return s.ColumnText(0); });
  EXPECT_TRUE(rows.ok()) << rows.status();
  std::string out;
  if (rows.ok()) {
    for (const std::string& row : *rows) out += row + "\n";
  }
  return out;
}

}  // namespace ablate::server::testing
