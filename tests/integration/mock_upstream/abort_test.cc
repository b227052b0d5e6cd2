// Scripted aborts as a client sees them: FIN is a clean EOF without the terminating chunk, RST is
// ECONNRESET. Over HTTP/1.0 a FIN abort looks like a normal end, only the missing done line shows.
#include <gtest/gtest.h>

#include "tests/integration/mock_upstream/mock_fixture.h"

namespace streamcheck::test {
namespace {

class Abort : public MockTest {
protected:
  tcp_client stream(const std::string &id, const std::string &how, std::string_view version) {
    auto c = tcp_client::connect(port());
    EXPECT_TRUE(c);
    const std::string body = generate_body({{"id", id},
                                            {"first_token_ms", 0},
                                            {"gap_ms", 10},
                                            {"tokens", 10},
                                            {"abort_after", 3},
                                            {"abort", how}});
    EXPECT_TRUE(
        c->send_all(request_bytes("POST", "/api/generate", version, {"Host: 127.0.0.1"}, body)));
    return std::move(*c);
  }
};

TEST_F(Abort, FinEndsTheChunkedStreamWithoutItsLastChunk) {
  auto c = stream("fin", "fin", "HTTP/1.1");
  ASSERT_EQ(c.read_until_eof(deadline_in(5s)), read_end::eof) << to_string(read_end::eof);
  const auto r = parse_http_response(c.received());
  EXPECT_EQ(r.frame, body_framing::chunked);
  EXPECT_EQ(r.chunks.size(), 3u);
  EXPECT_FALSE(r.complete) << "a FIN abort must not carry the zero-length chunk";
  EXPECT_EQ(c.received().find("0\r\n\r\n"), std::string::npos);

  const json e = finished_entry("fin");
  ASSERT_TRUE(e.is_object());
  EXPECT_EQ(e["outcome"], "aborted_fin");
  EXPECT_EQ(e["events_sent"], 3);
}

TEST_F(Abort, RstIsAConnectionReset) {
  auto c = stream("rst", "rst", "HTTP/1.1");
  // Wait for the three tokens first: a reset may discard data the client has not read yet.
  ASSERT_EQ(
      c.read_until([](std::string_view raw) { return parse_http_response(raw).chunks.size() >= 3; },
                   deadline_in(5s)),
      read_end::open)
      << c.received();
  const read_end end = c.read_until_eof(deadline_in(5s));
  EXPECT_EQ(end, read_end::reset) << to_string(end) << " errno " << c.last_errno();
  const auto r = parse_http_response(c.received());
  EXPECT_EQ(r.chunks.size(), 3u);
  EXPECT_FALSE(r.complete);

  const json e = finished_entry("rst");
  ASSERT_TRUE(e.is_object());
  EXPECT_EQ(e["outcome"], "aborted_rst");
  EXPECT_EQ(e["events_sent"], 3);
}

TEST_F(Abort, FinOverHttp10LooksLikeAnEndButLacksTheDoneLine) {
  auto c = stream("fin10", "fin", "HTTP/1.0");
  ASSERT_EQ(c.read_until_eof(deadline_in(5s)), read_end::eof);
  const auto r = parse_http_response(c.received());
  EXPECT_EQ(r.frame, body_framing::close_delimited);
  const auto lines = ndjson_lines(r.body);
  ASSERT_EQ(lines.size(), 3u) << r.body;
  for (const auto &line : lines)
    EXPECT_EQ(line["done"], false);
  const json e = finished_entry("fin10");
  ASSERT_TRUE(e.is_object());
  EXPECT_EQ(e["outcome"], "aborted_fin");
}

} // namespace
} // namespace streamcheck::test
