#include "mock_upstream/wire.h"

#include <algorithm>
#include <cctype>

namespace streamcheck::mock {

std::string canonical_header_key(std::string_view key) {
  std::string out(key);
  bool upper = true;
  for (char &c : out) {
    c = static_cast<char>(upper ? std::toupper(static_cast<unsigned char>(c))
                                : std::tolower(static_cast<unsigned char>(c)));
    upper = c == '-';
  }
  return out;
}

std::string_view status_text(int status) {
  switch (status) {
  // Go's http.StatusText; scripted statuses can be any of 200-599. 499 has none.
  case 100: return "Continue";
  case 101: return "Switching Protocols";
  case 102: return "Processing";
  case 103: return "Early Hints";
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 203: return "Non-Authoritative Information";
  case 204: return "No Content";
  case 205: return "Reset Content";
  case 206: return "Partial Content";
  case 207: return "Multi-Status";
  case 208: return "Already Reported";
  case 226: return "IM Used";
  case 300: return "Multiple Choices";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 303: return "See Other";
  case 304: return "Not Modified";
  case 305: return "Use Proxy";
  case 307: return "Temporary Redirect";
  case 308: return "Permanent Redirect";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 402: return "Payment Required";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 406: return "Not Acceptable";
  case 407: return "Proxy Authentication Required";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 410: return "Gone";
  case 411: return "Length Required";
  case 412: return "Precondition Failed";
  case 413: return "Request Entity Too Large";
  case 414: return "Request URI Too Long";
  case 415: return "Unsupported Media Type";
  case 416: return "Requested Range Not Satisfiable";
  case 417: return "Expectation Failed";
  case 418: return "I'm a teapot";
  case 421: return "Misdirected Request";
  case 422: return "Unprocessable Entity";
  case 423: return "Locked";
  case 424: return "Failed Dependency";
  case 425: return "Too Early";
  case 426: return "Upgrade Required";
  case 428: return "Precondition Required";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 451: return "Unavailable For Legal Reasons";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  case 505: return "HTTP Version Not Supported";
  case 506: return "Variant Also Negotiates";
  case 507: return "Insufficient Storage";
  case 508: return "Loop Detected";
  case 510: return "Not Extended";
  case 511: return "Network Authentication Required";
  default: return "";
  }
}

std::string serialize_head(const head_options &o) {
  std::string out = o.version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(o.status);
  const auto text = status_text(o.status);
  // Go writes "HTTP/1.1 499 status code 499" for codes it has no text for.
  out += text.empty() ? " status code " + std::to_string(o.status) : " " + std::string(text);
  out += "\r\n";

  header_list sorted;
  for (const auto &[k, v] : o.headers)
    sorted.emplace_back(canonical_header_key(k), v);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto &a, const auto &b) { return a.first < b.first; });
  for (const auto &[k, v] : sorted)
    out += k + ": " + v + "\r\n";

  out += "Date: " + o.date + "\r\n";
  if (o.frame == body_framing::content_length)
    out += "Content-Length: " + std::to_string(o.content_length) + "\r\n";
  if (o.connection_close && o.version == 11) out += "Connection: close\r\n";
  if (o.connection_keep_alive && o.version == 10) out += "Connection: keep-alive\r\n";
  if (o.frame == body_framing::chunked) out += "Transfer-Encoding: chunked\r\n";
  out += "\r\n";
  return out;
}

std::string chunk(std::string_view data) {
  char size[20];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  std::string out = size;
  out.append(data);
  out += "\r\n";
  return out;
}

header_list in_sent_order(std::string_view raw_head, header_list parsed) {
  header_list out;
  std::size_t pos = raw_head.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < raw_head.size()) {
    const auto eol = raw_head.find("\r\n", pos + 2);
    const auto line = raw_head.substr(pos + 2, eol - pos - 2);
    pos = eol;
    const auto colon = line.find(':');
    if (line.empty() || colon == std::string_view::npos) continue;
    auto value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
      value.remove_suffix(1);
    out.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  // Anything unusual (folded lines): keep Beast's view rather than guess.
  return out.size() == parsed.size() ? out : parsed;
}

} // namespace streamcheck::mock
