// Crash-safe file writes: the destination holds either its old contents or the complete new
// contents, never a torn mix (temp file in the same directory, fsync, rename, fsync directory).
#pragma once

#include <filesystem>
#include <string_view>

#include "common/status.h"

namespace ablate {

// Writes `bytes` to `path` atomically; creates missing parent directories. Internal on an I/O
// error (the message names the path and errno text); the temp file is removed on failure.
Status WriteFileAtomically(const std::filesystem::path& path, std::string_view bytes);

// Moves an already-written file into place atomically (fsyncs it first). Same-filesystem only.
Status CommitFileAtomically(const std::filesystem::path& temp_path,
                            const std::filesystem::path& path);

// Reads a whole file. NotFound when absent, DataLoss on a read error.
StatusOr<std::string> ReadFile(const std::filesystem::path& path);

}  // namespace ablate
