#include "reference_proxy/exchange.h"

#include <array>
#include <chrono>
#include <limits>
#include <optional>

#include "common/clock.h"
#include "common/peer_watch.h"
#include "reference_proxy/request_head.h"

namespace streamcheck::proxy {
namespace {

using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;
using boost::system::error_code;

// One upstream read becomes one client write: small reads (a token) go out as they come, large
// ones (a long JSON answer) in pieces of this size. Small, because it is held per open stream.
constexpr std::size_t relay_buffer_bytes = 4 * 1024;
constexpr std::size_t upstream_head_limit = 16 * 1024;
constexpr int client_closed_status = 499; // nginx's convention: the client left first

// A chunk's size line, its data, its CRLF (unused parts empty): one write, one send(). Not a
// std::array: g++ 12 cannot copy array temporaries into coroutine frames.
struct write_parts {
  asio::const_buffer first{}, second{}, third{};
  std::array<asio::const_buffer, 3> sequence() const { return {first, second, third}; }
};

template <class Fields> header_list headers_of(const Fields &fields) {
  header_list out;
  for (const auto &f : fields)
    out.emplace_back(std::string(f.name_string()), std::string(f.value()));
  return out;
}

constexpr std::size_t max_method_bytes = 32; // the longest registered method is 17 bytes

// Beast already refuses Content-Length together with Transfer-Encoding and differing lengths;
// these are the ambiguities it lets through, each a known request-smuggling vector.
std::optional<refusal> check_request(const request_head &req, const request_parser &parser,
                                     const proxy_config &config) {
  if (req.target.empty() || req.target.front() != '/')
    return refusal{400, "only origin-form request targets (/path) are accepted: this is a "
                        "reverse proxy, not an open proxy"};
  if (req.target.size() > config.max_target_bytes)
    return refusal{414, "request target longer than " + std::to_string(config.max_target_bytes) +
                            " bytes"};
  if (auto problem = target_problem(req.target)) return problem;
  if (req.method.size() > max_method_bytes)
    return refusal{501, "method longer than " + std::to_string(max_method_bytes) + " bytes"};
  // An upstream that echoes TRACE would show a script the headers (cookies, Authorization) the
  // proxy adds or forwards; nginx answers 405 too.
  if (req.method == "TRACE") return refusal{405, "TRACE is not allowed"};
  // RFC 9112 §3.2: exactly one Host in HTTP/1.1; two would let the hops disagree on the target.
  if (const auto hosts = count_header(req.headers, "Host");
      hosts > 1 || (hosts == 0 && req.version == 11))
    return refusal{400, "an HTTP/1.1 request needs exactly one Host header"};
  // Forwarded as X-Forwarded-Host: what the upstream builds URLs from must be a host.
  if (const auto host = find_header(req.headers, "Host");
      count_header(req.headers, "Host") == 1 && !valid_host(host))
    return refusal{400, "invalid Host header (RFC 9112 §3.2: host[:port])"};
  if (count_header(req.headers, "Content-Length") > 1 ||
      find_header(req.headers, "Content-Length").find(',') != std::string_view::npos)
    return refusal{400, "more than one Content-Length"};
  if (const auto te_count = count_header(req.headers, "Transfer-Encoding"); te_count > 0) {
    if (te_count > 1 ||
        !iequals(trim_ows(find_header(req.headers, "Transfer-Encoding")), "chunked"))
      return refusal{400, "Transfer-Encoding must be exactly 'chunked'"};
    if (req.version == 10) return refusal{400, "Transfer-Encoding in an HTTP/1.0 request"};
  }
  if (const auto length = parser.content_length(); length && *length > config.max_body_bytes)
    return refusal{413, "request body larger than " + std::to_string(config.max_body_bytes) +
                            " bytes (--max-body)"};
  const auto expect = find_header(req.headers, "Expect");
  if (!expect.empty() && !iequals(expect, "100-continue"))
    return refusal{417, "unsupported Expect: " + std::string(expect)};
  return std::nullopt;
}

class exchange {
public:
  exchange(timed_socket &client, beast::flat_buffer &buffer, request_parser &parser,
           const exchange_env &env)
      : client_(client), buffer_(buffer), parser_(parser), env_(env) {}

  // Serves the request and writes its access-log line; returns whether the connection goes on.
  awaitable<bool> run() {
    const bool keep_alive = co_await serve();
    rec_.duration_us = since_start_us();
    env_.log.write(rec_);
    co_return keep_alive;
  }

private:
  awaitable<bool> serve();
  awaitable<bool> answer(int status, const header_list &headers, std::string_view message,
                         bool close);
  awaitable<bool> refuse(int status, std::string_view message) {
    return answer(status, cors_, message, true);
  }
  awaitable<bool> write_client(const write_parts &parts); // only as co_await write_client({...})
  awaitable<std::optional<tcp::socket>> connect_upstream();
  // Nothing when the whole body went upstream; otherwise the exchange is over (answered or the
  // client gone) and the value says whether the connection goes on.
  awaitable<std::optional<bool>> forward_body(timed_socket &up);
  awaitable<bool> relay(timed_socket &up, peer_watch &client_gone);
  std::int64_t since_start_us() const { return monotonic_us() - start_us_; }

  timed_socket &client_;
  beast::flat_buffer &buffer_;
  request_parser &parser_;
  const exchange_env &env_;
  request_head req_;
  exchange_record rec_;
  header_list cors_;
  std::int64_t start_us_ = monotonic_us();
  bool keep_alive_requested_ = false;
};

// Most writes fit in the socket buffer: one non-blocking send, and only what is left (a slow
// client, a large piece) goes through the event loop. An async write of a token that completes
// at once still costs an extra trip through the scheduler (an epoll_wait) per event.
awaitable<bool> exchange::write_client(const write_parts &parts) {
  error_code ec;
  beast::buffers_suffix<std::array<asio::const_buffer, 3>> rest(parts.sequence());
  rest.consume(client_.socket.write_some(rest, ec));
  if (ec && ec != asio::error::would_block) co_return false;
  if (beast::buffer_bytes(rest) == 0) co_return true;
  client_.deadline.expires_after(env_.config.send_timeout);
  co_await asio::async_write(client_.socket, rest, redirect_error(use_awaitable, ec));
  client_.deadline.disarm();
  co_return !ec;
}

awaitable<bool> exchange::answer(int status, const header_list &headers, std::string_view message,
                                 bool close) {
  close = close || !keep_alive_requested_ || env_.draining;
  const std::string response = local_response(status, headers, message, close);
  rec_.status = status;
  rec_.first_byte_us = since_start_us();
  const bool sent = co_await write_client({asio::buffer(response)});
  co_return sent && !close;
}

awaitable<std::optional<tcp::socket>> exchange::connect_upstream() {
  if (auto pooled = env_.pool.take()) {
    rec_.upstream_reused = true;
    co_return pooled;
  }
  timed_socket up(tcp::socket(client_.socket.get_executor()));
  error_code ec;
  up.deadline.expires_after(env_.config.connect_timeout);
  co_await asio::async_connect(up.socket, env_.upstream, redirect_error(use_awaitable, ec));
  up.deadline.disarm();
  if (ec) co_return std::nullopt;
  up.socket.set_option(tcp::no_delay(true), ec);
  co_return std::move(up.socket);
}

// The request body goes upstream read by read (no spooling to disk, no waiting for the end):
// a 20 MiB image upload starts reaching the model at once and costs no memory here.
awaitable<std::optional<bool>> exchange::forward_body(timed_socket &up) {
  const bool chunked = parser_.chunked();
  std::array<char, relay_buffer_bytes> chunk;
  auto &body = parser_.get().body();
  error_code ec;
  while (!parser_.is_done()) {
    body.data = chunk.data();
    body.size = chunk.size();
    client_.deadline.expires_after(env_.config.body_timeout);
    co_await http::async_read_some(client_.socket, buffer_, parser_,
                                   redirect_error(use_awaitable, ec));
    client_.deadline.disarm();
    if (ec == http::error::need_buffer) ec = {};
    const std::size_t n = chunk.size() - body.size;
    rec_.bytes_in += n;
    if (rec_.bytes_in > env_.config.max_body_bytes)
      co_return co_await refuse(413, "request body larger than " +
                                         std::to_string(env_.config.max_body_bytes) +
                                         " bytes (--max-body)");
    if (n > 0) {
      char size_line[24];
      const int len = chunked ? std::snprintf(size_line, sizeof size_line, "%zx\r\n", n) : 0;
      const write_parts parts{asio::buffer(size_line, len), asio::buffer(chunk.data(), n),
                              asio::buffer("\r\n", chunked ? 2 : 0)};
      error_code write_ec; // `ec` still holds how the read ended
      up.deadline.expires_after(env_.config.body_timeout);
      co_await asio::async_write(up.socket, parts.sequence(),
                                 redirect_error(use_awaitable, write_ec));
      up.deadline.disarm();
      if (write_ec) {
        rec_.outcome = exchange_outcome::upstream_error;
        co_return co_await refuse(502, "the upstream closed the connection while receiving the "
                                       "request body");
      }
    }
    if (client_.deadline.expired()) {
      rec_.outcome = exchange_outcome::refused;
      co_return co_await refuse(408, "request body stalled");
    }
    if (ec && ec.category() == http::make_error_code(http::error::bad_chunk).category()) {
      rec_.outcome = exchange_outcome::refused;
      co_return co_await refuse(400, "malformed request body: " + ec.message());
    }
    if (ec) {
      rec_.outcome = exchange_outcome::client_closed;
      rec_.status = client_closed_status;
      co_return false;
    }
  }
  if (chunked) {
    co_await asio::async_write(up.socket, asio::buffer(std::string_view("0\r\n\r\n")),
                               redirect_error(use_awaitable, ec));
    if (ec) co_return co_await refuse(502, "the upstream closed the connection");
  }
  co_return std::nullopt;
}

awaitable<bool> exchange::serve() {
  const auto &h = parser_.get();
  req_ = {std::string(h.method_string()), std::string(h.target()), h.version() == 10 ? 10 : 11,
          headers_of(h)};
  keep_alive_requested_ = h.keep_alive();
  error_code ec;
  const auto peer = client_.socket.remote_endpoint(ec);
  rec_.start_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  rec_.client = ec ? "?" : peer.address().to_string();
  rec_.method = req_.method;
  rec_.target = req_.target;
  rec_.version = req_.version;
  rec_.outcome = exchange_outcome::refused;
  const auto origin = find_header(req_.headers, "Origin");
  cors_ = env_.cors.response_headers(origin);
  const bool has_body = !parser_.is_done();

  if (auto r = check_request(req_, parser_, env_.config))
    co_return co_await refuse(r->status, r->message);
  if (is_preflight(req_.method, req_.headers)) {
    const auto a = env_.cors.answer_preflight(
        origin, find_header(req_.headers, "Access-Control-Request-Headers"));
    rec_.outcome = exchange_outcome::preflight;
    co_return co_await answer(a.status, a.headers, a.refusal, has_body);
  }

  auto connected = co_await connect_upstream();
  if (!connected) {
    rec_.outcome = exchange_outcome::upstream_unreachable;
    co_return co_await answer(
        502, cors_, "cannot connect to the upstream " + env_.config.upstream.authority(), has_body);
  }
  forward_context fwd;
  fwd.upstream_authority = env_.config.upstream.authority();
  fwd.client_address = rec_.client;
  if (has_body && parser_.chunked())
    fwd.body = body_framing::chunked;
  else if (has_body)
    fwd.body = body_framing::content_length;
  fwd.content_length = parser_.content_length().value_or(0);
  fwd.forward_underscores = env_.config.underscores_in_headers;
  const std::string head = upstream_request_head(req_, fwd);
  timed_socket up(std::move(*connected));
  up.deadline.expires_after(env_.config.body_timeout);
  co_await asio::async_write(up.socket, asio::buffer(head), redirect_error(use_awaitable, ec));
  up.deadline.disarm();
  if (ec) {
    rec_.outcome = exchange_outcome::upstream_error;
    co_return co_await answer(502, cors_, "the upstream closed the connection", has_body);
  }
  if (has_body) {
    if (!find_header(req_.headers, "Expect").empty() && req_.version == 11 &&
        !co_await write_client({asio::buffer(std::string_view("HTTP/1.1 100 Continue\r\n\r\n"))}))
      co_return false;
    if (const auto done = co_await forward_body(up)) co_return *done;
  }

  // Nothing is read from the client while the answer streams (the watch only peeks): its
  // buffer goes back to the heap, a third of what an open stream would hold otherwise.
  if (buffer_.size() == 0) buffer_.shrink_to_fit();
  // A client that leaves while the upstream is silent (before the first token, during a pause)
  // has the upstream connection closed at once, which is how Ollama learns to stop generating.
  peer_watch client_gone(client_.socket, [&up] {
    error_code close_ec;
    up.socket.close(close_ec);
  });
  const bool keep = co_await relay(up, client_gone);
  client_gone.stop();
  co_return keep;
}

// Reads the upstream's answer and writes each read to the client at once: no buffering, which
// is the whole point (stream.first-token, stream.no-coalescing.*).
awaitable<bool> exchange::relay(timed_socket &up, peer_watch &client_gone) {
  error_code ec;
  beast::flat_buffer upstream_buffer(upstream_head_limit);
  std::optional<http::response_parser<http::buffer_body>> parser;
  do { // 1xx informational heads (103 Early Hints) are skipped
    parser.emplace();
    parser->header_limit(upstream_head_limit);
    parser->body_limit(std::numeric_limits<std::uint64_t>::max()); // see server.cc
    if (req_.method == "HEAD") parser->skip(true);
    up.deadline.expires_after(env_.config.first_byte_timeout);
    co_await http::async_read_header(up.socket, upstream_buffer, *parser,
                                     redirect_error(use_awaitable, ec));
    up.deadline.disarm();
  } while (!ec && parser->get().result_int() / 100 == 1 && parser->get().result_int() != 101);

  if (client_gone.closed()) {
    rec_.outcome = exchange_outcome::client_closed;
    rec_.status = client_closed_status;
    co_return false;
  }
  if (up.deadline.expired()) {
    rec_.outcome = exchange_outcome::upstream_timeout;
    co_return co_await answer(504, cors_,
                              "the upstream sent no response within " +
                                  std::to_string(env_.config.first_byte_timeout.count()) +
                                  " ms (--first-byte-timeout)",
                              false);
  }
  if (ec || parser->get().result_int() == 101) {
    rec_.outcome = exchange_outcome::upstream_error;
    co_return co_await answer(502, cors_, "the upstream closed the connection without a response",
                              false);
  }

  const auto &res = parser->get();
  const int status = res.result_int();
  client_context ctx;
  ctx.cors = cors_;
  if (status == 204 || status == 304)
    ctx.body = body_framing::none;
  else if (parser->content_length() && !parser->chunked())
    ctx.body = body_framing::content_length;
  else if (req_.method == "HEAD")
    ctx.body = body_framing::none;
  else
    ctx.body = req_.version == 11 ? body_framing::chunked : body_framing::close_delimited;
  ctx.content_length = parser->content_length().value_or(0);
  const bool keep =
      keep_alive_requested_ && ctx.body != body_framing::close_delimited && !env_.draining;
  ctx.close = !keep;
  ctx.keep_alive_10 = keep && req_.version == 10;
  const std::string head =
      client_response_head({status, std::string(res.reason()), headers_of(res)}, ctx);
  rec_.status = status;
  if (!co_await write_client({asio::buffer(head)})) {
    rec_.outcome = exchange_outcome::client_closed;
    co_return false;
  }

  std::array<char, relay_buffer_bytes> chunk;
  auto &body = parser->get().body();
  const bool chunked = ctx.body == body_framing::chunked;
  while (!parser->is_done()) {
    body.data = chunk.data();
    body.size = chunk.size();
    // The parser takes one piece per call (a chunk header, some data): input is read only when
    // it says it needs more.
    bool need_input = upstream_buffer.size() == 0;
    if (!need_input) {
      upstream_buffer.consume(parser->put(upstream_buffer.data(), ec));
      need_input = ec == http::error::need_more;
      if (need_input || ec == http::error::need_buffer) ec = {};
    }
    const std::size_t n = chunk.size() - body.size;
    if (n == 0 && !ec && !parser->is_done()) {
      if (!need_input) continue;
      up.deadline.expires_after(env_.config.idle_timeout);
      // What the buffer already holds, at least 512 bytes (as Beast): a token needs no more, and
      // the buffer is held for as long as the stream stays open.
      const std::size_t want =
          std::min(std::max<std::size_t>(512, upstream_buffer.capacity() - upstream_buffer.size()),
                   upstream_buffer.max_size() - upstream_buffer.size());
      const std::size_t got = co_await up.socket.async_read_some(upstream_buffer.prepare(want),
                                                                 redirect_error(use_awaitable, ec));
      upstream_buffer.commit(got);
      up.deadline.disarm();
      if (ec == asio::error::eof) parser->put_eof(ec); // the end, for a close-delimited answer
      if (!ec) continue;
    }
    if (n > 0) {
      if (rec_.first_byte_us < 0) rec_.first_byte_us = since_start_us();
      char size_line[24];
      const int len = chunked ? std::snprintf(size_line, sizeof size_line, "%zx\r\n", n) : 0;
      if (!co_await write_client({asio::buffer(size_line, len), asio::buffer(chunk.data(), n),
                                  asio::buffer("\r\n", chunked ? 2 : 0)})) {
        rec_.outcome = client_.deadline.expired() ? exchange_outcome::send_timeout
                                                  : exchange_outcome::client_closed;
        co_return false;
      }
      rec_.bytes_out += n;
    }
    if (ec) {
      // Cut mid-answer: close without the final chunk, so the client sees a truncated response
      // and not a clean end (abort.truncation-visible).
      rec_.outcome = client_gone.closed()    ? exchange_outcome::client_closed
                     : up.deadline.expired() ? exchange_outcome::upstream_timeout
                                             : exchange_outcome::upstream_error;
      co_return false;
    }
  }
  client_gone.stop(); // complete: a client leaving now must not cost the pooled connection
  if (rec_.first_byte_us < 0) rec_.first_byte_us = since_start_us();
  if (chunked && !co_await write_client({asio::buffer(std::string_view("0\r\n\r\n"))})) {
    rec_.outcome = exchange_outcome::client_closed;
    co_return false;
  }
  rec_.outcome = exchange_outcome::completed;
  if (parser->keep_alive()) env_.pool.give(std::move(up.socket));
  co_return keep;
}

} // namespace

asio::awaitable<bool> serve_request(timed_socket &client, beast::flat_buffer &buffer,
                                    request_parser &parser, const exchange_env &env) {
  exchange x(client, buffer, parser, env);
  co_return co_await x.run();
}

} // namespace streamcheck::proxy
