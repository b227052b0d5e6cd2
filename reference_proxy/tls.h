// TLS towards clients: the certificate and key loaded once at start (a bad file is an error
// then, not at the first handshake), ALPN preferring h2 over http/1.1 as browsers expect.
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include "common/asio.h"
#include "common/result.h"

#include <boost/asio/ssl.hpp>

namespace streamcheck::proxy {

namespace ssl = boost::asio::ssl;
using tls_stream = ssl::stream<tcp::socket>;

// TLS 1.2 and 1.3, the certificate chain and private key from PEM files (checked to match).
result<std::shared_ptr<ssl::context>> make_tls_context(const std::string &cert_file,
                                                       const std::string &key_file);

// What the handshake agreed on: "h2", "http/1.1", or empty (no ALPN: HTTP/1.1).
std::string_view negotiated_protocol(tls_stream &stream);

} // namespace streamcheck::proxy
