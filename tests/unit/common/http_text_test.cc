#include "common/http_text.h"

#include <gtest/gtest.h>

namespace streamcheck {
namespace {

TEST(Iequals, AsciiCaseOnly) {
  EXPECT_TRUE(iequals("Transfer-Encoding", "transfer-encoding"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("Host", "Hosts"));
  EXPECT_FALSE(iequals("chunked", "chunkeD "));
  EXPECT_FALSE(iequals("\xc4", "\xe4")); // Ä and ä in Latin-1 are not the same token
}

TEST(TrimOws, SpacesAndTabsOnly) {
  EXPECT_EQ(trim_ows(" \t chunked\t "), "chunked");
  EXPECT_EQ(trim_ows("a b"), "a b");
  EXPECT_EQ(trim_ows(" \t "), "");
  EXPECT_EQ(trim_ows("\r\nx\r\n"), "\r\nx\r\n"); // CR LF are not optional whitespace
}

TEST(Headers, FindTakesTheFirstAndCountSeesEvery) {
  const header_list h{{"Host", "a"}, {"X-One", "1"}, {"host", "b"}, {"HOST", ""}};
  EXPECT_EQ(find_header(h, "HoSt"), "a");
  EXPECT_EQ(count_header(h, "host"), 3u);
  EXPECT_EQ(find_header(h, "Absent"), "");
  EXPECT_EQ(count_header(h, "Absent"), 0u);
  EXPECT_EQ(count_header({}, "Host"), 0u);
}

// The names appear in reports (probe framing in evidence), so they are part of the output.
TEST(BodyFraming, Names) {
  EXPECT_STREQ(to_string(body_framing::none), "none");
  EXPECT_STREQ(to_string(body_framing::content_length), "content-length");
  EXPECT_STREQ(to_string(body_framing::chunked), "chunked");
  EXPECT_STREQ(to_string(body_framing::close_delimited), "close-delimited");
}

TEST(MediaType, CaseAndParametersDoNotCount) {
  EXPECT_EQ(media_type("Text/Event-Stream; charset=utf-8"), "text/event-stream");
  EXPECT_EQ(media_type(" application/x-ndjson ;q=1"), "application/x-ndjson");
  EXPECT_EQ(media_type("application/json"), "application/json");
  EXPECT_EQ(media_type(""), "");
}

} // namespace
} // namespace streamcheck
