#include "reference_proxy/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace streamcheck::proxy {
namespace {

// The protocols offered, in wire format (length-prefixed), most preferred first.
constexpr unsigned char offered[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

// Server preference: h2 when the client offers it, else http/1.1; a client offering neither
// (some other protocol only) gets no ALPN and speaks HTTP/1.1, as nginx does.
int select_protocol(SSL *, const unsigned char **out, unsigned char *outlen,
                    const unsigned char *in, unsigned int inlen, void *) {
  unsigned char *selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, offered, sizeof offered, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

std::string openssl_reason() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

} // namespace

result<std::shared_ptr<ssl::context>> make_tls_context(const std::string &cert_file,
                                                       const std::string &key_file) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX *native = context->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(native, cert_file.c_str()) != 1)
    return error{"--tls-cert " + cert_file + ": " + openssl_reason()};
  if (SSL_CTX_use_PrivateKey_file(native, key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    return error{"--tls-key " + key_file + ": " + openssl_reason()};
  if (SSL_CTX_check_private_key(native) != 1)
    return error{"--tls-key " + key_file + " does not match --tls-cert " + cert_file};
  SSL_CTX_set_alpn_select_cb(native, select_protocol, nullptr);
  return context;
}

std::string_view negotiated_protocol(tls_stream &stream) {
  const unsigned char *name = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(stream.native_handle(), &name, &length);
  return name ? std::string_view(reinterpret_cast<const char *>(name), length) : std::string_view();
}

} // namespace streamcheck::proxy
