#include "proto/client_channel.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/client_interceptor.h>

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/secret_file.h"

namespace ablate::rpc {
namespace {

using grpc::experimental::InterceptionHookPoints;

class BearerTokenInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit BearerTokenInterceptor(const std::string* header) : header_(header) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace("authorization", *header_);
    }
    methods->Proceed();
  }

 private:
  const std::string* header_;
};

class BearerTokenInterceptorFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerTokenInterceptorFactory(const std::string& token)
      : header_(absl::StrCat("Bearer ", token)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new BearerTokenInterceptor(&header_);
  }

 private:
  const std::string header_;  // lives as long as the channel
};

StatusOr<std::string> TokenFromText(std::string text, const std::string& source) {
  std::string token(absl::StripAsciiWhitespace(text));
  if (token.empty()) return absl::InvalidArgumentError(absl::StrCat(source, " is empty"));
  for (char c : token) {
    if (c <= ' ' || c == 0x7f) {
      return absl::InvalidArgumentError(absl::StrCat(
          source,
          " must hold only the token (one word; the server's file has `ROLE TOKEN NAME` "
          "lines, a client's only the TOKEN)"));
    }
  }
  return token;
}

}  // namespace

StatusOr<ClientSecurity> LoadClientSecurity(const std::string& token_file,
                                            const std::string& tls_ca_file,
                                            std::vector<std::string>* warnings) {
  ClientSecurity security;
  if (!token_file.empty()) {
    std::string warning;
    ABLATE_ASSIGN_OR_RETURN(std::string text, ReadSecretFile(token_file, "token file", &warning));
    if (!warning.empty() && warnings != nullptr) warnings->push_back(warning);
    ABLATE_ASSIGN_OR_RETURN(security.token,
                            TokenFromText(std::move(text), "token file " + token_file));
  } else if (const char* env = std::getenv("ABLATE_TOKEN"); env != nullptr && *env != '\0') {
    ABLATE_ASSIGN_OR_RETURN(security.token, TokenFromText(env, "$ABLATE_TOKEN"));
  }
  if (!tls_ca_file.empty()) {
    ABLATE_ASSIGN_OR_RETURN(security.tls_ca_pem,
                            ReadSecretFile(tls_ca_file, "TLS CA file", nullptr));
    if (security.tls_ca_pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("TLS CA file ", tls_ca_file, " holds no PEM certificate"));
    }
  }
  return security;
}

std::shared_ptr<grpc::Channel> CreateCoordinatorChannel(const std::string& address,
                                                        const ClientSecurity& security,
                                                        const grpc::ChannelArguments& args) {
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!security.tls_ca_pem.empty()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = security.tls_ca_pem;
    credentials = grpc::SslCredentials(ssl);
  }
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  if (!security.token.empty()) {
    interceptors.push_back(std::make_unique<BearerTokenInterceptorFactory>(security.token));
  }
  return grpc::experimental::CreateCustomChannelWithInterceptors(address, credentials, args,
                                                                 std::move(interceptors));
}

}  // namespace ablate::rpc
