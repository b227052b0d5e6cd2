#include "reference_proxy/socket_deadline.h"

namespace streamcheck::proxy {

struct socket_deadline::state : std::enable_shared_from_this<state> {
  state(const asio::any_io_executor &ex, tcp::socket &s) : timer(ex), socket(&s) {}
  asio::steady_timer timer;
  tcp::socket *socket; // null once the owner is gone
  mono_clock::time_point deadline;
  bool armed = false;
  bool waiting = false;    // an async_wait is pending
  unsigned generation = 0; // of the pending wait; a rescheduled one is stale
  bool expired = false;

  void wait_until(mono_clock::time_point when) {
    timer.expires_at(when); // cancels a pending wait, whose handler then sees a stale generation
    waiting = true;
    timer.async_wait([self = shared_from_this(), g = ++generation](boost::system::error_code) {
      self->woken(g);
    });
  }

  void woken(unsigned g) {
    if (g != generation || !socket) return;
    waiting = false;
    if (!armed) return; // the next expires_after starts a wait again
    if (mono_clock::now() < deadline) return wait_until(deadline);
    expired = true;
    armed = false;
    boost::system::error_code ec;
    socket->close(ec);
  }
};

socket_deadline::socket_deadline(const asio::any_io_executor &ex, tcp::socket &socket)
    : state_(std::make_shared<state>(ex, socket)) {}

socket_deadline::~socket_deadline() {
  state_->socket = nullptr;
  state_->timer.cancel();
}

void socket_deadline::expires_after(mono_clock::duration d) {
  auto &s = *state_;
  s.deadline = mono_clock::now() + d;
  s.armed = true;
  s.expired = false;
  // Later than the pending wake-up: that wake-up re-sleeps. Earlier: reschedule now.
  if (!s.waiting || s.timer.expiry() > s.deadline) s.wait_until(s.deadline);
}

void socket_deadline::disarm() {
  state_->armed = false;
}

bool socket_deadline::expired() const {
  return state_->expired;
}

} // namespace streamcheck::proxy
