#include "common/peer_watch.h"

#include <cerrno>
#include <sys/socket.h>

#include "common/clock.h"

namespace streamcheck {

namespace detail {

struct peer_watch_state {
  tcp::socket *peer;
  std::function<void()> on_close;
  bool active = true;
  bool closed = false;
  std::int64_t closed_at_us = 0;
};

} // namespace detail

namespace {

using watch_state = detail::peer_watch_state;

void arm(const std::shared_ptr<watch_state> &s);

// Readable means a byte, a FIN or an RST. A peek tells which without taking the byte; it never
// blocks, whatever the socket's mode, so a spurious wake-up cannot stall the loop.
void on_readable(const std::shared_ptr<watch_state> &s) {
  char probe;
  const auto n = ::recv(s->peer->native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return arm(s);
  s->active = false;
  if (n > 0) return; // a pipelined next request, not a close
  s->closed = true;  // 0: FIN; an error: RST
  s->closed_at_us = monotonic_us();
  if (auto notify = std::move(s->on_close)) notify();
}

void arm(const std::shared_ptr<watch_state> &s) {
  s->peer->async_wait(tcp::socket::wait_read, [s](boost::system::error_code ec) {
    if (ec || !s->active) return; // cancelled, or the response ended first: `peer` may be gone
    on_readable(s);
  });
}

} // namespace

peer_watch::peer_watch(tcp::socket &peer, std::function<void()> on_close)
    : state_(std::make_shared<detail::peer_watch_state>(
          detail::peer_watch_state{&peer, std::move(on_close)})) {
  arm(state_);
}

peer_watch::~peer_watch() {
  state_->active = false;
  state_->on_close = nullptr;
}

bool peer_watch::closed() const {
  return state_->closed;
}

std::int64_t peer_watch::closed_at_us() const {
  return state_->closed_at_us;
}

void peer_watch::stop() {
  if (!state_->active) return;
  state_->active = false;
  state_->on_close = nullptr;
  boost::system::error_code ec;
  state_->peer->cancel(ec);
}

} // namespace streamcheck
