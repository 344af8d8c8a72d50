// The schema migrations compiled into the binary (generated from migrations/NNNN_*.sql at build
// time by embed_migrations.cmake). Applying them is server/migrator.h's job.
#pragma once

#include <span>
#include <string_view>

namespace ablate::migrations {

struct Migration {
  int version;            // NNNN of the file name; strictly increasing, gaps allowed
  std::string_view name;  // file name without .sql, e.g. "0001_init"
  std::string_view sql;   // the whole file; may hold several statements
};

// Every embedded migration, sorted by version. Static storage; never empty.
std::span<const Migration> EmbeddedMigrations();

}  // namespace ablate::migrations
