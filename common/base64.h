// Standard base64 (RFC 4648 §4, with padding): HTTP Basic credentials (harness --user) and the
// OpenAI embeddings' encoding_format "base64" (mock).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace streamcheck {

inline std::string base64_encode(std::string_view bytes) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = bytes.size() - i < 3 ? bytes.size() - i : 3;
    std::uint32_t group = 0;
    for (std::size_t k = 0; k < 3; ++k)
      group = (group << 8) | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
    for (std::size_t k = 0; k < 4; ++k)
      out += k <= n ? alphabet[(group >> (18 - 6 * k)) & 0x3f] : '=';
  }
  return out;
}

} // namespace streamcheck
