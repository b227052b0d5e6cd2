#include "reference_proxy/server.h"

#include <array>
#include <atomic>
#include <limits>
#include <unordered_set>
#include <vector>

#include "common/listener.h"
#include "common/loop_pool.h"
#include "common/request_error.h"
#include "reference_proxy/exchange.h"
#include "reference_proxy/h2_session.h"
#include "reference_proxy/request_head.h"
#include "reference_proxy/tls.h"

namespace streamcheck::proxy {
namespace {

using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;
using boost::system::error_code;

// A client connection as the drain sees it: idle ones are closed, busy ones finish first
// (an HTTP/2 one gets a GOAWAY and closes once its streams are done).
struct connection_state {
  tcp::socket *client = nullptr;
  bool idle = true;
  bool unread_input = false;         // refused before the head was read: linger before closing
  h2_connection_hooks *h2 = nullptr; // while the connection speaks HTTP/2
};

// What the connections of one event loop share; touched on that loop's thread only.
struct event_loop {
  event_loop(asio::io_context &c, std::size_t pool_size) : context(c), pool(pool_size) {}
  asio::io_context &context;
  upstream_pool pool;
  std::unordered_set<connection_state *> connections;
};

} // namespace

struct server::impl {
  proxy_config config;
  access_log &log;
  cors_policy cors;
  std::vector<tcp::endpoint> upstream;
  std::optional<loop_pool> threads; // first: destroyed last, after everything bound to a loop
  std::vector<std::unique_ptr<event_loop>> loops; // loops[i] runs on threads->at(i)
  std::optional<tcp::acceptor> acceptor;
  std::shared_ptr<ssl::context> tls; // --tls-cert: every connection starts with a handshake
  std::atomic<std::size_t> open_connections{0};
  std::atomic<bool> draining{false};
  std::atomic<bool> stopped{false};

  impl(const proxy_config &c, access_log &l) : config(c), log(l), cors(c.allow_origins) {}
  awaitable<void> accept_loop();
  awaitable<void> session(tcp::socket socket, event_loop &loop);
  awaitable<void> serve_cleartext(tcp::socket socket, connection_state &state, event_loop &loop);
  awaitable<void> serve_tls(tcp::socket socket, connection_state &state, event_loop &loop);
  template <class Stream>
  awaitable<void> serve_http1(timed_stream<Stream> &client, beast::flat_buffer &buffer,
                              connection_state &state, event_loop &loop);
  template <class Stream>
  awaitable<void> serve_http2(timed_stream<Stream> &client, std::string_view already_read,
                              connection_state &state, event_loop &loop);
  template <class Stream>
  awaitable<bool> read_request_head(timed_stream<Stream> &client, beast::flat_buffer &buffer,
                                    request_parser &parser, connection_state &state, bool first);
  template <class Stream>
  awaitable<void> refuse_head(timed_stream<Stream> &client, const refusal &why);
  exchange_env env_of(event_loop &loop) const {
    return {config, cors, upstream, loop.pool, log, draining};
  }
};

awaitable<void> server::impl::accept_loop() {
  asio::steady_timer pause(acceptor->get_executor());
  for (;;) {
    // At the limit, new connections wait in the kernel's listen queue, as with nginx's
    // worker_connections, instead of being accepted and refused.
    if (open_connections >= config.max_connections) {
      pause.expires_after(std::chrono::milliseconds(10));
      error_code ec;
      co_await pause.async_wait(redirect_error(use_awaitable, ec));
      if (draining) co_return;
      continue;
    }
    event_loop &loop = *loops[threads->next_index()];
    error_code ec;
    tcp::socket socket = co_await acceptor->async_accept(loop.context.get_executor(),
                                                         redirect_error(use_awaitable, ec));
    if (ec == asio::error::operation_aborted || draining) co_return;
    if (ec) continue; // EMFILE and friends: the client sees a reset, we go on
    ++open_connections;
    asio::co_spawn(loop.context, session(std::move(socket), loop), asio::detached);
  }
}

// The first byte of a request may take keepalive-timeout to come; the rest of its head must
// come within header-timeout (a client dribbling a head byte by byte is cut off). The head is
// scanned (limits, obs-fold) as it arrives and given to Beast only once complete and within them.
template <class Stream>
awaitable<bool> server::impl::read_request_head(timed_stream<Stream> &client,
                                                beast::flat_buffer &buffer, request_parser &parser,
                                                connection_state &state, bool first) {
  error_code ec;
  if (buffer.size() == 0) {
    state.idle = true;
    if (draining) co_return false;
    client.deadline.expires_after(first ? config.header_timeout : config.keepalive_timeout);
    const std::size_t n = co_await client.stream.async_read_some(buffer.prepare(4096),
                                                                 redirect_error(use_awaitable, ec));
    buffer.commit(n);
    state.idle = false;
    if (ec) co_return false;
  }
  state.idle = false;
  const auto received = [&buffer] {
    return std::string_view(static_cast<const char *>(buffer.data().data()), buffer.size());
  };
  head_scanner scanner({config.max_header_bytes, config.max_header_line_bytes, config.max_headers});
  client.deadline.expires_after(config.header_timeout);
  auto scanned = scanner.scan(received());
  while (scanned == head_scanner::state::need_more) {
    const std::size_t room = std::min<std::size_t>(4096, buffer.max_size() - buffer.size());
    const std::size_t n = co_await client.stream.async_read_some(buffer.prepare(room),
                                                                 redirect_error(use_awaitable, ec));
    buffer.commit(n);
    if (ec) break;
    scanned = scanner.scan(received());
  }
  client.deadline.disarm();
  if (ec) co_return false; // the client left, or was too slow: nobody to answer
  if (scanned == head_scanner::state::refused) {
    state.unread_input = true;
    co_await refuse_head(client, *scanner.problem());
    co_return false;
  }
  parser.header_limit(static_cast<std::uint32_t>(config.max_header_bytes));
  // Checked by the exchange, which also counts chunked bodies. Not boost::none: Beast 1.74
  // compares a Content-Length against it as an optional and refuses every body.
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  buffer.consume(parser.put(asio::buffer(buffer.data().data(), scanner.head_size()), ec));
  if (!ec && parser.is_header_done()) co_return true;
  const int status = ec ? refusal_status(classify_request_error(ec)) : 0;
  state.unread_input = true;
  // Named, not a temporary in the co_await: g++ 12 mis-handles string temporaries built there
  // (AddressSanitizer: heap-buffer-overflow).
  const refusal malformed{status ? status : 400,
                          "malformed request: " +
                              (ec ? ec.message() : std::string("incomplete head"))};
  co_await refuse_head(client, malformed);
  co_return false;
}

template <class Stream>
awaitable<void> server::impl::refuse_head(timed_stream<Stream> &client, const refusal &why) {
  const std::string response = local_response(why.status, {}, why.message, true);
  error_code ec;
  client.deadline.expires_after(config.send_timeout);
  co_await asio::async_write(client.stream, asio::buffer(response),
                             redirect_error(use_awaitable, ec));
  client.deadline.disarm();
  exchange_record rec;
  rec.status = why.status;
  rec.outcome = exchange_outcome::refused;
  error_code peer_ec;
  rec.client = client.lowest().remote_endpoint(peer_ec).address().to_string();
  log.write(rec);
}

namespace {

// After an answer that leaves part of the request unread (a 413 mid-upload, a malformed head),
// read and drop what still comes for a moment before closing, as nginx's lingering close:
// closing with unread bytes makes the kernel send a reset, which destroys our answer in the
// client's receive buffer before it reads it.
template <class Stream> awaitable<void> linger(timed_stream<Stream> &client) {
  constexpr auto linger_time = std::chrono::seconds(2);
  constexpr std::size_t linger_bytes = 64u << 20;
  std::array<char, 4096> sink;
  error_code ec;
  client.deadline.expires_after(linger_time);
  for (std::size_t dropped = 0; !ec && dropped < linger_bytes;)
    dropped += co_await client.stream.async_read_some(asio::buffer(sink),
                                                      redirect_error(use_awaitable, ec));
  client.deadline.disarm();
}

} // namespace

awaitable<void> server::impl::session(tcp::socket socket, event_loop &loop) {
  error_code ec;
  socket.set_option(tcp::no_delay(true), ec); // a token is a few dozen bytes: never wait for more
  socket.non_blocking(true, ec); // synchronous writes are attempts (exchange.cc write_client)
  connection_state state;
  loop.connections.insert(&state);
  if (tls)
    co_await serve_tls(std::move(socket), state, loop);
  else
    co_await serve_cleartext(std::move(socket), state, loop);
  loop.connections.erase(&state);
  --open_connections;
}

// HTTP/1.1, or HTTP/2 when the first bytes are its preface (h2c by prior knowledge): read
// until they tell, which for an HTTP/1.1 request is its first byte or two.
awaitable<void> server::impl::serve_cleartext(tcp::socket socket, connection_state &state,
                                              event_loop &loop) {
  timed_stream<tcp::socket> client(std::move(socket));
  state.client = &client.lowest();
  beast::flat_buffer buffer(config.max_header_bytes + 4096);
  const auto received = [&buffer] {
    return std::string_view(static_cast<const char *>(buffer.data().data()), buffer.size());
  };
  error_code ec;
  client.deadline.expires_after(config.header_timeout);
  while (!ec && received().size() < h2_preface.size() && h2_preface.starts_with(received())) {
    if (draining) break;
    const std::size_t n = co_await client.stream.async_read_some(buffer.prepare(4096),
                                                                 redirect_error(use_awaitable, ec));
    buffer.commit(n);
    state.idle = false;
  }
  client.deadline.disarm();
  if (!ec && !draining && received().starts_with(h2_preface))
    co_await serve_http2(client, received(), state, loop);
  else if (!ec && !draining)
    co_await serve_http1(client, buffer, state, loop);
  client.lowest().close(ec);
}

// The handshake within --header-timeout (a client that never completes it holds no slot),
// then the protocol ALPN chose: h2, or HTTP/1.1 (http/1.1 or no ALPN).
awaitable<void> server::impl::serve_tls(tcp::socket socket, connection_state &state,
                                        event_loop &loop) {
  timed_stream<tls_stream> client(std::move(socket), *tls);
  state.client = &client.lowest();
  error_code ec;
  client.deadline.expires_after(config.header_timeout);
  co_await client.stream.async_handshake(ssl::stream_base::server,
                                         redirect_error(use_awaitable, ec));
  client.deadline.disarm();
  state.idle = false;
  if (!ec && !draining) {
    if (negotiated_protocol(client.stream) == "h2") {
      co_await serve_http2(client, {}, state, loop);
    } else {
      beast::flat_buffer buffer(config.max_header_bytes + 4096);
      co_await serve_http1(client, buffer, state, loop);
    }
  }
  client.lowest().close(ec);
}

template <class Stream>
awaitable<void> server::impl::serve_http2(timed_stream<Stream> &client,
                                          std::string_view already_read, connection_state &state,
                                          event_loop &loop) {
  error_code ec;
  const auto peer = client.lowest().remote_endpoint(ec);
  const h2_peer who{ec ? "?" : peer.address().to_string(),
                    std::is_same_v<Stream, tcp::socket> ? "http" : "https", already_read};
  h2_connection_hooks hooks;
  state.h2 = &hooks;
  const exchange_env env = env_of(loop);
  co_await serve_h2(client.stream, who, env, hooks);
  state.h2 = nullptr;
}

template <class Stream>
awaitable<void> server::impl::serve_http1(timed_stream<Stream> &client, beast::flat_buffer &buffer,
                                          connection_state &state, event_loop &loop) {
  const exchange_env env = env_of(loop);
  bool unread_input = false;
  for (bool first = true;; first = false) {
    request_parser parser;
    const bool served = co_await read_request_head(client, buffer, parser, state, first) &&
                        co_await serve_request(client, buffer, parser, env);
    if (!served) {
      unread_input = state.unread_input || (parser.got_some() && !parser.is_done());
      break;
    }
    // A request body may have grown the buffer; an idle connection should not keep that.
    if (buffer.size() == 0) buffer.shrink_to_fit();
  }
  error_code ec;
  client.lowest().shutdown(tcp::socket::shutdown_send, ec);
  if (unread_input) co_await linger(client);
}

result<std::unique_ptr<server>> server::start(const proxy_config &config, access_log &log) {
  auto p = std::make_unique<impl>(config, log);
  p->threads.emplace(config.threads);
  for (std::size_t i = 0; i < p->threads->size(); ++i)
    p->loops.push_back(std::make_unique<event_loop>(p->threads->at(i), config.upstream_pool_size));
  error_code ec;
  tcp::resolver resolver(p->loops.front()->context);
  for (const auto &entry :
       resolver.resolve(config.upstream.host, std::to_string(config.upstream.port), ec))
    p->upstream.push_back(entry.endpoint());
  if (ec || p->upstream.empty())
    return error{"cannot resolve the upstream host " + config.upstream.host + ": " +
                 (ec ? ec.message() : "no addresses")};

  if (!config.tls_cert.empty()) {
    auto context = make_tls_context(config.tls_cert, config.tls_key);
    if (!context) return error{context.message()};
    p->tls = *context;
  }
  if (auto e = listen_on(p->acceptor.emplace(p->loops.front()->context), config.listen)) return *e;

  asio::co_spawn(p->loops.front()->context, p->accept_loop(), asio::detached);
  p->threads->run();
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

std::size_t server::connections() const {
  return impl_->open_connections;
}

void server::drain() {
  if (impl_->draining.exchange(true)) return;
  asio::post(impl_->loops.front()->context, [p = impl_.get()] {
    error_code ec;
    p->acceptor->close(ec);
  });
  for (auto &loop : impl_->loops)
    asio::post(loop->context, [l = loop.get()] {
      for (auto *c : l->connections)
        if (c->h2 && c->h2->drain) {
          c->h2->drain();
        } else if (c->idle && c->client) {
          error_code ec;
          c->client->cancel(ec);
        }
    });
}

void server::stop() {
  if (impl_->stopped.exchange(true)) return;
  impl_->threads->stop();
  // Destroying the loops destroys every suspended session, closing its sockets.
  impl_->acceptor.reset();
  impl_->loops.clear();
  impl_->threads.reset();
}

} // namespace streamcheck::proxy
