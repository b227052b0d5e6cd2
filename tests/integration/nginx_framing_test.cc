// DESIGN §4.1, measured: nginx with default proxy settings talks HTTP/1.0 to the upstream, which
// (like Go) answers close-delimited, and nginx then delivers the whole 1 s stream in one piece at
// the end. With `proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off;` the
// same stream arrives event by event, and so it does with HTTP/1.1 alone (buffering still on),
// because the upstream then answers chunked. A mock that framed its responses differently would
// pass the configuration that fails in production.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "tests/integration/mock_upstream/mock_fixture.h"

namespace streamcheck::test {
namespace {

constexpr int first_ms = 50, gap_ms = 50, tokens = 20; // the last event leaves at ~1050 ms

struct arrival {
  std::vector<double> event_ms; // when each event's last byte was read, from the request's send
  std::size_t body_reads = 0;   // reads that carried body bytes
  double last_burst_share = 0;  // share of body bytes read within 100 ms of the last body read
  double spread() const { return event_ms.empty() ? 0 : event_ms.back() - event_ms.front(); }
};

class NginxFraming : public MockTest {
protected:
  void SetUp() override {
    if (!nginx_available()) GTEST_SKIP() << nginx_binary << " not found (install nginx-light)";
    MockTest::SetUp();
  }

  void start_nginx(const std::string &location_extra) {
    const std::string server_body =
        "location / { proxy_pass http://127.0.0.1:" + std::to_string(port()) + "; " +
        location_extra + "}";
    std::string error;
    nginx_ = nginx_instance::start(server_body, error);
    ASSERT_TRUE(nginx_) << error;
  }

  void TearDown() override {
    if (nginx_) {
      const int st = nginx_->stop();
      EXPECT_EQ(st, 0) << "nginx did not exit cleanly on SIGTERM:\n" << nginx_->error_log();
    }
    MockTest::TearDown();
  }

  // Streams the scenario through nginx and times every event's arrival.
  arrival stream_through_nginx(const std::string &id) {
    arrival a;
    auto c = tcp_client::connect(nginx_->port());
    EXPECT_TRUE(c);
    if (!c) return a;
    const std::string body = generate_body(
        {{"id", id}, {"first_token_ms", first_ms}, {"gap_ms", gap_ms}, {"tokens", tokens}});
    EXPECT_TRUE(c->send_all(request_bytes("POST", "/api/generate", "HTTP/1.1",
                                          {"Host: 127.0.0.1", "Connection: close"}, body)));
    const read_end end = c->read_until_eof(deadline_in(15s));
    EXPECT_EQ(end, read_end::eof) << to_string(end) << "\n" << nginx_->error_log();
    const auto r = parse_http_response(c->received());
    EXPECT_EQ(r.status, 200) << c->received();
    EXPECT_TRUE(r.complete || r.frame == body_framing::close_delimited);

    // Every NDJSON line intact and in order.
    std::size_t line_start = 0, seq = 0;
    for (std::size_t nl = r.body.find('\n'); nl != std::string::npos;
         line_start = nl + 1, nl = r.body.find('\n', line_start)) {
      const json event = json::parse(r.body.substr(line_start, nl - line_start), nullptr, false);
      EXPECT_TRUE(event.is_object()) << r.body.substr(line_start, nl - line_start);
      if (event.is_object()) {
        EXPECT_EQ(event["streamcheck"]["seq"], seq);
      }
      ++seq;
      a.event_ms.push_back(ms_between(c->send_began_at(), c->read_holding(r.raw_offset(nl)).at));
    }
    EXPECT_EQ(seq, static_cast<std::size_t>(tokens + 1)) << r.body;

    // Reads that carried body bytes, and how much of the body came in the final burst.
    const auto &reads = c->reads();
    std::size_t body_bytes = 0, burst_bytes = 0;
    mono_clock::time_point last_body_read{};
    for (const auto &rd : reads)
      if (rd.offset + rd.bytes > r.body_offset) last_body_read = rd.at;
    for (const auto &rd : reads) {
      const std::size_t begin = std::max(rd.offset, r.body_offset);
      if (rd.offset + rd.bytes <= begin) continue;
      ++a.body_reads;
      body_bytes += rd.offset + rd.bytes - begin;
      if (ms_between(rd.at, last_body_read) <= 100.0) burst_bytes += rd.offset + rd.bytes - begin;
    }
    a.last_burst_share =
        body_bytes ? static_cast<double>(burst_bytes) / static_cast<double>(body_bytes) : 0;
    return a;
  }

  static void report(const char *name, const arrival &a) {
    std::printf("[ nginx    ] %s: first event at %.0f ms, last at %.0f ms, spread %.0f ms, "
                "%zu body reads, %.0f%% of the body in the last 100 ms\n",
                name, a.event_ms.empty() ? 0 : a.event_ms.front(),
                a.event_ms.empty() ? 0 : a.event_ms.back(), a.spread(), a.body_reads,
                a.last_burst_share * 100);
    ::testing::Test::RecordProperty("spread_ms", static_cast<int>(a.spread()));
    ::testing::Test::RecordProperty("body_reads", static_cast<int>(a.body_reads));
  }

  std::unique_ptr<nginx_instance> nginx_;
};

TEST_F(NginxFraming, DefaultsDeliverTheStreamInOnePieceAtTheEnd) {
  start_nginx("");
  const arrival a = stream_through_nginx("ngx-default");
  report("defaults", a);
  ASSERT_EQ(a.event_ms.size(), static_cast<std::size_t>(tokens + 1));
  EXPECT_GE(a.event_ms.front(), 900.0) << "the first event came before the stream ended";
  EXPECT_LT(a.spread(), 100.0);
  EXPECT_GE(a.last_burst_share, 0.95);

  const json e = finished_entry("ngx-default");
  ASSERT_TRUE(e.is_object());
  EXPECT_EQ(e["version"], "1.0") << "nginx's default proxy_http_version is 1.0";
  EXPECT_EQ(e["outcome"], "completed");
}

TEST_F(NginxFraming, Http11WithoutBufferingStreamsEventByEvent) {
  start_nginx("proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_buffering off; ");
  const arrival a = stream_through_nginx("ngx-streaming");
  report("http/1.1, buffering off", a);
  ASSERT_EQ(a.event_ms.size(), static_cast<std::size_t>(tokens + 1));
  EXPECT_LT(a.event_ms.front(), 500.0);
  EXPECT_GT(a.spread(), 700.0);
  EXPECT_GE(a.body_reads, 10u);
  EXPECT_LT(a.last_burst_share, 0.5);

  const json e = finished_entry("ngx-streaming");
  ASSERT_TRUE(e.is_object());
  EXPECT_EQ(e["version"], "1.1");
  bool has_connection = false;
  for (const auto &h : e["headers"])
    has_connection = has_connection || h[0] == "Connection";
  EXPECT_FALSE(has_connection) << e["headers"].dump();
}

// The framing, not the buffering, decides: with buffering still on, an HTTP/1.1 upstream answers
// chunked and nginx passes every chunk on as it comes.
TEST_F(NginxFraming, Http11WithBufferingStillStreamsBecauseTheUpstreamIsChunked) {
  start_nginx("proxy_http_version 1.1; proxy_set_header Connection \"\"; ");
  const arrival a = stream_through_nginx("ngx-chunked");
  report("http/1.1, buffering on", a);
  ASSERT_EQ(a.event_ms.size(), static_cast<std::size_t>(tokens + 1));
  EXPECT_LT(a.event_ms.front(), 500.0);
  EXPECT_GT(a.spread(), 700.0);
  EXPECT_GE(a.body_reads, 10u);

  const json e = finished_entry("ngx-chunked");
  ASSERT_TRUE(e.is_object());
  EXPECT_EQ(e["version"], "1.1");
}

} // namespace
} // namespace streamcheck::test
