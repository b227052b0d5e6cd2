#include "common/go_json.h"

#include <ctime>

namespace streamcheck {

std::string go_json(const json &value) {
  std::string plain = value.dump(-1, ' ', false, json::error_handler_t::replace);
  // Most documents need no rewriting; a 20 MiB upload (body.large-request) must not be copied
  // byte by byte only to find that out.
  static constexpr const char *rewritten = "<>&\xE2";
  std::size_t next = plain.find_first_of(rewritten);
  if (next == std::string::npos) return plain;
  std::string out;
  out.reserve(plain.size() + 16);
  std::size_t copied = 0;
  // In compact JSON these bytes can only occur inside strings, so a byte-level pass is exact.
  for (; next != std::string::npos; next = plain.find_first_of(rewritten, next + 1)) {
    out.append(plain, copied, next - copied);
    copied = next + 1;
    const char c = plain[next];
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (next + 2 < plain.size() && plain[next + 1] == '\x80' &&
               (plain[next + 2] == '\xA8' || plain[next + 2] == '\xA9')) {
      out += plain[next + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      next += 2;
      copied = next + 1;
    } else {
      out += c;
    }
  }
  out.append(plain, copied);
  return out;
}

std::string rfc3339_nano_utc(std::int64_t unix_ns) {
  const std::time_t secs = static_cast<std::time_t>(unix_ns / 1'000'000'000);
  long frac = static_cast<long>(unix_ns % 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char base[32];
  std::strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = base;
  if (frac != 0) {
    char digits[16];
    std::snprintf(digits, sizeof digits, "%09ld", frac);
    std::string f = digits;
    while (!f.empty() && f.back() == '0')
      f.pop_back();
    out += "." + f;
  }
  return out + "Z";
}

} // namespace streamcheck
