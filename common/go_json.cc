#include "common/go_json.h"

#include <ctime>

namespace streamcheck {

std::string go_json(const json &value) {
  const std::string plain = value.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string out;
  out.reserve(plain.size() + 16);
  // In compact JSON these bytes can only occur inside strings, so a byte-level pass is exact.
  for (std::size_t i = 0; i < plain.size(); ++i) {
    const char c = plain[i];
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (c == '\xE2' && i + 2 < plain.size() && plain[i + 1] == '\x80' &&
               (plain[i + 2] == '\xA8' || plain[i + 2] == '\xA9')) {
      out += plain[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
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
