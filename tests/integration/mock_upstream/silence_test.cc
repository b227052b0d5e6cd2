// "No byte, not even the status line, before the first token" (DESIGN §3): a client sees nothing
// for first_token_ms, then the head and the first event together. Timing-labelled; the bounds are
// generous for a loaded two-core machine.
#include <gtest/gtest.h>

#include "tests/integration/mock_upstream/mock_fixture.h"

namespace streamcheck::test {
namespace {

class Silence : public MockTest {};

TEST_F(Silence, NothingArrivesBeforeTheFirstToken) {
  auto c = tcp_client::connect(port());
  ASSERT_TRUE(c);
  const std::string body =
      generate_body({{"id", "quiet"}, {"first_token_ms", 300}, {"gap_ms", 10}, {"tokens", 2}});
  ASSERT_TRUE(
      c->send_all(request_bytes("POST", "/api/generate", "HTTP/1.1", {"Host: 127.0.0.1"}, body)));
  ASSERT_EQ(c->read_until_size(1, deadline_in(5s)), read_end::open);
  const auto &first = c->reads().front();
  const double silent_ms = ms_between(c->send_began_at(), first.at);
  // The mock's clock starts after it read the request, so this cannot be below 300 ms.
  EXPECT_GE(silent_ms, 299.0);
  EXPECT_LT(silent_ms, 1300.0);

  const auto r = read_response(*c, deadline_in(5s));
  ASSERT_TRUE(r.complete) << c->received();
  ASSERT_EQ(r.chunks.size(), 3u);
  // Head and first event left in one write, so the first read holds both.
  EXPECT_LE(r.chunk_end_offsets[0], first.offset + first.bytes)
      << "the status line arrived before the first token";

  const json e = finished_entry("quiet");
  ASSERT_TRUE(e.is_object());
  EXPECT_GE(e["head_sent_us"].get<std::int64_t>(), 300'000);
  EXPECT_LT(e["head_sent_us"].get<std::int64_t>(), 1'300'000);
}

TEST_F(Silence, Http10HeadWaitsForTheFirstTokenToo) {
  auto c = tcp_client::connect(port());
  ASSERT_TRUE(c);
  const std::string body = generate_body({{"first_token_ms", 300}, {"gap_ms", 10}, {"tokens", 2}});
  ASSERT_TRUE(
      c->send_all(request_bytes("POST", "/api/generate", "HTTP/1.0", {"Host: 127.0.0.1"}, body)));
  ASSERT_EQ(c->read_until_eof(deadline_in(5s)), read_end::eof);
  ASSERT_FALSE(c->reads().empty());
  EXPECT_GE(ms_between(c->send_began_at(), c->reads().front().at), 299.0);
  const auto r = parse_http_response(c->received());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(ndjson_lines(r.body).size(), 3u);
}

// A non-streamed generation is silent for the whole planned duration, then one whole body.
TEST_F(Silence, NonStreamedGenerationIsSilentUntilItIsDone) {
  auto c = tcp_client::connect(port());
  ASSERT_TRUE(c);
  json body = json::parse(
      generate_body({{"id", "whole"}, {"first_token_ms", 200}, {"gap_ms", 20}, {"tokens", 5}}));
  body["stream"] = false;
  ASSERT_TRUE(c->send_all(
      request_bytes("POST", "/api/generate", "HTTP/1.1", {"Host: 127.0.0.1"}, body.dump())));
  const auto r = read_response(*c, deadline_in(5s));
  ASSERT_TRUE(r.complete) << c->received();
  EXPECT_EQ(r.frame, body_framing::content_length);
  EXPECT_EQ(json::parse(r.body, nullptr, false)["done"], true) << r.body;
  // 200 ms + 5 gaps of 20 ms before the end of generation.
  EXPECT_GE(ms_between(c->send_began_at(), c->reads().front().at), 299.0);
}

} // namespace
} // namespace streamcheck::test
