// Request and response heads as they cross the proxy. Pure functions of the input head, so the
// rewriting rules are unit-tested without sockets.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/http_text.h"

namespace streamcheck::proxy {

using streamcheck::body_framing;
using streamcheck::count_header;
using streamcheck::find_header;
using streamcheck::header_list;
using streamcheck::trim_ows;

// Hop-by-hop: the fixed RFC 9110 §7.6.1 set plus every header the Connection header names.
// Built once per head, so deciding for every header costs one lookup each, not a rescan of the
// head and its Connection tokens.
class hop_by_hop_names {
public:
  explicit hop_by_hop_names(const header_list &headers);
  bool contains(std::string_view name) const;

private:
  std::unordered_set<std::string> named_; // lower case
};

bool is_hop_by_hop(std::string_view name, const header_list &headers);

struct request_head {
  std::string method;
  std::string target;
  int version = 11; // 10, 11, or 20 (HTTP/2)
  header_list headers;
};

struct forward_context {
  std::string upstream_authority; // becomes Host: what a default Ollama's host check accepts
  std::string client_address;     // appended to X-Forwarded-For
  body_framing body = body_framing::none;
  std::uint64_t content_length = 0;
  // Names with '_' are dropped unless this is set (nginx's underscores_in_headers): an upstream
  // that maps '_' to '-' (CGI, WSGI) would read Content_Length as Content-Length.
  bool forward_underscores = false;
  std::string_view client_scheme = "http"; // X-Forwarded-Proto: https behind --tls-cert
};

// The request line and head sent upstream: HTTP/1.1 (chunked answers, reusable connections),
// hop-by-hop headers, Expect and (by default) names with '_' dropped, Host rewritten, Origin
// dropped (CORS is decided here; a default Ollama would refuse the browser's origin),
// X-Forwarded-For/-Proto/-Host set.
std::string upstream_request_head(const request_head &req, const forward_context &ctx);

struct response_head {
  int status = 200;
  std::string reason;
  header_list headers;
};

struct client_context {
  header_list cors; // from cors_policy::response_headers
  body_framing body = body_framing::chunked;
  std::uint64_t content_length = 0;
  bool close = false;         // Connection: close
  bool keep_alive_10 = false; // an HTTP/1.0 client kept alive: Connection: keep-alive
};

// The header fields sent to the client: the upstream's end-to-end headers minus its CORS
// headers, with ours, Vary merged into one header, and our own framing (HTTP/2 takes these as
// they are, with body none or content_length and no close).
header_list client_response_fields(const response_head &res, const client_context &ctx);
// The same as an HTTP/1.1 head: status line, fields, blank line.
std::string client_response_head(const response_head &res, const client_context &ctx);

// A response the proxy makes itself (errors, preflights): JSON {"error": message} when message
// is not empty, otherwise no body.
std::string local_response(int status, const header_list &headers, std::string_view message,
                           bool close);

// The same answer in parts, for HTTP/2: its header fields (Content-Length included) and body.
struct local_answer {
  header_list fields;
  std::string body;
};
local_answer local_response_parts(int status, const header_list &headers, std::string_view message);

} // namespace streamcheck::proxy
