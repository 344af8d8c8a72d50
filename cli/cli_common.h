// What every client command shares: the client flags, the connection, and the error exit. What
// the commands print lives in text_format.h (tables, numbers, states) and proto_json.h (--json).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "ablate/v1/coordinator.pb.h"
#include "cli/coordinator_client.h"
#include "common/status.h"

namespace ablate::cli {

inline constexpr char kDefaultServer[] = "127.0.0.1:50051";

struct ClientFlags {
  std::string server = kDefaultServer;
  bool json = false;
  std::string token_file;  // empty: $ABLATE_TOKEN, if set
  std::string tls_ca;      // empty: plaintext
};

// Adds --server (env ABLATE_SERVER, default 127.0.0.1:50051), --json, --token-file (env
// ABLATE_TOKEN_FILE; else the token itself may come from ABLATE_TOKEN) and --tls-ca (env
// ABLATE_TLS_CA).
void AddClientFlags(CLI::App* cmd, ClientFlags& flags);

// A client for flags.server with its token and TLS; Fail()s on an unreadable token or CA file.
// Warns on stderr about a token file that others may read.
CoordinatorClient ConnectOrFail(const ClientFlags& flags);

// Prints "error: <message>" to stderr and ends the command with exit code 1.
[[noreturn]] void Fail(const Status& status);

// Unwraps a StatusOr or Fail()s.
template <typename T>
T OrFail(StatusOr<T> v) {
  if (!v.ok()) Fail(v.status());
  return *std::move(v);
}

v1::RunRef RunRefFromText(const std::string& text);  // always by name; the server falls back to id

}  // namespace ablate::cli
