// The upstream half of one request, the same whichever protocol the client speaks (HTTP/1.1
// exchange.cc, HTTP/2 h2_session.cc): a pooled or new connection, the request head and body
// written, the response head read (1xx skipped), the body read piece by piece as it arrives.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "common/asio.h"
#include "reference_proxy/access_log.h"
#include "reference_proxy/config.h"
#include "reference_proxy/cors.h"
#include "reference_proxy/socket_deadline.h"
#include "reference_proxy/upstream_pool.h"

namespace streamcheck::proxy {

// What every exchange on one event loop shares.
struct exchange_env {
  const proxy_config &config;
  const cors_policy &cors;
  const std::vector<tcp::endpoint> &upstream; // resolved once at start
  upstream_pool &pool;
  access_log &log;
  const std::atomic<bool> &draining;
};

// A chunk's size line, its data, its CRLF (unused parts empty): one write, one send(). Not a
// std::array: g++ 12 cannot copy array temporaries into coroutine frames.
struct write_parts {
  asio::const_buffer first{}, second{}, third{};
  std::array<asio::const_buffer, 3> sequence() const { return {first, second, third}; }
};

class upstream_call {
public:
  explicit upstream_call(const exchange_env &env) : env_(env) {}

  // From the pool when one is open and quiet, else a new connection (--connect-timeout).
  asio::awaitable<bool> connect(const asio::any_io_executor &executor);
  bool reused() const { return reused_; }

  // The request head or a piece of its body (--body-timeout).
  asio::awaitable<bool> write(write_parts parts);

  enum class head_status { ok, timed_out, failed };
  // Reads the response head (--first-byte-timeout); a 101 is a failure (nothing upgrades here).
  asio::awaitable<head_status> read_head(bool head_request);
  const http::response_parser<http::buffer_body> &parser() const { return *parser_; }

  // What one read of the body gave: data (valid until the next call), the body's clean end,
  // or its failure (data before a failure is still to be sent on).
  struct piece {
    std::string_view data;
    bool done = false;
    bool failed = false;
  };
  // Waits at most --idle-timeout for the next bytes of the body.
  asio::awaitable<piece> read_body();
  bool timed_out() const { return up_ && up_->deadline.expired(); }

  // After a complete answer: the connection goes back to the pool when the upstream keeps it.
  void finish();
  // The client went away: closing the socket is how the upstream (Ollama) learns to stop
  // generating, and it ends whatever read or write is pending here at once.
  void cancel();

private:
  static constexpr std::size_t head_limit = 16 * 1024;
  // One upstream read becomes one client write: small reads (a token) go out as they come,
  // large ones (a long JSON answer) in pieces of this size. Small: it is held per open stream.
  static constexpr std::size_t relay_buffer_bytes = 4 * 1024;

  const exchange_env &env_;
  std::optional<timed_socket> up_;
  beast::flat_buffer buffer_{head_limit};
  std::optional<http::response_parser<http::buffer_body>> parser_;
  std::array<char, relay_buffer_bytes> chunk_;
  bool reused_ = false;
};

} // namespace streamcheck::proxy
