#include "reference_proxy/upstream_pool.h"

#include <sys/socket.h>

namespace streamcheck::proxy {
namespace {

// Shorter than any upstream's idle timeout we know of (Go's http.Server: none by default;
// common OpenAI-compatible servers: 5 s to 75 s), so the race with its close stays rare.
constexpr auto max_idle = std::chrono::seconds(4);

bool quiet_and_open(beast::tcp_stream &s) {
  char probe;
  const auto n = ::recv(s.socket().native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

} // namespace

std::optional<beast::tcp_stream> upstream_pool::take() {
  const auto now = mono_clock::now();
  while (!idle_.empty()) {
    entry e = std::move(idle_.back());
    idle_.pop_back();
    if (now - e.since < max_idle && quiet_and_open(e.stream)) return std::move(e.stream);
    boost::system::error_code ec;
    e.stream.socket().close(ec);
  }
  return std::nullopt;
}

void upstream_pool::give(beast::tcp_stream stream) {
  if (idle_.size() >= capacity_) {
    boost::system::error_code ec;
    stream.socket().close(ec);
    return;
  }
  stream.expires_never();
  idle_.push_back({std::move(stream), mono_clock::now()});
}

} // namespace streamcheck::proxy
