#include "reference_proxy/exchange.h"

#include <array>
#include <chrono>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>

#include "common/clock.h"
#include "common/peer_watch.h"
#include "reference_proxy/request_head.h"
#include "reference_proxy/tls.h"

namespace streamcheck::proxy {
namespace {

using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;
using boost::system::error_code;

constexpr std::size_t body_piece_bytes = 4 * 1024; // a request body's piece on its way up

// Over TLS a client's leaving starts with a close_notify alert: bytes, which a peek (peer_watch)
// cannot tell from a pipelined request. This watch reads them through TLS instead: the end of
// the stream is the client gone; a pipelined request stays in the connection's buffer.
class tls_close_watch {
public:
  tls_close_watch(tls_stream &stream, beast::flat_buffer &buffer, std::function<void()> on_close)
      : stream_(stream), buffer_(buffer), on_close_(std::move(on_close)),
        finished_(stream.get_executor()) {
    finished_.expires_at(asio::steady_timer::time_point::max());
    asio::co_spawn(stream.get_executor(), watch(), asio::detached);
  }
  bool closed() const { return closed_; }
  // Ends the watch and waits for its read to end: the stream is never read twice at once, nor
  // destroyed under a read. Every exchange that made a watch awaits this before it ends.
  awaitable<void> stop() {
    stopping_ = true;
    if (running_) {
      error_code ec;
      beast::get_lowest_layer(stream_).cancel(ec);
    }
    while (running_) {
      error_code ec;
      co_await finished_.async_wait(redirect_error(use_awaitable, ec));
    }
  }

private:
  awaitable<void> watch() {
    constexpr std::size_t pipelined_limit = 64 * 1024; // then no more watching, as peer_watch
    while (!stopping_ && buffer_.size() < pipelined_limit) {
      error_code ec;
      const std::size_t n = co_await stream_.async_read_some(buffer_.prepare(4096),
                                                             redirect_error(use_awaitable, ec));
      buffer_.commit(n);
      if (ec) {
        closed_ = !stopping_;
        if (closed_) on_close_();
        break;
      }
    }
    running_ = false;
    finished_.cancel();
  }

  tls_stream &stream_;
  beast::flat_buffer &buffer_;
  std::function<void()> on_close_;
  asio::steady_timer finished_;
  bool running_ = true;
  bool stopping_ = false;
  bool closed_ = false;
};

template <class Stream>
using close_watch =
    std::conditional_t<std::is_same_v<Stream, tcp::socket>, peer_watch, tls_close_watch>;

template <class Fields> header_list headers_of(const Fields &fields) {
  header_list out;
  for (const auto &f : fields)
    out.emplace_back(std::string(f.name_string()), std::string(f.value()));
  return out;
}

template <class Stream> class exchange {
public:
  exchange(timed_stream<Stream> &client, beast::flat_buffer &buffer, request_parser &parser,
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
  // Nothing when the whole body went upstream; otherwise the exchange is over (answered or the
  // client gone) and the value says whether the connection goes on.
  awaitable<std::optional<bool>> forward_body(upstream_call &up);
  awaitable<bool> relay(upstream_call &up, close_watch<Stream> &client_gone);
  static awaitable<void> stop_watch(close_watch<Stream> &watch) {
    if constexpr (std::is_same_v<Stream, tcp::socket>)
      watch.stop();
    else
      co_await watch.stop();
  }
  std::int64_t since_start_us() const { return monotonic_us() - start_us_; }

  timed_stream<Stream> &client_;
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
template <class Stream> awaitable<bool> exchange<Stream>::write_client(const write_parts &parts) {
  error_code ec;
  if constexpr (!std::is_same_v<Stream, tcp::socket>) {
    // TLS writes one record per buffer: the parts go out as one record, so an event is one
    // record and one send().
    std::string record;
    record.reserve(beast::buffer_bytes(parts.sequence()));
    for (const auto &b : parts.sequence())
      record.append(static_cast<const char *>(b.data()), b.size());
    client_.deadline.expires_after(env_.config.send_timeout);
    co_await asio::async_write(client_.stream, asio::buffer(record),
                               redirect_error(use_awaitable, ec));
    client_.deadline.disarm();
    co_return !ec;
  } else {
    beast::buffers_suffix<std::array<asio::const_buffer, 3>> rest(parts.sequence());
    rest.consume(client_.stream.write_some(rest, ec));
    if (ec && ec != asio::error::would_block) co_return false;
    if (beast::buffer_bytes(rest) == 0) co_return true;
    client_.deadline.expires_after(env_.config.send_timeout);
    co_await asio::async_write(client_.stream, rest, redirect_error(use_awaitable, ec));
    client_.deadline.disarm();
    co_return !ec;
  }
}

template <class Stream>
awaitable<bool> exchange<Stream>::answer(int status, const header_list &headers,
                                         std::string_view message, bool close) {
  close = close || !keep_alive_requested_ || env_.draining;
  const std::string response = local_response(status, headers, message, close);
  rec_.status = status;
  rec_.first_byte_us = since_start_us();
  const bool sent = co_await write_client({asio::buffer(response)});
  co_return sent && !close;
}

// The request body goes upstream read by read (no spooling to disk, no waiting for the end):
// a 20 MiB image upload starts reaching the model at once and costs no memory here.
template <class Stream>
awaitable<std::optional<bool>> exchange<Stream>::forward_body(upstream_call &up) {
  const bool chunked = parser_.chunked();
  std::array<char, body_piece_bytes> chunk;
  auto &body = parser_.get().body();
  error_code ec;
  while (!parser_.is_done()) {
    body.data = chunk.data();
    body.size = chunk.size();
    client_.deadline.expires_after(env_.config.body_timeout);
    co_await http::async_read_some(client_.stream, buffer_, parser_,
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
      if (!co_await up.write(parts)) { // `ec` still holds how the read ended
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
  if (chunked && !co_await up.write({asio::buffer(std::string_view("0\r\n\r\n"))}))
    co_return co_await refuse(502, "the upstream closed the connection");
  co_return std::nullopt;
}

template <class Stream> awaitable<bool> exchange<Stream>::serve() {
  const auto &h = parser_.get();
  req_ = {std::string(h.method_string()), std::string(h.target()), h.version() == 10 ? 10 : 11,
          headers_of(h)};
  keep_alive_requested_ = h.keep_alive();
  error_code ec;
  const auto peer = client_.lowest().remote_endpoint(ec);
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

  const auto declared_length = parser_.content_length();
  if (auto r = check_request(
          req_, declared_length ? std::optional<std::uint64_t>(*declared_length) : std::nullopt,
          env_.config))
    co_return co_await refuse(r->status, r->message);
  if (is_preflight(req_.method, req_.headers)) {
    const auto a = env_.cors.answer_preflight(
        origin, find_header(req_.headers, "Access-Control-Request-Headers"));
    rec_.outcome = exchange_outcome::preflight;
    co_return co_await answer(a.status, a.headers, a.refusal, has_body);
  }

  upstream_call up(env_);
  if (!co_await up.connect(client_.lowest().get_executor())) {
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
  fwd.client_scheme = std::is_same_v<Stream, tcp::socket> ? "http" : "https";
  rec_.upstream_reused = up.reused();
  const std::string head = upstream_request_head(req_, fwd);
  if (!co_await up.write({asio::buffer(head)})) {
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
  std::optional<close_watch<Stream>> client_gone;
  if constexpr (std::is_same_v<Stream, tcp::socket>)
    client_gone.emplace(client_.lowest(), [&up] { up.cancel(); });
  else
    client_gone.emplace(client_.stream, buffer_, [&up] { up.cancel(); });
  const bool keep = co_await relay(up, *client_gone);
  co_await stop_watch(*client_gone);
  co_return keep;
}

// Reads the upstream's answer and writes each read to the client at once: no buffering, which
// is the whole point (stream.first-token, stream.no-coalescing.*).
template <class Stream>
awaitable<bool> exchange<Stream>::relay(upstream_call &up, close_watch<Stream> &client_gone) {
  const auto head_status = co_await up.read_head(req_.method == "HEAD");
  if (client_gone.closed()) {
    rec_.outcome = exchange_outcome::client_closed;
    rec_.status = client_closed_status;
    co_return false;
  }
  if (head_status == upstream_call::head_status::timed_out) {
    rec_.outcome = exchange_outcome::upstream_timeout;
    co_return co_await answer(504, cors_,
                              "the upstream sent no response within " +
                                  std::to_string(env_.config.first_byte_timeout.count()) +
                                  " ms (--first-byte-timeout)",
                              false);
  }
  if (head_status == upstream_call::head_status::failed) {
    rec_.outcome = exchange_outcome::upstream_error;
    co_return co_await answer(502, cors_, "the upstream closed the connection without a response",
                              false);
  }

  const auto &parser = up.parser();
  const auto &res = parser.get();
  const int status = res.result_int();
  client_context ctx;
  ctx.cors = cors_;
  if (status == 204 || status == 304)
    ctx.body = body_framing::none;
  else if (parser.content_length() && !parser.chunked())
    ctx.body = body_framing::content_length;
  else if (req_.method == "HEAD")
    ctx.body = body_framing::none;
  else
    ctx.body = req_.version == 11 ? body_framing::chunked : body_framing::close_delimited;
  ctx.content_length = parser.content_length().value_or(0);
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

  const bool chunked = ctx.body == body_framing::chunked;
  for (;;) {
    const upstream_call::piece got = co_await up.read_body();
    if (const std::size_t n = got.data.size(); n > 0) {
      if (rec_.first_byte_us < 0) rec_.first_byte_us = since_start_us();
      char size_line[24];
      const int len = chunked ? std::snprintf(size_line, sizeof size_line, "%zx\r\n", n) : 0;
      if (!co_await write_client({asio::buffer(size_line, len), asio::buffer(got.data),
                                  asio::buffer("\r\n", chunked ? 2 : 0)})) {
        rec_.outcome = client_.deadline.expired() ? exchange_outcome::send_timeout
                                                  : exchange_outcome::client_closed;
        co_return false;
      }
      rec_.bytes_out += n;
    }
    if (got.failed) {
      // Cut mid-answer: close without the final chunk, so the client sees a truncated response
      // and not a clean end (abort.truncation-visible).
      rec_.outcome = client_gone.closed() ? exchange_outcome::client_closed
                     : up.timed_out()     ? exchange_outcome::upstream_timeout
                                          : exchange_outcome::upstream_error;
      co_return false;
    }
    if (got.done) break;
  }
  // Complete: a client leaving now must not cost the pooled connection.
  co_await stop_watch(client_gone);
  if (rec_.first_byte_us < 0) rec_.first_byte_us = since_start_us();
  if (chunked && !co_await write_client({asio::buffer(std::string_view("0\r\n\r\n"))})) {
    rec_.outcome = exchange_outcome::client_closed;
    co_return false;
  }
  rec_.outcome = exchange_outcome::completed;
  up.finish();
  co_return keep;
}

} // namespace

template <class Stream>
asio::awaitable<bool> serve_request(timed_stream<Stream> &client, beast::flat_buffer &buffer,
                                    request_parser &parser, const exchange_env &env) {
  exchange<Stream> x(client, buffer, parser, env);
  co_return co_await x.run();
}

template asio::awaitable<bool> serve_request(timed_stream<tcp::socket> &, beast::flat_buffer &,
                                             request_parser &, const exchange_env &);
template asio::awaitable<bool> serve_request(timed_stream<tls_stream> &, beast::flat_buffer &,
                                             request_parser &, const exchange_env &);

} // namespace streamcheck::proxy
