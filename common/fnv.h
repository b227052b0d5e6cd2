#pragma once
#include <cstdint>
#include <string_view>

namespace streamcheck {

// FNV-1a 64: cheap and incremental, enough to tell that a 20 MiB body arrived byte for byte.
class fnv1a64 {
public:
  void update(std::string_view data) {
    for (unsigned char c : data)
      h_ = (h_ ^ c) * 1099511628211ULL;
  }
  std::uint64_t value() const { return h_; }

private:
  std::uint64_t h_ = 14695981039346656037ULL;
};

inline std::uint64_t fnv1a64_of(std::string_view data) {
  fnv1a64 f;
  f.update(data);
  return f.value();
}

} // namespace streamcheck
