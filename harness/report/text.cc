#include "harness/report/text.h"

#include <charconv>
#include <cmath>
#include <cstdint>

namespace streamcheck::harness::text {
namespace {

constexpr char32_t replacement = 0xFFFD;

// Length of the UTF-8 sequence starting at s[i], or 0 when it is malformed (RFC 3629 table:
// no overlongs, no surrogates, nothing above U+10FFFF).
std::size_t sequence_length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char lead = b(0);
  if (lead < 0x80) return 1;
  std::size_t n = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
  if (lead < 0xC2 || lead > 0xF4 || i + n > s.size()) return 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (lead == 0xE0) lo = 0xA0;
  if (lead == 0xED) hi = 0x9F;
  if (lead == 0xF0) lo = 0x90;
  if (lead == 0xF4) hi = 0x8F;
  if (b(1) < lo || b(1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if (b(k) < 0x80 || b(k) > 0xBF) return 0;
  return n;
}

char32_t decode(std::string_view s, std::size_t i, std::size_t n) {
  const auto b = [&](std::size_t k) { return static_cast<char32_t>(s[i + k]) & 0xFF; };
  if (n == 1) return b(0);
  char32_t cp = b(0) & (0xFF >> (n + 1));
  for (std::size_t k = 1; k < n; ++k)
    cp = (cp << 6) | (b(k) & 0x3F);
  return cp;
}

void append_utf8(std::string &out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

char32_t visible(char32_t cp, std::string_view keep) {
  if (cp < 0x20 && keep.find(static_cast<char>(cp)) != std::string_view::npos) return cp;
  if (cp < 0x20) return 0x2400 + cp; // Control Pictures: U+241B is "ESC"
  if (cp >= 0x7F && cp <= 0x9F) return replacement;
  if (cp == 0xFFFE || cp == 0xFFFF) return replacement;
  return cp;
}

} // namespace

std::string clean(std::string_view s, std::string_view keep) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = sequence_length(s, i);
    append_utf8(out, n == 0 ? replacement : visible(decode(s, i, n), keep));
    i += n == 0 ? 1 : n;
  }
  return out;
}

std::string xml_escape(std::string_view s, bool attribute) {
  std::string out;
  for (const char c : clean(s, "\t\n\r")) {
    switch (c) {
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '&': out += "&amp;"; break;
    case '"': out += attribute ? "&quot;" : "\""; break;
    case '\'': out += attribute ? "&apos;" : "'"; break;
    case '\r': out += "&#13;"; break;
    case '\t': out += attribute ? "&#9;" : "\t"; break;
    case '\n': out += attribute ? "&#10;" : "\n"; break;
    default: out += c;
    }
  }
  return out;
}

std::string fixed(double value, int decimals) {
  if (!std::isfinite(value) || value < 0) value = 0;
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed, decimals);
  // Only an absurd magnitude overflows 64 bytes; zero is the honest fallback for a time field.
  if (r.ec != std::errc{}) return fixed(0, decimals);
  return std::string(buf, r.ptr);
}

std::string_view group_of(std::string_view id) {
  return id.substr(0, id.find('.'));
}

bool has_details(outcome o) {
  return o == outcome::warn || o == outcome::fail || o == outcome::inconclusive ||
         o == outcome::error;
}

std::vector<std::pair<std::string_view, std::string_view>> detail_fields(const check_result &c) {
  const std::pair<std::string_view, std::string_view> all[] = {
      {"requirement", c.requirement}, {"expected", c.expected},
      {"actual", c.actual},           {"via", c.via},
      {"protocol", c.protocol},       {"cause", c.cause},
      {"blocked by", c.blocked_by},   {"fix", c.fix},
      {"reproduce", c.reproduce}};
  std::vector<std::pair<std::string_view, std::string_view>> out;
  for (const auto &field : all)
    if (!field.second.empty()) out.push_back(field);
  return out;
}

} // namespace streamcheck::harness::text
