#include "reference_proxy/request_head.h"

#include <cctype>
#include <charconv>

namespace streamcheck::proxy {

head_scanner::state head_scanner::refuse(int status, std::string message) {
  problem_ = refusal{status, std::move(message)};
  return state::refused;
}

head_scanner::state head_scanner::scan(std::string_view received) {
  if (problem_) return state::refused;
  while (pos_ < received.size()) {
    if (pos_ >= limits_.max_head_bytes)
      return refuse(431, "request head larger than " + std::to_string(limits_.max_head_bytes) +
                             " bytes");
    const char c = received[pos_];
    if (c != '\n') {
      // One byte past the limit is allowed only as the line's CR.
      const std::size_t offset = pos_ - line_start_;
      if (request_line_done_ &&
          (offset > limits_.max_line_bytes || (offset == limits_.max_line_bytes && c != '\r')))
        return refuse(431, "a header line longer than " + std::to_string(limits_.max_line_bytes) +
                               " bytes");
      ++pos_;
      continue;
    }
    if (pos_ == line_start_ || received[pos_ - 1] != '\r')
      return refuse(400, "malformed request: a line ends with LF alone, not CRLF");
    const std::string_view line = received.substr(line_start_, pos_ - 1 - line_start_);
    line_start_ = ++pos_;
    if (const state s = end_of_line(line); s != state::need_more) return s;
  }
  return state::need_more;
}

head_scanner::state head_scanner::end_of_line(std::string_view line) {
  if (!request_line_done_) {
    if (line.empty())
      return refuse(400, "malformed request: an empty line before the request line");
    request_line_done_ = true;
    return state::need_more;
  }
  if (line.empty()) return state::complete;
  // Unfolding it would make this line part of the previous header, which a hop that reads it as
  // a header of its own (a Transfer-Encoding after a Content-Length) frames differently.
  if (line.front() == ' ' || line.front() == '\t')
    return refuse(400, "obsolete line folding (a header line starting with a space or tab) is "
                       "not accepted");
  if (++headers_ > limits_.max_headers)
    return refuse(431, "more than " + std::to_string(limits_.max_headers) + " header lines");
  return state::need_more;
}

namespace {

bool is_hex(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}

bool is_reg_name_char(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  constexpr std::string_view allowed = "-._~!$&'()*+,;=";
  return allowed.find(c) != std::string_view::npos;
}

// RFC 3986 reg-name or IPv4address: unreserved, sub-delims and %HH.
bool valid_reg_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '%') {
      if (i + 2 >= name.size() || !is_hex(name[i + 1]) || !is_hex(name[i + 2])) return false;
      i += 2;
    } else if (!is_reg_name_char(name[i])) {
      return false;
    }
  }
  return true;
}

// The inside of an IP-literal: an IPv6 address (hex groups, colons, an IPv4 tail).
bool valid_ipv6_text(std::string_view text) {
  if (text.empty() || text.find(':') == std::string_view::npos) return false;
  for (const char c : text)
    if (!is_hex(c) && c != ':' && c != '.') return false;
  return true;
}

bool valid_port(std::string_view port) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  return !port.empty() && port.size() <= 5 && ec == std::errc{} &&
         end == port.data() + port.size() && value <= 65535;
}

bool is_dot_segment(std::string_view segment) {
  std::size_t dots = 0;
  for (std::size_t i = 0; i < segment.size(); ++dots) {
    if (segment[i] == '.') {
      i += 1;
    } else if (segment.substr(i, 3) == "%2e" || segment.substr(i, 3) == "%2E") {
      i += 3;
    } else {
      return false;
    }
  }
  return dots == 1 || dots == 2;
}

} // namespace

bool valid_host(std::string_view host) {
  std::string_view name = host;
  std::string_view port;
  bool has_port = false;
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string_view::npos || !valid_ipv6_text(host.substr(1, close - 1)))
      return false;
    const std::string_view rest = host.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
    has_port = !rest.empty();
    port = has_port ? rest.substr(1) : rest;
    return !has_port || valid_port(port);
  }
  if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
    name = host.substr(0, colon);
    port = host.substr(colon + 1);
    has_port = true;
  }
  return valid_reg_name(name) && (!has_port || valid_port(port));
}

std::optional<refusal> target_problem(std::string_view target) {
  for (std::size_t i = target.find('%'); i != std::string_view::npos; i = target.find('%', i + 1))
    if (target.substr(i, 3) == "%00") return refusal{400, "a NUL (%00) in the request target"};
  std::string_view path = target.substr(0, target.find('?'));
  while (!path.empty()) {
    const auto slash = path.find('/');
    if (is_dot_segment(path.substr(0, slash)))
      return refusal{400, "a dot segment (. or ..) in the request path; send the path with dot "
                          "segments removed (RFC 3986 §5.2.4)"};
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
  }
  return std::nullopt;
}

namespace {

constexpr std::size_t max_method_bytes = 32; // the longest registered method is 17 bytes

// Beast already refuses Content-Length together with Transfer-Encoding and differing lengths;
// these are the ambiguities it lets through, each a known request-smuggling vector.
} // namespace

std::optional<refusal> check_request(const request_head &req,
                                     std::optional<std::uint64_t> content_length,
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
  if (content_length && *content_length > config.max_body_bytes)
    return refusal{413, "request body larger than " + std::to_string(config.max_body_bytes) +
                            " bytes (--max-body)"};
  const auto expect = find_header(req.headers, "Expect");
  if (!expect.empty() && !iequals(expect, "100-continue"))
    return refusal{417, "unsupported Expect: " + std::string(expect)};
  return std::nullopt;
}

} // namespace streamcheck::proxy
