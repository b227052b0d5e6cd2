// One HTTP/2 client connection (TLS with ALPN h2, or cleartext h2c by prior knowledge): each
// stream is one HTTP/1.1 exchange with the upstream (upstream_call), its answer relayed as DATA
// frames read by read, the same rules as over HTTP/1.1 (checks, CORS, header rewriting,
// timeouts, access log).
#pragma once
#include <functional>
#include <string>
#include <string_view>

#include "common/asio.h"
#include "reference_proxy/upstream_call.h"

namespace streamcheck::proxy {

// The connection preface a client speaking HTTP/2 by prior knowledge starts with (RFC 9113 §3.4).
inline constexpr std::string_view h2_preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// What the server sees of a connection while it runs: whether it is idle (no stream open), and
// how to drain it (GOAWAY, then close once its streams are done), set while the session runs.
struct h2_connection_hooks {
  bool idle = true;
  std::function<void()> drain;
};

struct h2_peer {
  std::string address;           // the client's, for X-Forwarded-For and the access log
  std::string_view scheme;       // "https" or "http": X-Forwarded-Proto
  std::string_view already_read; // bytes read before the protocol was known (the preface)
};

// Serves the connection until the client leaves, an error, an idle timeout or a drain. The
// caller closes the socket afterwards. Stream: tcp::socket or ssl::stream<tcp::socket>.
template <class Stream>
asio::awaitable<void> serve_h2(Stream &stream, const h2_peer &peer, const exchange_env &env,
                               h2_connection_hooks &hooks);

} // namespace streamcheck::proxy
