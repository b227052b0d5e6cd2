// streamcheck-proxy's sockets: one event loop per core, an acceptor handing connections out in
// turn, each connection a coroutine: a TLS handshake first with --tls-cert, then HTTP/1.1
// requests one after another (exchange.cc) or HTTP/2 streams side by side (h2_session.cc), as
// ALPN or, in cleartext, the connection preface says.
#pragma once
#include <memory>

#include "common/result.h"
#include "reference_proxy/access_log.h"
#include "reference_proxy/config.h"

namespace streamcheck::proxy {

class server {
public:
  // Resolves the upstream, binds the listener, starts the loops. Errors are values.
  static result<std::unique_ptr<server>> start(const proxy_config &config, access_log &log);
  ~server();
  server(const server &) = delete;
  server &operator=(const server &) = delete;

  unsigned short port() const;
  std::size_t connections() const; // client connections open now

  // Graceful: stop accepting, close idle connections, let requests in flight finish (their
  // connections then close). Returns at once; wait with connections().
  void drain();
  void stop(); // idempotent; closes everything, joins the loops

  struct impl;

private:
  explicit server(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace streamcheck::proxy
