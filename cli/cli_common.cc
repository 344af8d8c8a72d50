#include "cli/cli_common.h"

#include <iostream>

namespace ablate::cli {

void AddClientFlags(CLI::App* cmd, ClientFlags& flags) {
  cmd->add_option("--server", flags.server, "coordinator HOST:PORT")
      ->envname("ABLATE_SERVER")
      ->capture_default_str();
  cmd->add_flag("--json", flags.json, "print JSON instead of a table");
  cmd->add_option("--token-file", flags.token_file,
                  "file holding this client's access token (default: the token in $ABLATE_TOKEN)")
      ->envname("ABLATE_TOKEN_FILE");
  cmd->add_option("--tls-ca", flags.tls_ca,
                  "PEM CA certificate: talk TLS and verify the coordinator against it")
      ->envname("ABLATE_TLS_CA");
}

CoordinatorClient ConnectOrFail(const ClientFlags& flags) {
  std::vector<std::string> warnings;
  rpc::ClientSecurity security =
      OrFail(rpc::LoadClientSecurity(flags.token_file, flags.tls_ca, &warnings));
  for (const std::string& w : warnings) std::cerr << "warning: " << w << "\n";
  return CoordinatorClient(flags.server, security);
}

void Fail(const Status& status) {
  std::cerr << "error: " << status.message() << "\n";
  throw CLI::RuntimeError(1);
}

v1::RunRef RunRefFromText(const std::string& text) {
  v1::RunRef ref;
  ref.set_name(text);
  return ref;
}

}  // namespace ablate::cli
