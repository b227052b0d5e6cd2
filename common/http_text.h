// HTTP/1.x text shared by the mock, the reference proxy, the harness and the tests: header
// fields as sent, the case-insensitive comparisons HTTP asks for, and how a body is delimited.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace streamcheck {

// Header fields in the order they were sent, duplicates kept (the checks judge repeated fields).
using header_list = std::vector<std::pair<std::string, std::string>>;

// Field names, tokens and media types compare case-insensitively in ASCII only, never by locale.
bool iequals(std::string_view a, std::string_view b);

// Without the optional whitespace (spaces, tabs) HTTP allows around values and list items.
std::string_view trim_ows(std::string_view s);

// "text/event-stream" from "Text/Event-Stream; charset=utf-8": media types compare
// case-insensitively and without their parameters (RFC 9110 §8.3.1).
std::string media_type(std::string_view content_type);

// The first value of a header (case-insensitive name), empty when absent.
std::string_view find_header(const header_list &headers, std::string_view name);
std::size_t count_header(const header_list &headers, std::string_view name);

// How an HTTP/1.x body is delimited (RFC 9112 §6.3): what a sender writes and a reader finds.
enum class body_framing {
  none,            // no body: 204, 304, 1xx, a response to HEAD, a request without one
  content_length,  // Content-Length bytes
  chunked,         // Transfer-Encoding: chunked, ended by the last chunk
  close_delimited, // until the connection closes (an HTTP/1.0 stream)
};
const char *to_string(body_framing f); // "none", "content-length", "chunked", "close-delimited"

} // namespace streamcheck
