// The one way our clients (the CLI and `ablate worker`) open a channel to the coordinator: TLS
// when a CA is given, and the access token sent on every call as `authorization: Bearer TOKEN`
// metadata by a client interceptor (so it works over plaintext loopback channels too, where gRPC
// refuses call credentials). docs/security.md.
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/support/channel_arguments.h>

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace ablate::rpc {

struct ClientSecurity {
  std::string token;       // empty: no authorization metadata
  std::string tls_ca_pem;  // empty: plaintext; else TLS, the server verified against this CA
};

// The token from `token_file` (its only line, surrounding whitespace removed) or, when
// `token_file` is empty, from $ABLATE_TOKEN; the CA from `tls_ca_file` (empty: plaintext).
// Errors name the file, never the token. `warnings` receives one line per token file readable by
// group or others.
StatusOr<ClientSecurity> LoadClientSecurity(const std::string& token_file,
                                            const std::string& tls_ca_file,
                                            std::vector<std::string>* warnings);

std::shared_ptr<grpc::Channel> CreateCoordinatorChannel(
    const std::string& address, const ClientSecurity& security,
    const grpc::ChannelArguments& args = grpc::ChannelArguments());

}  // namespace ablate::rpc
