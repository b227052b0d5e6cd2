#include "common/fnv.h"

#include <gtest/gtest.h>

namespace streamcheck {
namespace {

TEST(Fnv1a64, KnownVectors) {
  EXPECT_EQ(fnv1a64_of(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a64_of("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv1a64_of("foobar"), 0x85944171f73967e8ULL);
}

TEST(Fnv1a64, IncrementalEqualsWhole) {
  const std::string body(100'000, 'x');
  fnv1a64 f;
  f.update(std::string_view(body).substr(0, 1));
  f.update(std::string_view(body).substr(1, 4095));
  f.update(std::string_view(body).substr(4096));
  EXPECT_EQ(f.value(), fnv1a64_of(body));
}

TEST(Fnv1a64, SeesEveryByte) {
  EXPECT_NE(fnv1a64_of(std::string("a\0b", 3)), fnv1a64_of("ab"));
  EXPECT_NE(fnv1a64_of("ab"), fnv1a64_of("ba"));
  EXPECT_NE(fnv1a64_of("\xff"), fnv1a64_of("\x7f"));
}

} // namespace
} // namespace streamcheck
