// A client's request head before Beast parses it, and the checks on its parts that Beast does not
// make. Pure functions of the bytes, so every rule is unit-tested and fuzzed without sockets.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "reference_proxy/config.h"
#include "reference_proxy/headers.h"

namespace streamcheck::proxy {

// What the proxy answers itself instead of forwarding.
struct refusal {
  int status;
  std::string message;
};

// The bounds a head must fit, as nginx's large_client_header_buffers (a line) and HAProxy's
// tune.http.maxhdr (a count): what lies beyond them is refused with 431 before anything else
// reads the head, so no later step can cost more than these allow.
struct head_limits {
  std::size_t max_head_bytes = 64 * 1024;
  std::size_t max_line_bytes = 8 * 1024; // a header line, CRLF excluded
  std::size_t max_headers = 100;
};

// Reads the head as it arrives: each byte is looked at once, however the head is split across
// reads, and a refusal comes as soon as a limit is passed (the 101st header line, not the end of
// a 64 KiB head).
class head_scanner {
public:
  explicit head_scanner(head_limits limits) : limits_(limits) {}

  enum class state { need_more, complete, refused };
  // `received` is everything read so far (a prefix that only grows); only new bytes are scanned.
  state scan(std::string_view received);
  // Once complete: the head's size, its blank line included. Once refused: why.
  std::size_t head_size() const { return pos_; }
  const std::optional<refusal> &problem() const { return problem_; }

private:
  state refuse(int status, std::string message);
  state end_of_line(std::string_view line);

  head_limits limits_;
  std::size_t pos_ = 0;        // next byte to look at
  std::size_t line_start_ = 0; // where the current line began
  std::size_t headers_ = 0;
  bool request_line_done_ = false;
  std::optional<refusal> problem_;
};

// RFC 9112 §3.2: Host = uri-host [ ":" port ] (RFC 3986 §3.2.2). Userinfo, a path, spaces,
// quotes, backslashes, a non-numeric or out-of-range port and an empty value are not.
bool valid_host(std::string_view host);

// Request targets the proxy refuses rather than pass on byte for byte: a NUL (%00), or a dot
// segment ("/./", "/../", also percent-encoded) that one hop may resolve and another not, so an
// access rule in front sees a different path than the upstream routes. No client sends them:
// curl, browsers and the SDKs remove dot segments before sending (RFC 3986 §5.2.4).
std::optional<refusal> target_problem(std::string_view target);

// What the proxy refuses in a request head it could forward: targets that are not a path, dot
// segments, TRACE, missing or doubled Host, ambiguous framing, a body over --max-body, an
// unknown Expect. `content_length` is the declared body length, if any. The same rules for
// every client protocol.
std::optional<refusal> check_request(const request_head &req,
                                     std::optional<std::uint64_t> content_length,
                                     const proxy_config &config);

} // namespace streamcheck::proxy
