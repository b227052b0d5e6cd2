#pragma once
#include <chrono>
#include <cstdint>

namespace streamcheck {

using mono_clock = std::chrono::steady_clock;

// Microseconds on the monotonic clock; only differences are meaningful.
inline std::int64_t monotonic_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(mono_clock::now().time_since_epoch())
      .count();
}

inline std::int64_t us_between(mono_clock::time_point from, mono_clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::microseconds>(to - from).count();
}

} // namespace streamcheck
