#include "common/http_text.h"

#include <algorithm>

#include "common/ascii.h"

namespace streamcheck {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii_lower_char(x) == ascii_lower_char(y);
         });
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

std::string media_type(std::string_view content_type) {
  return ascii_lower(std::string(trim_ows(content_type.substr(0, content_type.find(';')))));
}

std::string_view find_header(const header_list &headers, std::string_view name) {
  for (const auto &[n, v] : headers)
    if (iequals(n, name)) return v;
  return {};
}

std::size_t count_header(const header_list &headers, std::string_view name) {
  return static_cast<std::size_t>(std::count_if(
      headers.begin(), headers.end(), [&](const auto &h) { return iequals(h.first, name); }));
}

const char *to_string(body_framing f) {
  switch (f) {
  case body_framing::none: return "none";
  case body_framing::content_length: return "content-length";
  case body_framing::chunked: return "chunked";
  case body_framing::close_delimited: return "close-delimited";
  }
  return "?";
}

} // namespace streamcheck
