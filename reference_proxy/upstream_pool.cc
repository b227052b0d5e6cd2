#include "reference_proxy/upstream_pool.h"

#include <sys/socket.h>

namespace streamcheck::proxy {
namespace {

// Shorter than any upstream's idle timeout we know of (Go's http.Server: none by default;
// common OpenAI-compatible servers: 5 s to 75 s), so the race with its close stays rare.
constexpr auto max_idle = std::chrono::seconds(4);

bool quiet_and_open(tcp::socket &s) {
  char probe;
  const auto n = ::recv(s.native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

} // namespace

std::optional<tcp::socket> upstream_pool::take() {
  const auto now = mono_clock::now();
  while (!idle_.empty()) {
    entry e = std::move(idle_.back());
    idle_.pop_back();
    if (now - e.since < max_idle && quiet_and_open(e.socket)) return std::move(e.socket);
    boost::system::error_code ec;
    e.socket.close(ec);
  }
  return std::nullopt;
}

void upstream_pool::give(tcp::socket socket) {
  if (idle_.size() >= capacity_) {
    boost::system::error_code ec;
    socket.close(ec);
    return;
  }
  idle_.push_back({std::move(socket), mono_clock::now()});
}

} // namespace streamcheck::proxy
