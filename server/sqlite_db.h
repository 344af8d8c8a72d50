// A thin RAII layer over the SQLite C API that reports errors as Status.
//
// Thread safety: a SqliteDb and its statements must be used by one thread at a time (callers
// hold their own mutex); SQLite itself is built thread-safe.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "common/status.h"

namespace ablate::server {

// A prepared statement. Bind parameters are 1-based, as in SQLite.
class SqliteStatement {
 public:
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~SqliteStatement();
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  // Resets and clears bindings so the statement can be reused.
  void Reset();
  SqliteStatement& Bind(int index, int64_t value);
  SqliteStatement& Bind(int index, double value);
  SqliteStatement& Bind(int index, std::string_view value);
  SqliteStatement& BindNull(int index);
  SqliteStatement& Bind(int index, std::optional<int64_t> value);
  SqliteStatement& Bind(int index, std::optional<double> value);

  // Steps once: true when a row is available, false when done; Internal on error (the
  // message names the SQL and SQLite's error text). Constraint failures are AlreadyExists.
  StatusOr<bool> Step();
  // Steps until done (for statements without result rows).
  Status Run();
  // Steps through every row, collecting read_row(*this) for each, then Resets the statement.
  // Errors as Step (the statement is not reset then; Prepare resets it before its next use).
  template <typename ReadRow>
  StatusOr<std::vector<std::invoke_result_t<ReadRow&, const SqliteStatement&>>> CollectRows(
      ReadRow read_row) {
    std::vector<std::invoke_result_t<ReadRow&, const SqliteStatement&>> rows;
    while (true) {
      ABLATE_ASSIGN_OR_RETURN(bool row, Step());
      if (!row) break;
      rows.push_back(read_row(static_cast<const SqliteStatement&>(*this)));
    }
    Reset();
    return rows;
  }

  int64_t ColumnInt(int col) const;
  double ColumnDouble(int col) const;
  std::string ColumnText(int col) const;
  bool ColumnIsNull(int col) const;
  std::optional<int64_t> ColumnOptInt(int col) const;
  std::optional<double> ColumnOptDouble(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

class SqliteDb {
 public:
  // Opens (creating if missing) the database file. Internal naming the path on failure.
  static StatusOr<std::unique_ptr<SqliteDb>> Open(const std::string& path);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs one or more statements without parameters.
  Status Exec(std::string_view sql);
  // Returns a cached prepared statement, reset and ready to bind. The pointer stays valid for
  // the life of the SqliteDb; do not use two handles to the same SQL text at once.
  StatusOr<SqliteStatement*> Prepare(const std::string& sql);
  int64_t LastInsertRowId() const;
  sqlite3* raw() { return db_; }

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<std::string, std::unique_ptr<SqliteStatement>> cache_;
};

// Commits on Commit(); rolls back in the destructor otherwise. Uses BEGIN IMMEDIATE.
class SqliteTransaction {
 public:
  static StatusOr<std::unique_ptr<SqliteTransaction>> Begin(SqliteDb& db);
  ~SqliteTransaction();
  Status Commit();

 private:
  explicit SqliteTransaction(SqliteDb& db) : db_(db) {}
  SqliteDb& db_;
  bool done_ = false;
};

}  // namespace ablate::server
