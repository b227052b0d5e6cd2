#include "reference_proxy/h2_session.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <memory>
#include <nghttp2/nghttp2.h>
#include <type_traits>
#include <unordered_map>

#include "common/ascii.h"
#include "common/clock.h"
#include "reference_proxy/access_log.h"
#include "reference_proxy/request_head.h"
#include "reference_proxy/tls.h"

namespace streamcheck::proxy {
namespace {

using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;
using boost::system::error_code;

constexpr std::uint32_t max_concurrent_streams = 128;
// Request bodies: a window per stream that is given back only as the body reaches the upstream
// (no automatic WINDOW_UPDATE), so a fast uploader to a slow upstream costs this much, not all.
constexpr std::int32_t stream_window = 256 * 1024;
constexpr std::int32_t connection_window = 1024 * 1024;
// Answer bytes queued for a stream beyond what the client's window takes: past this, the
// upstream is not read until the client reads (its window opens), as a slow HTTP/1.1 client
// stops the relay at a full socket buffer.
constexpr std::size_t max_queued_answer = 64 * 1024;
constexpr std::size_t max_write_batch = 64 * 1024;
constexpr std::size_t read_buffer_bytes = 16 * 1024;

// A coroutine waiting for what another handler on the same loop provides. Waiters re-check
// their condition after every wake-up (a notify can race a timer already due).
class wakeup {
public:
  explicit wakeup(const asio::any_io_executor &executor) : timer_(executor) {}
  awaitable<void> wait_until(mono_clock::time_point deadline) {
    timer_.expires_at(deadline);
    error_code ec;
    co_await timer_.async_wait(redirect_error(use_awaitable, ec));
  }
  void notify() { timer_.cancel(); }

private:
  asio::steady_timer timer_;
};

struct h2_stream {
  h2_stream(std::int32_t stream_id, const asio::any_io_executor &executor)
      : id(stream_id), wake(executor) {}
  std::int32_t id;
  // The request as HEADERS brought it.
  std::string method, path, authority;
  header_list headers;
  std::size_t head_bytes = 0;
  std::optional<refusal> head_problem; // past --max-header-bytes or --max-headers
  // The request body: received, not yet written upstream.
  std::string body;
  std::uint64_t body_received = 0;
  bool body_done = false;      // END_STREAM from the client
  bool body_discarded = false; // nobody forwards it any more: given back to the window at once
  // The answer's body as DATA frames take it.
  std::string out;
  std::size_t out_sent = 0;
  bool out_done = false;
  bool out_failed = false; // the upstream broke the answer: RST_STREAM after what is queued
  bool deferred = false;   // nghttp2 waits for resume_data
  bool closed = false;     // reset by either side, the connection gone, or finished
  bool started = false;    // its request head is complete and its exchange began
  upstream_call *call = nullptr;
  wakeup wake;

  std::size_t queued() const { return out.size() - out_sent; }
};

std::optional<std::uint64_t> parse_length(std::string_view text) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return v;
}

template <class Stream> class h2_connection {
public:
  h2_connection(Stream &stream, const h2_peer &peer, const exchange_env &env)
      : stream_(stream), socket_(beast::get_lowest_layer(stream)), peer_(peer), env_(env),
        read_deadline_(socket_.get_executor(), socket_),
        write_deadline_(socket_.get_executor(), socket_), connection_wake_(socket_.get_executor()) {
  }
  ~h2_connection() {
    if (session_) nghttp2_session_del(session_);
  }
  h2_connection(const h2_connection &) = delete;
  h2_connection &operator=(const h2_connection &) = delete;

  awaitable<void> run(h2_connection_hooks &hooks);

private:
  bool open_session();
  bool feed(std::string_view bytes);
  void flush();
  void fill_batch();
  bool write_at_once(); // false: something is left for write_loop
  awaitable<void> write_loop();
  void start_drain();
  void finish_if_drained();
  void end_all_streams();
  // Request body bytes the proxy is done with go back to the client's windows (the stream's
  // too while it is open).
  void give_back(const h2_stream &st, std::size_t bytes) {
    if (ended_ || bytes == 0) return;
    if (st.closed)
      nghttp2_session_consume_connection(session_, bytes);
    else
      nghttp2_session_consume(session_, st.id, bytes);
    flush();
  }
  h2_stream *find(std::int32_t id) {
    const auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second.get();
  }

  // One stream, from its request head to its access-log line.
  awaitable<void> serve_stream(std::shared_ptr<h2_stream> st);
  awaitable<void> exchange(h2_stream &st, exchange_record &rec, std::int64_t start_us);
  awaitable<bool> forward_body(h2_stream &st, upstream_call &up, bool chunked, exchange_record &rec,
                               const header_list &cors, std::int64_t start_us);
  // Sends HEADERS (and the body through the data source when there is one).
  void respond(h2_stream &st, int status, const header_list &fields, bool with_body);
  void answer(h2_stream &st, exchange_record &rec, std::int64_t start_us, int status,
              const header_list &cors, std::string_view message);
  // Queues answer bytes as DATA; waits while the client's window keeps too many queued.
  awaitable<bool> queue(h2_stream &st, std::string_view data);
  void resume(h2_stream &st);
  void reset(h2_stream &st, std::uint32_t code);

  // nghttp2's callbacks; user_data is the connection.
  static int on_begin_headers(nghttp2_session *, const nghttp2_frame *frame, void *user);
  static int on_header(nghttp2_session *, const nghttp2_frame *frame, const std::uint8_t *name,
                       std::size_t name_len, const std::uint8_t *value, std::size_t value_len,
                       std::uint8_t, void *user);
  static int on_frame_recv(nghttp2_session *, const nghttp2_frame *frame, void *user);
  static int on_data_chunk(nghttp2_session *session, std::uint8_t, std::int32_t id,
                           const std::uint8_t *data, std::size_t len, void *user);
  static int on_stream_close(nghttp2_session *, std::int32_t id, std::uint32_t, void *user);
  static ssize_t read_answer(nghttp2_session *, std::int32_t id, std::uint8_t *buf,
                             std::size_t length, std::uint32_t *flags, nghttp2_data_source *,
                             void *user);

  Stream &stream_;
  tcp::socket &socket_;
  const h2_peer &peer_;
  const exchange_env &env_;
  nghttp2_session *session_ = nullptr;
  std::unordered_map<std::int32_t, std::shared_ptr<h2_stream>> streams_; // open in nghttp2
  socket_deadline read_deadline_;  // the preface, then an idle connection (no stream open)
  socket_deadline write_deadline_; // --send-timeout: a client that stops reading
  wakeup connection_wake_;         // a stream coroutine or the writer ended
  std::array<char, read_buffer_bytes> read_buffer_;
  std::string write_batch_;
  std::size_t running_ = 0; // stream coroutines not yet ended
  // Streams open with a whole request head: none means idle (a HEADERS without its end does not
  // keep a connection from its idle timeout).
  std::size_t started_ = 0;
  bool writing_ = false;
  bool write_failed_ = false;
  bool ended_ = false; // the reader stopped: no new streams, every open one cancelled
  bool goaway_sent_ = false;
};

template <class Stream> h2_connection<Stream> &self(void *user) {
  return *static_cast<h2_connection<Stream> *>(user);
}

template <class Stream> bool h2_connection<Stream>::open_session() {
  nghttp2_session_callbacks *callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_stream_close);
  nghttp2_option *options = nullptr;
  nghttp2_option_new(&options);
  nghttp2_option_set_no_auto_window_update(options, 1);
  const int rv = nghttp2_session_server_new2(&session_, callbacks, this, options);
  nghttp2_option_del(options);
  nghttp2_session_callbacks_del(callbacks);
  if (rv != 0) return false;
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, stream_window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
       static_cast<std::uint32_t>(env_.config.max_header_bytes)},
  };
  return nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings)) == 0 &&
         nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, connection_window) ==
             0;
}

template <class Stream> bool h2_connection<Stream>::feed(std::string_view bytes) {
  const auto rv = nghttp2_session_mem_recv(
      session_, reinterpret_cast<const std::uint8_t *>(bytes.data()), bytes.size());
  return rv >= 0; // a protocol error: nghttp2 has queued the GOAWAY that says so
}

template <class Stream> awaitable<void> h2_connection<Stream>::run(h2_connection_hooks &hooks) {
  if (!open_session()) co_return;
  hooks.drain = [this] { start_drain(); };
  bool first = true;
  bool ok = feed(peer_.already_read);
  flush();
  while (ok && !ended_) {
    // Idle (no stream open): the preface within --header-timeout, a next request within
    // --keepalive-timeout. With streams open, their own timeouts apply.
    hooks.idle = started_ == 0;
    if (hooks.idle && goaway_sent_) break;
    if (hooks.idle)
      read_deadline_.expires_after(first ? env_.config.header_timeout
                                         : env_.config.keepalive_timeout);
    else
      read_deadline_.disarm();
    error_code ec;
    const std::size_t n = co_await stream_.async_read_some(asio::buffer(read_buffer_),
                                                           redirect_error(use_awaitable, ec));
    read_deadline_.disarm();
    first = false;
    hooks.idle = false;
    if (ec) break;
    ok = feed({read_buffer_.data(), n});
    flush();
    ok = ok && (nghttp2_session_want_read(session_) || nghttp2_session_want_write(session_));
  }
  hooks.drain = nullptr;
  hooks.idle = false;
  end_all_streams();
  while (running_ > 0)
    co_await connection_wake_.wait_until(mono_clock::now() + std::chrono::seconds(1));
  flush(); // a GOAWAY, the last frames of a drain
  while (writing_)
    co_await connection_wake_.wait_until(mono_clock::now() + std::chrono::seconds(1));
}

// Every stream still open ends with the connection: its upstream request is closed at once
// (Ollama stops generating), as a client closing an HTTP/1.1 connection.
template <class Stream> void h2_connection<Stream>::end_all_streams() {
  ended_ = true;
  for (auto &[id, st] : streams_) {
    st->closed = true;
    if (st->call) st->call->cancel();
    st->wake.notify();
  }
  streams_.clear();
  started_ = 0;
}

// What nghttp2 has to send, after what a short write left: frames of several streams go out
// together, up to one batch.
template <class Stream> void h2_connection<Stream>::fill_batch() {
  while (write_batch_.size() < max_write_batch) {
    const std::uint8_t *data = nullptr;
    const auto n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) write_failed_ = true;
    if (n <= 0) return;
    write_batch_.append(reinterpret_cast<const char *>(data), static_cast<std::size_t>(n));
  }
}

// Over TCP most writes fit in the socket buffer: one non-blocking send, and only what is left
// goes through the event loop, as exchange.cc's write_client (a coroutine per token cost an
// extra scheduler trip per event). TLS writes always go through the loop.
template <class Stream> bool h2_connection<Stream>::write_at_once() {
  if constexpr (std::is_same_v<Stream, tcp::socket>) {
    for (;;) {
      fill_batch();
      error_code ec;
      if (write_failed_) socket_.close(ec); // nghttp2 failed: the reader ends too
      if (write_batch_.empty() || write_failed_) return true;
      const std::size_t n = socket_.write_some(asio::buffer(write_batch_), ec);
      if (ec && ec != asio::error::would_block) {
        write_failed_ = true;
        socket_.close(ec); // the reader ends too
        return true;
      }
      write_batch_.erase(0, ec ? 0 : n);
      if (!write_batch_.empty()) return false;
    }
  } else {
    return false;
  }
}

template <class Stream> void h2_connection<Stream>::flush() {
  if (writing_ || write_failed_ || !session_) return;
  if (write_at_once()) return;
  writing_ = true;
  asio::co_spawn(socket_.get_executor(), write_loop(), asio::detached);
}

// All that nghttp2 has to send goes out in one write (one TLS record per 16 KiB): the frames
// of one token leave as soon as the token came, and what piles up during a write leaves with
// the next.
template <class Stream> awaitable<void> h2_connection<Stream>::write_loop() {
  while (!write_failed_) {
    fill_batch();
    if (write_batch_.empty()) break;
    error_code ec;
    write_deadline_.expires_after(env_.config.send_timeout);
    co_await asio::async_write(stream_, asio::buffer(write_batch_),
                               redirect_error(use_awaitable, ec));
    write_deadline_.disarm();
    write_batch_.clear();
    if (ec) write_failed_ = true;
  }
  writing_ = false;
  if (write_failed_) {
    error_code ec;
    socket_.close(ec); // the reader ends too
  }
  connection_wake_.notify();
  finish_if_drained();
}

// SIGTERM: GOAWAY names the last stream that will be served; the connection closes once those
// are done.
template <class Stream> void h2_connection<Stream>::start_drain() {
  if (goaway_sent_ || ended_) return;
  goaway_sent_ = true;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
  flush();
  finish_if_drained();
}

template <class Stream> void h2_connection<Stream>::finish_if_drained() {
  if (!goaway_sent_ || ended_ || started_ > 0 || writing_) return;
  error_code ec;
  socket_.cancel(ec); // the pending read ends, and with it the connection
}

template <class Stream>
int h2_connection<Stream>::on_begin_headers(nghttp2_session *, const nghttp2_frame *frame,
                                            void *user) {
  auto &c = self<Stream>(user);
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST && !c.ended_)
    c.streams_.emplace(frame->hd.stream_id,
                       std::make_shared<h2_stream>(frame->hd.stream_id, c.socket_.get_executor()));
  return 0;
}

template <class Stream>
int h2_connection<Stream>::on_header(nghttp2_session *, const nghttp2_frame *frame,
                                     const std::uint8_t *name, std::size_t name_len,
                                     const std::uint8_t *value, std::size_t value_len, std::uint8_t,
                                     void *user) {
  auto &c = self<Stream>(user);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
    return 0; // trailers: not forwarded (the upstream request is HTTP/1.1 without them)
  h2_stream *st = c.find(frame->hd.stream_id);
  if (!st || st->head_problem) return 0;
  const std::string_view n(reinterpret_cast<const char *>(name), name_len);
  const std::string_view v(reinterpret_cast<const char *>(value), value_len);
  // The same bounds as an HTTP/1.1 head, counted the same way (name, ": ", value, CRLF).
  st->head_bytes += n.size() + v.size() + 4;
  if (st->head_bytes > c.env_.config.max_header_bytes)
    st->head_problem = refusal{431, "request head larger than " +
                                        std::to_string(c.env_.config.max_header_bytes) + " bytes"};
  else if (n == ":method")
    st->method = v;
  else if (n == ":path")
    st->path = v;
  else if (n == ":authority")
    st->authority = v;
  else if (!n.starts_with(':') && st->headers.size() >= c.env_.config.max_headers)
    st->head_problem = refusal{431, "more than " + std::to_string(c.env_.config.max_headers) +
                                        " request header fields"};
  else if (!n.starts_with(':'))
    st->headers.emplace_back(std::string(n), std::string(v));
  return 0;
}

template <class Stream>
int h2_connection<Stream>::on_frame_recv(nghttp2_session *, const nghttp2_frame *frame,
                                         void *user) {
  auto &c = self<Stream>(user);
  h2_stream *st = c.find(frame->hd.stream_id);
  if (!st) return 0;
  const bool end_stream = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    st->body_done = end_stream;
    st->started = true;
    ++c.started_;
    asio::co_spawn(c.socket_.get_executor(), c.serve_stream(c.streams_.at(st->id)), asio::detached);
    return 0;
  }
  if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) && end_stream) {
    st->body_done = true;
    st->wake.notify();
  }
  return 0;
}

template <class Stream>
int h2_connection<Stream>::on_data_chunk(nghttp2_session *session, std::uint8_t, std::int32_t id,
                                         const std::uint8_t *data, std::size_t len, void *user) {
  h2_stream *st = self<Stream>(user).find(id);
  // Nobody forwards it: given back at once, so the connection's window stays open.
  if (!st) {
    nghttp2_session_consume_connection(session, len);
    return 0;
  }
  if (st->body_discarded) {
    nghttp2_session_consume(session, id, len);
    return 0;
  }
  st->body.append(reinterpret_cast<const char *>(data), len);
  st->body_received += len;
  st->wake.notify();
  return 0;
}

// A client's RST_STREAM lands here (so does a stream's normal end): the upstream request of a
// stream still relaying is closed at once, whatever it was waiting for.
template <class Stream>
int h2_connection<Stream>::on_stream_close(nghttp2_session *, std::int32_t id, std::uint32_t,
                                           void *user) {
  auto &c = self<Stream>(user);
  const auto it = c.streams_.find(id);
  if (it == c.streams_.end()) return 0;
  const std::shared_ptr<h2_stream> st = it->second;
  c.streams_.erase(it);
  if (st->started) --c.started_;
  st->closed = true;
  if (st->call) st->call->cancel();
  st->wake.notify();
  if (c.started_ == 0 && !c.ended_) c.read_deadline_.expires_after(c.env_.config.keepalive_timeout);
  c.finish_if_drained();
  return 0;
}

// The data source of every answer: what the stream has queued, as much as the client's window
// takes; nothing queued is a deferral until resume(); a broken upstream becomes RST_STREAM
// (INTERNAL_ERROR) once what came before it is sent, never a clean END_STREAM.
template <class Stream>
ssize_t h2_connection<Stream>::read_answer(nghttp2_session *, std::int32_t id, std::uint8_t *buf,
                                           std::size_t length, std::uint32_t *flags,
                                           nghttp2_data_source *, void *user) {
  h2_stream *st = self<Stream>(user).find(id);
  if (!st) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  const std::size_t n = std::min(st->queued(), length);
  if (n == 0) {
    if (st->out_failed) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    if (st->out_done) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      return 0;
    }
    st->deferred = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  std::memcpy(buf, st->out.data() + st->out_sent, n);
  st->out_sent += n;
  if (st->queued() == 0) {
    st->out.clear();
    st->out_sent = 0;
    if (st->out_done) *flags |= NGHTTP2_DATA_FLAG_EOF;
  }
  st->wake.notify(); // room for more
  return static_cast<ssize_t>(n);
}

template <class Stream> void h2_connection<Stream>::resume(h2_stream &st) {
  if (st.closed) return;
  if (st.deferred) {
    st.deferred = false;
    nghttp2_session_resume_data(session_, st.id);
  }
  flush();
}

template <class Stream> void h2_connection<Stream>::reset(h2_stream &st, std::uint32_t code) {
  if (st.closed) return;
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, st.id, code);
  flush();
}

template <class Stream>
void h2_connection<Stream>::respond(h2_stream &st, int status, const header_list &fields,
                                    bool with_body) {
  if (st.closed) return;
  const std::string status_text = std::to_string(status);
  std::vector<std::string> names;
  names.reserve(fields.size());
  std::vector<nghttp2_nv> nva;
  nva.reserve(fields.size() + 1);
  const auto nv = [](std::string_view n, std::string_view v) {
    return nghttp2_nv{reinterpret_cast<std::uint8_t *>(const_cast<char *>(n.data())),
                      reinterpret_cast<std::uint8_t *>(const_cast<char *>(v.data())), n.size(),
                      v.size(), NGHTTP2_NV_FLAG_NONE};
  };
  nva.push_back(nv(":status", status_text));
  for (const auto &[name, value] : fields) {
    names.push_back(ascii_lower(name)); // HTTP/2 field names are lower case (RFC 9113 §8.2.1)
    nva.push_back(nv(names.back(), value));
  }
  nghttp2_data_provider provider{};
  provider.read_callback = read_answer;
  nghttp2_submit_response(session_, st.id, nva.data(), nva.size(), with_body ? &provider : nullptr);
  flush();
}

template <class Stream>
void h2_connection<Stream>::answer(h2_stream &st, exchange_record &rec, std::int64_t start_us,
                                   int status, const header_list &cors, std::string_view message) {
  local_answer a = local_response_parts(status, cors, message);
  rec.status = status;
  rec.first_byte_us = monotonic_us() - start_us;
  const bool with_body = !a.body.empty();
  st.out = std::move(a.body);
  st.out_sent = 0;
  st.out_done = true;
  respond(st, status, a.fields, with_body);
}

template <class Stream>
awaitable<bool> h2_connection<Stream>::queue(h2_stream &st, std::string_view data) {
  if (st.closed) co_return false;
  st.out.append(data);
  resume(st);
  const auto deadline = mono_clock::now() + env_.config.send_timeout;
  while (!st.closed && st.queued() > max_queued_answer) {
    if (mono_clock::now() >= deadline) {
      reset(st, NGHTTP2_CANCEL);
      co_return false;
    }
    co_await st.wake.wait_until(deadline);
  }
  co_return !st.closed;
}

template <class Stream>
awaitable<void> h2_connection<Stream>::serve_stream(std::shared_ptr<h2_stream> st) {
  ++running_;
  const std::int64_t start_us = monotonic_us();
  exchange_record rec;
  rec.start_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  rec.client = peer_.address;
  rec.method = st->method;
  rec.target = st->path;
  rec.version = 20;
  rec.outcome = exchange_outcome::refused;
  co_await exchange(*st, rec, start_us);
  // What the client still sends of a body nobody forwards goes back to its window.
  st->body_discarded = true;
  give_back(*st, st->body.size());
  st->body.clear();
  rec.bytes_in = st->body_received;
  rec.duration_us = monotonic_us() - start_us;
  env_.log.write(rec);
  --running_;
  connection_wake_.notify();
}

template <class Stream>
awaitable<void> h2_connection<Stream>::exchange(h2_stream &st, exchange_record &rec,
                                                std::int64_t start_us) {
  if (st.closed) co_return; // the connection ended before this stream's turn came
  request_head req{st.method, st.path, 20, {}};
  std::string cookies; // split into one field per cookie over HTTP/2, one header in HTTP/1.1
  for (auto &[name, value] : st.headers)
    if (name == "cookie")
      cookies += (cookies.empty() ? "" : "; ") + value;
    else
      req.headers.emplace_back(std::move(name), std::move(value));
  if (!cookies.empty()) req.headers.emplace_back("cookie", cookies);
  if (!st.authority.empty() && count_header(req.headers, "Host") == 0)
    req.headers.emplace_back("host", st.authority);
  const header_list cors = env_.cors.response_headers(find_header(req.headers, "Origin"));
  const auto declared = find_header(req.headers, "Content-Length");
  const auto content_length = declared.empty() ? std::nullopt : parse_length(declared);

  if (st.head_problem)
    co_return answer(st, rec, start_us, st.head_problem->status, cors, st.head_problem->message);
  if (auto r = check_request(req, content_length, env_.config))
    co_return answer(st, rec, start_us, r->status, cors, r->message);
  if (is_preflight(req.method, req.headers)) {
    const auto a =
        env_.cors.answer_preflight(find_header(req.headers, "Origin"),
                                   find_header(req.headers, "Access-Control-Request-Headers"));
    rec.outcome = exchange_outcome::preflight;
    co_return answer(st, rec, start_us, a.status, a.headers, a.refusal);
  }

  upstream_call up(env_);
  // From here a reset or the connection's end closes the upstream request; the registration
  // ends with `up`, on every way out.
  struct call_registration {
    h2_stream &st;
    ~call_registration() { st.call = nullptr; }
  } registration{st};
  st.call = &up;
  const bool connected = co_await up.connect(socket_.get_executor());
  rec.upstream_reused = up.reused();
  if (st.closed) {
    rec.outcome = exchange_outcome::client_closed;
    rec.status = client_closed_status;
    co_return;
  }
  if (!connected) {
    rec.outcome = exchange_outcome::upstream_unreachable;
    co_return answer(st, rec, start_us, 502, cors,
                     "cannot connect to the upstream " + env_.config.upstream.authority());
  }
  forward_context fwd;
  fwd.upstream_authority = env_.config.upstream.authority();
  fwd.client_address = peer_.address;
  fwd.forward_underscores = env_.config.underscores_in_headers;
  fwd.client_scheme = peer_.scheme;
  // A body already complete (usual for a generate request: HEADERS and DATA in one read) goes
  // with its length; one still coming is chunked, unless the client declared its length.
  if (content_length) {
    fwd.body = body_framing::content_length;
    fwd.content_length = *content_length;
  } else if (st.body_done) {
    fwd.body = st.body.empty() ? body_framing::none : body_framing::content_length;
    fwd.content_length = st.body.size();
  } else {
    fwd.body = body_framing::chunked;
  }
  const std::string head = upstream_request_head(req, fwd);
  if (!co_await up.write({asio::buffer(head)})) {
    rec.outcome = exchange_outcome::upstream_error;
    co_return answer(st, rec, start_us, 502, cors, "the upstream closed the connection");
  }
  if (fwd.body != body_framing::none &&
      !co_await forward_body(st, up, fwd.body == body_framing::chunked, rec, cors, start_us))
    co_return;

  const auto head_status = co_await up.read_head(req.method == "HEAD");
  if (st.closed) {
    rec.outcome = exchange_outcome::client_closed;
    rec.status = client_closed_status;
    co_return;
  }
  if (head_status == upstream_call::head_status::timed_out) {
    rec.outcome = exchange_outcome::upstream_timeout;
    co_return answer(st, rec, start_us, 504, cors,
                     "the upstream sent no response within " +
                         std::to_string(env_.config.first_byte_timeout.count()) +
                         " ms (--first-byte-timeout)");
  }
  if (head_status == upstream_call::head_status::failed) {
    rec.outcome = exchange_outcome::upstream_error;
    co_return answer(st, rec, start_us, 502, cors,
                     "the upstream closed the connection without a response");
  }

  const auto &parser = up.parser();
  const auto &res = parser.get();
  const int status = res.result_int();
  client_context ctx;
  ctx.cors = cors;
  ctx.body = parser.content_length() && !parser.chunked() ? body_framing::content_length
                                                          : body_framing::none;
  ctx.content_length = parser.content_length().value_or(0);
  header_list upstream_fields;
  for (const auto &f : res)
    upstream_fields.emplace_back(std::string(f.name_string()), std::string(f.value()));
  const bool with_body = status != 204 && status != 304 && req.method != "HEAD";
  rec.status = status;
  respond(st, status, client_response_fields({status, {}, upstream_fields}, ctx), with_body);

  for (;;) {
    const upstream_call::piece got = co_await up.read_body();
    if (!got.data.empty()) {
      if (rec.first_byte_us < 0) rec.first_byte_us = monotonic_us() - start_us;
      if (!co_await queue(st, got.data)) {
        rec.outcome = st.closed ? exchange_outcome::client_closed : exchange_outcome::send_timeout;
        co_return;
      }
      rec.bytes_out += got.data.size();
    }
    if (got.failed) {
      rec.outcome = st.closed        ? exchange_outcome::client_closed
                    : up.timed_out() ? exchange_outcome::upstream_timeout
                                     : exchange_outcome::upstream_error;
      st.out_failed = true; // RST_STREAM (INTERNAL_ERROR) once the queued bytes are sent
      resume(st);
      co_return;
    }
    if (got.done) break;
  }
  st.call = nullptr; // the connection goes back to the pool: nothing to cancel any more
  up.finish();
  if (rec.first_byte_us < 0) rec.first_byte_us = monotonic_us() - start_us;
  rec.outcome = exchange_outcome::completed;
  st.out_done = true;
  if (with_body) resume(st);
}

// The request body goes upstream as it comes, and the client's window opens only as far as
// the upstream has taken it.
template <class Stream>
awaitable<bool> h2_connection<Stream>::forward_body(h2_stream &st, upstream_call &up, bool chunked,
                                                    exchange_record &rec, const header_list &cors,
                                                    std::int64_t start_us) {
  auto deadline = mono_clock::now() + env_.config.body_timeout;
  for (;;) {
    if (st.body_received > env_.config.max_body_bytes) {
      answer(st, rec, start_us, 413, cors,
             "request body larger than " + std::to_string(env_.config.max_body_bytes) +
                 " bytes (--max-body)");
      co_return false;
    }
    if (!st.body.empty()) {
      const std::string piece = std::move(st.body);
      st.body.clear();
      char size_line[24];
      const int len =
          chunked ? std::snprintf(size_line, sizeof size_line, "%zx\r\n", piece.size()) : 0;
      if (!co_await up.write({asio::buffer(size_line, static_cast<std::size_t>(len)),
                              asio::buffer(piece), asio::buffer("\r\n", chunked ? 2 : 0)})) {
        rec.outcome =
            st.closed ? exchange_outcome::client_closed : exchange_outcome::upstream_error;
        answer(st, rec, start_us, 502, cors,
               "the upstream closed the connection while receiving the request body");
        co_return false;
      }
      give_back(st, piece.size());
      deadline = mono_clock::now() + env_.config.body_timeout;
      continue;
    }
    if (st.closed) {
      rec.outcome = exchange_outcome::client_closed;
      rec.status = client_closed_status;
      co_return false;
    }
    if (st.body_done) break;
    if (mono_clock::now() >= deadline) {
      answer(st, rec, start_us, 408, cors, "request body stalled");
      co_return false;
    }
    co_await st.wake.wait_until(deadline);
  }
  if (chunked && !co_await up.write({asio::buffer(std::string_view("0\r\n\r\n"))})) {
    rec.outcome = exchange_outcome::upstream_error;
    answer(st, rec, start_us, 502, cors, "the upstream closed the connection");
    co_return false;
  }
  co_return true;
}

} // namespace

template <class Stream>
awaitable<void> serve_h2(Stream &stream, const h2_peer &peer, const exchange_env &env,
                         h2_connection_hooks &hooks) {
  h2_connection<Stream> connection(stream, peer, env);
  co_await connection.run(hooks);
}

template awaitable<void> serve_h2(tcp::socket &, const h2_peer &, const exchange_env &,
                                  h2_connection_hooks &);
template awaitable<void> serve_h2(tls_stream &, const h2_peer &, const exchange_env &,
                                  h2_connection_hooks &);

} // namespace streamcheck::proxy
