#include "server/sqlite_db.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace ablate::server {
namespace {

Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string msg =
      std::string(what) + ": " + sqlite3_errmsg(db) + " (sqlite code " + std::to_string(rc) + ")";
  if ((rc & 0xff) == SQLITE_CONSTRAINT) return absl::AlreadyExistsError(msg);
  if ((rc & 0xff) == SQLITE_BUSY) return absl::UnavailableError(msg);
  // The transaction was rolled back; nothing of it is stored. Said as such to the client.
  if ((rc & 0xff) == SQLITE_FULL) {
    return absl::ResourceExhaustedError("the coordinator's disk is full; nothing was stored (" +
                                        msg + ")");
  }
  if ((rc & 0xff) == SQLITE_READONLY) return absl::FailedPreconditionError(msg);
  if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB) {
    return absl::DataLossError(msg);
  }
  return absl::InternalError(msg);
}

}  // namespace

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }

void SqliteStatement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

SqliteStatement& SqliteStatement::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}
SqliteStatement& SqliteStatement::Bind(int index, double value) {
  sqlite3_bind_double(stmt_, index, value);
  return *this;
}
SqliteStatement& SqliteStatement::Bind(int index, std::string_view value) {
  sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  return *this;
}
SqliteStatement& SqliteStatement::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}
SqliteStatement& SqliteStatement::Bind(int index, std::optional<int64_t> value) {
  return value ? Bind(index, *value) : BindNull(index);
}
SqliteStatement& SqliteStatement::Bind(int index, std::optional<double> value) {
  return value ? Bind(index, *value) : BindNull(index);
}

StatusOr<bool> SqliteStatement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Status st = SqliteError(db_, rc, std::string("executing `") + sqlite3_sql(stmt_) + "`");
  sqlite3_reset(stmt_);
  return st;
}

Status SqliteStatement::Run() {
  while (true) {
    ABLATE_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return absl::OkStatus();
  }
}

int64_t SqliteStatement::ColumnInt(int col) const { return sqlite3_column_int64(stmt_, col); }
double SqliteStatement::ColumnDouble(int col) const { return sqlite3_column_double(stmt_, col); }
std::string SqliteStatement::ColumnText(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  if (p == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}
bool SqliteStatement::ColumnIsNull(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}
std::optional<int64_t> SqliteStatement::ColumnOptInt(int col) const {
  if (ColumnIsNull(col)) return std::nullopt;
  return ColumnInt(col);
}
std::optional<double> SqliteStatement::ColumnOptDouble(int col) const {
  if (ColumnIsNull(col)) return std::nullopt;
  return ColumnDouble(col);
}

StatusOr<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg =
        "cannot open database " + path + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return absl::InternalError(msg);
  }
  sqlite3_extended_result_codes(db, 1);
  return std::unique_ptr<SqliteDb>(new SqliteDb(db));
}

SqliteDb::~SqliteDb() {
  cache_.clear();
  sqlite3_close(db_);
}

Status SqliteDb::Exec(std::string_view sql) {
  std::string text(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    Status st = SqliteError(db_, rc, "executing SQL");
    return Status(st.code(), "executing SQL: " + msg);
  }
  return absl::OkStatus();
}

StatusOr<SqliteStatement*> SqliteDb::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) {
    it->second->Reset();
    return it->second.get();
  }
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "preparing `" + sql + "`");
  auto owned = std::make_unique<SqliteStatement>(db_, stmt);
  SqliteStatement* raw = owned.get();
  cache_.emplace(sql, std::move(owned));
  return raw;
}

int64_t SqliteDb::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }

StatusOr<std::unique_ptr<SqliteTransaction>> SqliteTransaction::Begin(SqliteDb& db) {
  ABLATE_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  return std::unique_ptr<SqliteTransaction>(new SqliteTransaction(db));
}

SqliteTransaction::~SqliteTransaction() {
  if (!done_) (void)db_.Exec("ROLLBACK");
}

Status SqliteTransaction::Commit() {
  ABLATE_RETURN_IF_ERROR(db_.Exec("COMMIT"));
  done_ = true;
  return absl::OkStatus();
}

}  // namespace ablate::server
