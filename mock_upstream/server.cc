#include "mock_upstream/server.h"

#include <atomic>
#include <charconv>
#include <random>

#include "common/ascii.h"
#include "common/clock.h"
#include "common/endpoint.h"
#include "common/fnv.h"
#include "common/http_date.h"
#include "common/listener.h"
#include "common/loop_pool.h"
#include "common/peer_watch.h"
#include "common/request_error.h"

namespace streamcheck::mock {
namespace {

using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;
using boost::system::error_code;

std::string to_string_peer(const tcp::endpoint &ep) {
  return to_url_authority(ep);
}

std::string hex64(std::uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// A response's silences (the delay before it, a stall, the gap between tokens) end early when the
// peer leaves: Go notices through its background read, and the abort.* checks measure it.
struct silence {
  explicit silence(tcp::socket &sock)
      : timer(sock.get_executor()), peer(sock, [this] { timer.cancel(); }) {}
  asio::steady_timer timer;
  peer_watch peer; // after the timer: destroyed first, so its callback never sees a dead timer
};

} // namespace

struct server::impl {
  server_options options;
  std::optional<loop_pool> loops; // first: destroyed last, after everything bound to a loop
  std::optional<tcp::acceptor> acceptor;
  std::optional<tcp::acceptor> control;
  journal log;
  std::atomic<std::uint64_t> next_connection{1};
  std::atomic<unsigned> request_counter{0};
  std::atomic<bool> stopped{false};

  awaitable<void> accept_loop();
  awaitable<void> session(tcp::socket sock, std::uint64_t connection);
  awaitable<bool> serve_one(tcp::socket &sock, beast::flat_buffer &buf, std::uint64_t connection,
                            unsigned index, const std::string &peer);
  awaitable<void> control_loop();
  awaitable<void> control_session(tcp::socket sock);
};

namespace {

struct request_record {
  request_view view;
  std::uint64_t seq = 0;
  std::int64_t t0_us = 0; // request fully read: the zero of every "t_us"
};

// Writes bytes; the first write of a response carries its head. Returns false when the peer is
// gone, which the caller records.
struct response_writer {
  tcp::socket &sock;
  std::string head;
  body_framing frame;
  bool head_sent = false;

  awaitable<bool> send(std::string_view data, bool last = false) {
    std::string out;
    if (!head_sent) {
      out = std::move(head);
      head_sent = true;
    }
    if (frame == body_framing::chunked) {
      if (!data.empty()) out += chunk(data);
      if (last) out += last_chunk;
    } else {
      out.append(data);
    }
    if (out.empty()) co_return true;
    error_code ec;
    co_await asio::async_write(sock, asio::buffer(out), redirect_error(use_awaitable, ec));
    co_return !ec;
  }
};

bool wants_close(const request_view &r) {
  const std::string c = r.header("Connection");
  auto has = [&](std::string_view token) {
    return ascii_lower(c).find(token) != std::string::npos;
  };
  return r.version == 10 ? !has("keep-alive") : has("close");
}

void hard_close(tcp::socket &sock, bool reset) {
  error_code ec;
  if (reset)
    sock.set_option(asio::socket_base::linger(true, 0), ec);
  else
    sock.shutdown(tcp::socket::shutdown_both, ec);
  sock.close(ec);
}

awaitable<bool> sleep_until(silence &w, mono_clock::time_point when) {
  if (w.peer.closed()) co_return false;
  w.timer.expires_at(when);
  error_code ec;
  co_await w.timer.async_wait(redirect_error(use_awaitable, ec));
  co_return !w.peer.closed();
}

struct stream_outcome {
  stream_end outcome = stream_end::in_progress;
  int events = 0;
  std::int64_t head_sent_us = -1;
};

awaitable<stream_outcome> run_stream(tcp::socket &sock, silence &watch, const request_record &rec,
                                     const plan &p, const stream_response &s,
                                     const std::string &head, body_framing frame, journal &log) {
  const scenario &sc = p.timeline;
  const auto t0 = mono_clock::time_point(std::chrono::microseconds(rec.t0_us));
  std::mt19937 rng(sc.seed);
  std::uniform_int_distribution<int> jitter(-sc.jitter_ms, sc.jitter_ms);
  response_writer out{sock, head, frame};
  stream_outcome result;
  std::string pending;
  int pending_events = 0;
  int seq = 0;
  auto now_us = [&] { return monotonic_us() - rec.t0_us; };

  auto flush = [&](bool last) -> awaitable<bool> {
    if (result.head_sent_us < 0) result.head_sent_us = now_us();
    std::string data = std::move(pending);
    pending.clear();
    pending_events = 0;
    if (sc.split_events && data.size() > 1) {
      const auto half = data.size() / 2;
      if (!co_await out.send(std::string_view(data).substr(0, half))) co_return false;
      if (!co_await sleep_until(watch,
                                mono_clock::now() + std::chrono::milliseconds(sc.split_gap_ms)))
        co_return false;
      co_return co_await out.send(std::string_view(data).substr(half), last);
    }
    co_return co_await out.send(data, last);
  };
  auto produced = [&](std::string event) {
    pending += event;
    ++pending_events;
    ++result.events;
    log.update(rec.seq, [&](journal_entry &e) { e.events_sent = result.events; });
  };
  auto lost = [&]() {
    return watch.peer.closed() ? stream_end::peer_closed : stream_end::write_failed;
  };

  long long offset_ms = sc.first_token_ms;
  for (int k = 0; k <= sc.tokens; ++k) {
    if (k == sc.stall_at && k < sc.tokens) offset_ms += sc.stall_ms; // tokens only, not the end
    const int j = k > 0 && sc.jitter_ms > 0 ? jitter(rng) : 0;
    if (!co_await sleep_until(watch,
                              t0 + std::chrono::milliseconds(std::max(0LL, offset_ms + j)))) {
      result.outcome = stream_end::peer_closed;
      co_return result;
    }
    offset_ms += sc.gap_ms;
    if (k == sc.abort_after && sc.abort != abort_kind::none) {
      if (!pending.empty() && !co_await flush(false)) {
        result.outcome = lost();
        co_return result;
      }
      hard_close(sock, sc.abort == abort_kind::rst);
      result.outcome =
          sc.abort == abort_kind::rst ? stream_end::aborted_rst : stream_end::aborted_fin;
      co_return result;
    }
    const bool error_now = k == sc.error_after;
    const bool last = k == sc.tokens || error_now;
    if (error_now)
      produced(render_in_band_error(s.ctx, sc.error_message, seq++, now_us()));
    else if (k == sc.tokens)
      produced(render_final(s.ctx, sc, seq++, now_us()));
    else
      produced(render_token(s.ctx, sc, k, seq++, now_us()));
    if (last || pending_events >= sc.events_per_write) {
      if (!co_await flush(last)) {
        result.outcome = lost();
        co_return result;
      }
    }
    if (last) break;
  }
  result.outcome = stream_end::completed;
  co_return result;
}

} // namespace

awaitable<void> server::impl::accept_loop() {
  for (;;) {
    tcp::socket sock(loops->next());
    error_code ec;
    co_await acceptor->async_accept(sock, redirect_error(use_awaitable, ec));
    if (ec == asio::error::operation_aborted || stopped) co_return;
    if (ec) {
      // Out of descriptors: back off instead of spinning.
      asio::steady_timer t(acceptor->get_executor(), std::chrono::milliseconds(20));
      co_await t.async_wait(redirect_error(use_awaitable, ec));
      continue;
    }
    sock.set_option(tcp::no_delay(true), ec); // Go sets TCP_NODELAY on every connection
    auto ex = sock.get_executor();
    asio::co_spawn(ex, session(std::move(sock), next_connection++), asio::detached);
  }
}

awaitable<void> server::impl::session(tcp::socket sock, std::uint64_t connection) {
  error_code ec;
  const auto remote = sock.remote_endpoint(ec);
  const std::string peer = ec ? "?" : to_string_peer(remote);
  beast::flat_buffer buf;
  for (unsigned index = 1; !stopped; ++index)
    if (!co_await serve_one(sock, buf, connection, index, peer)) break;
  hard_close(sock, false);
}

namespace {

// Go's answer to a request it cannot parse; the connection is closed after it.
std::string go_refusal(int status) {
  const std::string text = std::to_string(status) + " " + std::string(status_text(status));
  return "HTTP/1.1 " + text +
         "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n" + text;
}

// Beast files a repeated header field right after its first occurrence; the journal must keep the
// order the client sent. So the head is gathered raw first (Beast then parses it from the buffer
// and reports errors and limits exactly as before) and its field lines give the order.
awaitable<std::string> read_raw_head(tcp::socket &sock, beast::flat_buffer &buf,
                                     std::size_t limit) {
  for (;;) {
    const std::string_view have(static_cast<const char *>(buf.data().data()), buf.size());
    if (const auto end = have.find("\r\n\r\n"); end != std::string_view::npos)
      co_return std::string(have.substr(0, end + 4));
    if (have.size() > limit) co_return std::string();
    error_code ec;
    const auto n =
        co_await sock.async_read_some(buf.prepare(65536), redirect_error(use_awaitable, ec));
    if (ec) co_return std::string();
    buf.commit(n);
  }
}

request_view to_view(const http::request<http::string_body> &req) {
  request_view v;
  v.method = std::string(req.method_string());
  v.target = std::string(req.target());
  v.version = req.version() == 10 ? 10 : 11;
  for (const auto &field : req.base())
    v.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  v.body = req.body();
  return v;
}

body_framing framing_for(const request_view &req, const whole_response &w) {
  if (w.status == 204 || w.status == 304) return body_framing::none;
  if (w.body.size() <= go_prechunk_buffer || req.method == "HEAD")
    return body_framing::content_length;
  return req.version == 11 ? body_framing::chunked : body_framing::close_delimited;
}

// The status for a request head that could not be read (0: nobody left to answer). Beast reports
// a declared Content-Length over the body limit with the head: that is answered 400, only a body
// that grows past the limit while it is read gets 413.
int head_refusal(const error_code &ec) {
  const request_error e = classify_request_error(ec);
  return e == request_error::body_too_large ? 400 : refusal_status(e);
}

} // namespace

awaitable<bool> server::impl::serve_one(tcp::socket &sock, beast::flat_buffer &buf,
                                        std::uint64_t connection, unsigned index,
                                        const std::string &peer) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
  parser.body_limit(options.max_body_bytes);
  error_code ec;
  const std::string raw_head = co_await read_raw_head(sock, buf, options.max_header_bytes);
  co_await http::async_read_header(sock, buf, parser, redirect_error(use_awaitable, ec));
  if (ec) {
    if (const int status = head_refusal(ec))
      co_await asio::async_write(sock, asio::buffer(go_refusal(status)),
                                 redirect_error(use_awaitable, ec));
    co_return false;
  }
  const std::int64_t head_us = monotonic_us();
  if (parser.get().version() == 11 &&
      beast::iequals(parser.get()[http::field::expect], "100-continue"))
    co_await asio::async_write(sock,
                               asio::buffer(std::string_view("HTTP/1.1 100 Continue\r\n\r\n")),
                               redirect_error(use_awaitable, ec));
  co_await http::async_read(sock, buf, parser, redirect_error(use_awaitable, ec));
  if (ec) {
    if (const int status = refusal_status(classify_request_error(ec)))
      co_await asio::async_write(sock, asio::buffer(go_refusal(status)),
                                 redirect_error(use_awaitable, ec));
    co_return false;
  }

  // Beast grows the read buffer to 64 KiB; a stream can last minutes, so give it back (keeps any
  // pipelined bytes). Without this, 10k open streams hold 640 MiB of heap.
  buf.shrink_to_fit();
  request_record rec;
  rec.view = to_view(parser.get());
  rec.view.headers = in_sent_order(raw_head, std::move(rec.view.headers));
  rec.t0_us = monotonic_us();
  const plan p = handle(rec.view, options.behaviour, ++request_counter);

  journal_entry entry;
  entry.id = p.correlation_id;
  entry.connection = connection;
  entry.request_on_connection = index;
  entry.peer = peer;
  entry.method = rec.view.method;
  entry.target = rec.view.target;
  entry.version = rec.view.version == 10 ? "1.0" : "1.1";
  entry.headers = rec.view.headers;
  entry.body_bytes = rec.view.body.size();
  entry.body_fnv1a64 = hex64(fnv1a64_of(rec.view.body));
  entry.received_us = head_us;
  entry.body_us = rec.t0_us - head_us;
  entry.model = p.model;
  rec.seq = log.add(std::move(entry));

  silence watch(sock);
  const bool close_after = wants_close(rec.view);
  head_options head;
  head.version = rec.view.version;
  head.date = http_date_now();
  head.connection_close = close_after && rec.view.version == 11;

  stream_end outcome = stream_end::in_progress;
  std::int64_t head_sent_us = -1;
  int status = 200;
  bool keep_alive = !close_after;
  if (const auto *w = std::get_if<whole_response>(&p.response)) {
    status = w->status;
    head.status = w->status;
    head.headers = w->headers;
    head.frame = framing_for(rec.view, *w);
    head.content_length = w->body.size();
    keep_alive = keep_alive && head.frame != body_framing::close_delimited;
    head.connection_keep_alive = keep_alive && rec.view.version == 10;
    const auto t0 = mono_clock::time_point(std::chrono::microseconds(rec.t0_us));
    if (!co_await sleep_until(watch, t0 + std::chrono::milliseconds(w->delay_ms))) {
      outcome = stream_end::peer_closed;
    } else {
      response_writer out{sock, serialize_head(head), head.frame};
      head_sent_us = monotonic_us() - rec.t0_us;
      const bool sent =
          co_await out.send(rec.view.method == "HEAD" ? std::string_view() : w->body, true);
      outcome = sent ? stream_end::completed
                     : (watch.peer.closed() ? stream_end::peer_closed : stream_end::write_failed);
    }
  } else {
    const auto &s = std::get<stream_response>(p.response);
    head.headers = s.headers;
    head.headers.emplace_back("Content-Type", content_type_of(s.ctx.kind));
    head.frame = rec.view.version == 11 ? body_framing::chunked : body_framing::close_delimited;
    keep_alive = keep_alive && head.frame == body_framing::chunked;
    const auto r =
        co_await run_stream(sock, watch, rec, p, s, serialize_head(head), head.frame, log);
    outcome = r.outcome;
    head_sent_us = r.head_sent_us;
  }

  watch.peer.stop();
  const std::int64_t ended_us = monotonic_us() - rec.t0_us;
  log.update(rec.seq, [&](journal_entry &e) {
    e.status = status;
    e.head_sent_us = head_sent_us;
    e.outcome = outcome;
    e.ended_us = ended_us;
    if (watch.peer.closed()) e.peer_closed_us = watch.peer.closed_at_us() - rec.t0_us;
  });
  co_return outcome == stream_end::completed &&keep_alive;
}

namespace {

http::response<http::string_body> control_reply(http::status status, const json &body) {
  http::response<http::string_body> res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = body.dump(-1, ' ', false, json::error_handler_t::replace);
  res.prepare_payload();
  return res;
}

std::string query_param(std::string_view target, std::string_view name) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const auto pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name)
      return eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1));
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
  }
  return {};
}

std::uint64_t parse_seq(const std::string &text) {
  std::uint64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

} // namespace

awaitable<void> server::impl::control_loop() {
  for (;;) {
    tcp::socket sock(control->get_executor());
    error_code ec;
    co_await control->async_accept(sock, redirect_error(use_awaitable, ec));
    if (ec == asio::error::operation_aborted || stopped) co_return;
    if (!ec)
      asio::co_spawn(control->get_executor(), control_session(std::move(sock)), asio::detached);
  }
}

// The control API: GET /journal[?id=ID&after=SEQ], DELETE /journal, GET /health, GET /presets.
awaitable<void> server::impl::control_session(tcp::socket sock) {
  beast::flat_buffer buf;
  for (;;) {
    http::request<http::string_body> req;
    error_code ec;
    co_await http::async_read(sock, buf, req, redirect_error(use_awaitable, ec));
    if (ec) break;
    const std::string_view target = req.target();
    const std::string_view path = target.substr(0, target.find('?'));
    http::response<http::string_body> res;
    if (path == "/journal" && req.method() == http::verb::get) {
      const std::string after = query_param(target, "after");
      // Says whether older entries were dropped (--journal-entries), so a reader that finds
      // nothing knows whether nothing came or it came and was evicted.
      json reply = log.retention();
      reply["entries"] =
          log.query(query_param(target, "id"), parse_seq(after), query_param(target, "prefix"));
      res = control_reply(http::status::ok, reply);
    } else if (path == "/journal" && req.method() == http::verb::delete_) {
      log.clear();
      res = control_reply(http::status::ok, {{"cleared", true}});
    } else if (path == "/health") {
      res = control_reply(http::status::ok, {{"status", "ok"},
                                             {"port", acceptor->local_endpoint(ec).port()},
                                             {"profile", options.profile_name}});
    } else if (path == "/presets") {
      json list = json::array();
      for (const auto &pr : presets())
        list.push_back({{"name", pr.name}, {"description", pr.description}});
      res = control_reply(http::status::ok, {{"presets", list}});
    } else {
      res = control_reply(http::status::not_found, {{"error", "unknown control path"}});
    }
    res.keep_alive(req.keep_alive());
    co_await http::async_write(sock, res, redirect_error(use_awaitable, ec));
    if (ec || !req.keep_alive()) break;
  }
  hard_close(sock, false);
}

result<std::unique_ptr<server>> server::start(server_options options) {
  auto p = std::make_unique<impl>();
  p->options = std::move(options);
  p->log.set_capacity(p->options.journal_entries);
  p->loops.emplace(p->options.threads);
  auto bind = [&](std::optional<tcp::acceptor> &acc, const tcp::endpoint &ep) {
    return listen_on(acc.emplace(p->loops->front()), ep);
  };
  if (auto e = bind(p->acceptor, p->options.listen)) return *e;
  if (p->options.control)
    if (auto e = bind(p->control, *p->options.control)) return *e;
  asio::co_spawn(p->loops->front(), p->accept_loop(), asio::detached);
  if (p->control) asio::co_spawn(p->loops->front(), p->control_loop(), asio::detached);
  p->loops->run();
  return std::unique_ptr<server>(new server(std::move(p)));
}

server::server(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

server::~server() {
  stop();
}

unsigned short server::port() const {
  error_code ec;
  return impl_->acceptor->local_endpoint(ec).port();
}

unsigned short server::control_port() const {
  error_code ec;
  return impl_->control ? impl_->control->local_endpoint(ec).port() : 0;
}

journal &server::requests() {
  return impl_->log;
}

void server::stop() {
  if (impl_->stopped.exchange(true)) return;
  impl_->loops->stop();
  // Destroying the loops destroys every suspended session, closing its socket.
  impl_->acceptor.reset();
  impl_->control.reset();
  impl_->loops.reset();
}

} // namespace streamcheck::mock
