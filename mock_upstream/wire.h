// Response framing exactly as Go's net/http writes it (Ollama's HTTP stack), byte for byte:
// status line in the request's HTTP version, handler headers sorted by canonical key, then Date,
// then Content-Length or Connection/Transfer-Encoding. No Server header.
#pragma once
#include "common/http_text.h"
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace streamcheck::mock {

using streamcheck::body_framing;
using streamcheck::header_list;

// "x-accel-buffering" -> "X-Accel-Buffering", as Go's CanonicalMIMEHeaderKey.
std::string canonical_header_key(std::string_view key);

std::string_view status_text(int status);

struct head_options {
  int version = 11; // of the request: 10 or 11
  int status = 200;
  header_list headers; // handler-set headers, any order
  // content_length: the whole body is known and small (Go: fits its 2048-byte pre-chunk buffer);
  // chunked: HTTP/1.1 streams and large bodies; close_delimited: HTTP/1.0 streams; none:
  // 204/304/1xx and HEAD without length.
  body_framing frame = body_framing::content_length;
  std::size_t content_length = 0;
  bool connection_close = false;      // adds "Connection: close" (HTTP/1.1)
  bool connection_keep_alive = false; // adds "Connection: keep-alive" (HTTP/1.0 that asked)
  std::string date;                   // IMF-fixdate
};

std::string serialize_head(const head_options &o);

// Go flushes each streamed write as one chunk.
std::string chunk(std::string_view data);
inline constexpr std::string_view last_chunk = "0\r\n\r\n";

// Go's rule: a complete body that fits the 2048-byte buffer gets Content-Length.
inline constexpr std::size_t go_prechunk_buffer = 2048;

// The request's header fields in the order the client sent them (Beast files a repeated field
// right after its first occurrence), from the raw head; Beast's list when the two disagree.
header_list in_sent_order(std::string_view raw_head, header_list parsed);

} // namespace streamcheck::mock
