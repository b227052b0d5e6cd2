#include "reference_proxy/upstream_call.h"

#include <limits>

namespace streamcheck::proxy {

using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;
using boost::system::error_code;

awaitable<bool> upstream_call::connect(const asio::any_io_executor &executor) {
  if (auto pooled = env_.pool.take()) {
    reused_ = true;
    up_.emplace(std::move(*pooled));
    co_return true;
  }
  up_.emplace(tcp::socket(executor));
  error_code ec;
  up_->deadline.expires_after(env_.config.connect_timeout);
  co_await asio::async_connect(up_->socket, env_.upstream, redirect_error(use_awaitable, ec));
  up_->deadline.disarm();
  if (ec) co_return false;
  up_->socket.set_option(tcp::no_delay(true), ec);
  co_return true;
}

awaitable<bool> upstream_call::write(write_parts parts) {
  error_code ec;
  up_->deadline.expires_after(env_.config.body_timeout);
  co_await asio::async_write(up_->socket, parts.sequence(), redirect_error(use_awaitable, ec));
  up_->deadline.disarm();
  co_return !ec;
}

awaitable<upstream_call::head_status> upstream_call::read_head(bool head_request) {
  error_code ec;
  do { // 1xx informational heads (103 Early Hints) are skipped
    parser_.emplace();
    parser_->header_limit(head_limit);
    // Not boost::none: Beast 1.74 compares a Content-Length against it as an optional.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    if (head_request) parser_->skip(true);
    up_->deadline.expires_after(env_.config.first_byte_timeout);
    co_await http::async_read_header(up_->socket, buffer_, *parser_,
                                     redirect_error(use_awaitable, ec));
    up_->deadline.disarm();
  } while (!ec && parser_->get().result_int() / 100 == 1 && parser_->get().result_int() != 101);
  if (up_->deadline.expired()) co_return head_status::timed_out;
  if (ec || parser_->get().result_int() == 101) co_return head_status::failed;
  co_return head_status::ok;
}

awaitable<upstream_call::piece> upstream_call::read_body() {
  error_code ec;
  auto &body = parser_->get().body();
  while (!parser_->is_done()) {
    body.data = chunk_.data();
    body.size = chunk_.size();
    // The parser takes one piece per call (a chunk header, some data): input is read only when
    // it says it needs more.
    bool need_input = buffer_.size() == 0;
    if (!need_input) {
      buffer_.consume(parser_->put(buffer_.data(), ec));
      need_input = ec == http::error::need_more;
      if (need_input || ec == http::error::need_buffer) ec = {};
    }
    const std::size_t n = chunk_.size() - body.size;
    if (n == 0 && !ec && !parser_->is_done()) {
      if (!need_input) continue;
      up_->deadline.expires_after(env_.config.idle_timeout);
      // What the buffer already holds, at least 512 bytes (as Beast): a token needs no more,
      // and the buffer is held for as long as the stream stays open.
      const std::size_t want =
          std::min(std::max<std::size_t>(512, buffer_.capacity() - buffer_.size()),
                   buffer_.max_size() - buffer_.size());
      const std::size_t got = co_await up_->socket.async_read_some(
          buffer_.prepare(want), redirect_error(use_awaitable, ec));
      buffer_.commit(got);
      up_->deadline.disarm();
      if (ec == asio::error::eof) parser_->put_eof(ec); // the end, for a close-delimited answer
      if (!ec) continue;
    }
    co_return piece{std::string_view(chunk_.data(), n), !ec && parser_->is_done(), bool(ec)};
  }
  co_return piece{{}, true, false};
}

void upstream_call::finish() {
  if (up_ && parser_ && parser_->is_done() && parser_->keep_alive())
    env_.pool.give(std::move(up_->socket));
}

void upstream_call::cancel() {
  if (!up_) return;
  error_code ec;
  up_->socket.close(ec);
}

} // namespace streamcheck::proxy
