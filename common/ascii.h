// ASCII case folding for protocol tokens (header names, directive arguments, media types): HTTP
// and nginx compare these case-insensitively in ASCII only, never by locale.
#pragma once
#include <cctype>
#include <string>

namespace streamcheck {

inline char ascii_lower_char(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

inline std::string ascii_lower(std::string s) {
  for (auto &c : s)
    c = ascii_lower_char(c);
  return s;
}

} // namespace streamcheck
