// SHA-256 digests (OpenSSL EVP), as lowercase hex strings.
// Thread safety: stateless free functions, safe from any thread.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/status.h"

namespace ablate {

// Digest of `bytes`.
std::string Sha256Hex(std::string_view bytes);

// Digest of the file's full contents, read in chunks. NotFound if it cannot be opened,
// DataLoss on a read error.
StatusOr<std::string> Sha256HexOfFile(const std::filesystem::path& path);

}  // namespace ablate
