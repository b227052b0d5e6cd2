// Idle upstream connections of one event loop, reused for the next request (HTTP/1.1
// keep-alive upstream: no connect per token stream, and what conn.upstream-keepalive measures).
#pragma once
#include <cstddef>
#include <optional>
#include <vector>

#include "common/asio.h"
#include "common/clock.h"

namespace streamcheck::proxy {

class upstream_pool {
public:
  explicit upstream_pool(std::size_t capacity) : capacity_(capacity) {}

  // A connection still open and quiet, or nothing. Connections the upstream has closed (or that
  // have unexpected bytes waiting) are dropped here rather than failing a request later: a
  // POST is never retried, so it must not be sent on a dead connection.
  std::optional<tcp::socket> take();
  void give(tcp::socket socket);

private:
  struct entry {
    tcp::socket socket;
    mono_clock::time_point since;
  };
  std::size_t capacity_;
  std::vector<entry> idle_;
};

} // namespace streamcheck::proxy
