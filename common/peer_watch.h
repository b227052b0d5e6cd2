// Noticing that the peer went away while we have nothing to send it: before the first token,
// during a stall, while an upstream thinks. A write would notice too, but only once there is
// something to write. The abort.* checks measure exactly this in both directions: the mock must
// notice a proxy that hung up as Go does (through its background read), and the reference proxy
// must notice a client that left and tell its upstream at once.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>

#include "common/asio.h"

namespace streamcheck {

namespace detail {
struct peer_watch_state;
}

class peer_watch {
public:
  // Starts watching `peer` for a FIN or RST; `on_close` then runs once, on the socket's
  // executor. A byte arriving instead (the client pipelining its next request) ends the watch
  // without a close: the next read takes it, and the response goes on.
  explicit peer_watch(tcp::socket &peer, std::function<void()> on_close = {});
  // Forgets the socket: a wait still pending ends without touching it or calling on_close.
  ~peer_watch();
  peer_watch(const peer_watch &) = delete;
  peer_watch &operator=(const peer_watch &) = delete;

  bool closed() const;
  std::int64_t closed_at_us() const; // monotonic_us() when the close was noticed, once closed()

  // The response no longer needs the watch: on_close is dropped and the wait cancelled (with
  // every other operation pending on the socket, so call it between reads and writes).
  // Idempotent.
  void stop();

private:
  std::shared_ptr<detail::peer_watch_state> state_; // shared with the pending wait's handler
};

} // namespace streamcheck
