// Reading files that hold secrets (access tokens, TLS keys): the contents, plus a warning when
// the file's permission bits let its group or other users read it.
#pragma once

#include <string>

#include "common/status.h"

namespace ablate {

// The whole file. NotFound / PermissionDenied / Internal naming the path (never the contents).
// `*readable_by_others_warning` (optional) is set to a one-line warning, e.g. "token file F is
// readable by group or others (mode 0644); run: chmod 600 F", or cleared when the mode is safe.
StatusOr<std::string> ReadSecretFile(const std::string& path, std::string_view what,
                                     std::string* readable_by_others_warning);

}  // namespace ablate
