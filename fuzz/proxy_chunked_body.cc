// Fuzz: a chunked request body (and a chunked upstream answer) read the way streamcheck-proxy's
// forward_body and relay read them: Beast's parser with a buffer_body of 4 KiB pieces, fed in
// reads of varying size. No input may crash, loop without progress or write past the piece.
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "common/asio.h"

namespace {

template <bool isRequest> void read_body(std::string_view head, std::string_view body) {
  http::parser<isRequest, http::buffer_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  boost::system::error_code ec;
  const std::string h(head);
  parser.put(asio::buffer(h), ec);
  if (ec || !parser.is_header_done()) __builtin_trap(); // the fixed head is valid
  std::array<char, 4096> piece;
  std::string pending;
  std::size_t offset = 0;
  const std::size_t step = body.empty() ? 1 : 1 + static_cast<unsigned char>(body[0]) % 61;
  for (int rounds = 0; !parser.is_done(); ++rounds) {
    if (rounds > 1'000'000) __builtin_trap(); // no progress
    if (pending.empty()) {
      if (offset >= body.size()) break; // the client stopped sending: a truncated body
      pending.assign(body.substr(offset, step));
      offset += pending.size();
    }
    parser.get().body().data = piece.data();
    parser.get().body().size = piece.size();
    const std::size_t used = parser.put(asio::buffer(pending), ec);
    pending.erase(0, used);
    if (parser.get().body().size > piece.size()) __builtin_trap();
    if (ec == http::error::need_more) {
      // Beast wants more than `pending` holds: append the next read.
      ec = {};
      if (offset >= body.size()) break;
      pending.append(body.substr(offset, step));
      offset += step;
      continue;
    }
    if (ec == http::error::need_buffer) ec = {};
    if (ec) break; // a malformed body: the proxy answers 400
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char *>(data), size);
  read_body<true>("POST /api/chat HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", body);
  read_body<false>("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", body);
  return 0;
}
