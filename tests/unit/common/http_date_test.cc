#include "common/http_date.h"

#include <ctime>
#include <gtest/gtest.h>
#include <regex>

namespace streamcheck {
namespace {

TEST(HttpDate, ImfFixdateOfNow) {
  const std::time_t before = std::time(nullptr);
  const std::string date = http_date_now();
  const std::time_t after = std::time(nullptr);
  ASSERT_TRUE(std::regex_match(
      date, std::regex(R"((Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d )"
                       R"((Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} )"
                       R"(\d\d:\d\d:\d\d GMT)")))
      << date;
  EXPECT_EQ(date.size(), 29u);
  std::tm tm{};
  ASSERT_NE(strptime(date.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm), nullptr) << date;
  const std::time_t parsed = timegm(&tm);
  EXPECT_GE(parsed, before);
  EXPECT_LE(parsed, after);
}

} // namespace
} // namespace streamcheck
