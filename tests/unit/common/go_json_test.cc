#include "common/go_json.h"

#include <gtest/gtest.h>

namespace streamcheck {
namespace {

TEST(GoJson, EscapesHtmlCharactersLikeGo) {
  EXPECT_EQ(go_json(json{{"response", "<think>a & b</think>"}}),
            R"({"response":"\u003cthink\u003ea \u0026 b\u003c/think\u003e"})");
}

TEST(GoJson, EscapesHtmlCharactersInKeys) {
  EXPECT_EQ(go_json(json{{"<k&>", 1}}), R"({"\u003ck\u0026\u003e":1})");
}

TEST(GoJson, EscapesLineAndParagraphSeparators) {
  EXPECT_EQ(go_json(json("a\xE2\x80\xA8"
                         "b\xE2\x80\xA9"
                         "c")),
            R"("a\u2028b\u2029c")");
}

TEST(GoJson, LeavesOtherNonAsciiRaw) {
  // U+2027 shares the first two bytes with U+2028 but is not escaped; neither is é.
  EXPECT_EQ(go_json(json("\xE2\x80\xA7 \xC3\xA9")), "\"\xE2\x80\xA7 \xC3\xA9\"");
}

TEST(GoJson, EscapesControlCharactersQuotesAndBackslashes) {
  EXPECT_EQ(go_json(json("q\"b\\n\nt\tc\x01")), R"("q\"b\\n\nt\tc\u0001")");
}

TEST(GoJson, IsCompactWithoutTrailingNewline) {
  json v;
  v["b"] = 1;
  v["a"] = json::array({1, 2, json{{"z", nullptr}, {"y", true}}});
  v["s"] = "x y";
  v["e"] = json::object();
  v["f"] = json::array();
  EXPECT_EQ(go_json(v), R"({"b":1,"a":[1,2,{"z":null,"y":true}],"s":"x y","e":{},"f":[]})");
}

TEST(GoJson, KeepsInsertionOrderNotAlphabetical) {
  json v;
  v["model"] = "m";
  v["created_at"] = "t";
  v["done"] = false;
  EXPECT_EQ(go_json(v), R"({"model":"m","created_at":"t","done":false})");
}

TEST(GoJson, WritesNegativeAndLargeIntegersExactly) {
  EXPECT_EQ(go_json(json{{"a", -5}, {"b", 2019377376LL}, {"c", 18446744073709551615ULL}}),
            R"({"a":-5,"b":2019377376,"c":18446744073709551615})");
}

constexpr std::int64_t base_ns = 1'693'607'743LL * 1'000'000'000; // 2023-09-01T22:35:43Z

TEST(Rfc3339NanoUtc, WholeSecondHasNoFraction) {
  EXPECT_EQ(rfc3339_nano_utc(base_ns), "2023-09-01T22:35:43Z");
  EXPECT_EQ(rfc3339_nano_utc(0), "1970-01-01T00:00:00Z");
}

TEST(Rfc3339NanoUtc, AllNineDigits) {
  EXPECT_EQ(rfc3339_nano_utc(base_ns + 271'181'437), "2023-09-01T22:35:43.271181437Z");
}

TEST(Rfc3339NanoUtc, TrimsTrailingZeros) {
  EXPECT_EQ(rfc3339_nano_utc(base_ns + 271'100'000), "2023-09-01T22:35:43.2711Z");
  EXPECT_EQ(rfc3339_nano_utc(base_ns + 200'000'000), "2023-09-01T22:35:43.2Z");
  EXPECT_EQ(rfc3339_nano_utc(base_ns + 100'000), "2023-09-01T22:35:43.0001Z");
}

TEST(Rfc3339NanoUtc, KeepsLeadingZerosOfTheFraction) {
  EXPECT_EQ(rfc3339_nano_utc(base_ns + 1), "2023-09-01T22:35:43.000000001Z");
  EXPECT_EQ(rfc3339_nano_utc(base_ns + 10), "2023-09-01T22:35:43.00000001Z");
}

} // namespace
} // namespace streamcheck
