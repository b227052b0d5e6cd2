// The deadline of whatever a socket is waiting for (a request head, the next token, a write to a
// slow client). Moving it is a clock read, not a timer-queue update: the timer sleeps until the
// earliest deadline it was given and, woken early, sleeps again until the current one. A
// stream re-arms it for every token, so beast::tcp_stream's timer per operation cost ~30% of
// the proxy's CPU per event (bench_proxy_latency).
#pragma once
#include <memory>

#include "common/asio.h"
#include "common/clock.h"

namespace streamcheck::proxy {

class socket_deadline {
public:
  socket_deadline(const asio::any_io_executor &ex, tcp::socket &socket);
  ~socket_deadline();
  socket_deadline(const socket_deadline &) = delete;
  socket_deadline &operator=(const socket_deadline &) = delete;

  // The socket is closed (its pending operations fail) unless disarm() comes first.
  void expires_after(mono_clock::duration d);
  void disarm();
  // The socket was closed because a deadline passed.
  bool expired() const;

private:
  struct state;
  std::shared_ptr<state> state_; // shared with the timer's pending handler
};

} // namespace streamcheck::proxy

namespace streamcheck::proxy {

// A socket and the deadline of what it waits for. Not movable: the deadline points at it.
struct timed_socket {
  explicit timed_socket(tcp::socket s)
      : socket(std::move(s)), deadline(socket.get_executor(), socket) {}
  tcp::socket socket;
  socket_deadline deadline;
};

} // namespace streamcheck::proxy

namespace streamcheck::proxy {

// A client connection: a TCP socket, or TLS over one, and the deadline of what it waits for.
// Not movable: the deadline points at the socket.
template <class Stream> struct timed_stream {
  template <class... Args>
  explicit timed_stream(Args &&...args)
      : stream(std::forward<Args>(args)...), deadline(lowest().get_executor(), lowest()) {}
  Stream stream;
  socket_deadline deadline;
  tcp::socket &lowest() { return beast::get_lowest_layer(stream); }
};

} // namespace streamcheck::proxy
