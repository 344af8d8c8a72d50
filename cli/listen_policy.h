// `ablate server`'s rule for exposing an unauthenticated coordinator (docs/security.md): serving
// gRPC or the dashboard on an address other than loopback needs --auth-tokens, or --insecure to
// say so on purpose.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace ablate::cli {

// True for 127.0.0.0/8, ::1 and "localhost" (brackets around IPv6 allowed).
bool IsLoopbackHost(std::string_view host);

// `flag` ("--listen", "--http") and its HOST:PORT `address`. FailedPrecondition when the address
// is not loopback, there are no tokens and not `insecure`; the message says how to add tokens.
Status CheckExposure(std::string_view flag, std::string_view address, bool has_tokens,
                     bool insecure);

}  // namespace ablate::cli
