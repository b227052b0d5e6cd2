// The mock notices a client that leaves while it is silent (during a stall, before the first
// token), as Go's background read does, and journals when. The in-process mock shares the test's
// monotonic clock, so the journal's time of noticing is compared with the client's close directly.
// Timing-labelled; bounds are generous (the notice is event-driven, typically well under 5 ms).
#include <gtest/gtest.h>

#include <thread>

#include "tests/integration/mock_upstream/mock_fixture.h"

namespace streamcheck::test {
namespace {

// Noticed within this long of the close (the design goal is "promptly"; 100 ms on a quiet box).
constexpr double notice_bound_ms = 250.0;

class PeerClose : public MockTest {
protected:
  // Milliseconds from the client's close to the mock noticing it, per the journal.
  static double notice_delay_ms(const json &e, mono_clock::time_point closed_at) {
    const std::int64_t noticed_us = e["received_us"].get<std::int64_t>() +
                                    e["body_us"].get<std::int64_t>() +
                                    e["peer_closed_us"].get<std::int64_t>();
    return static_cast<double>(noticed_us - to_monotonic_us(closed_at)) / 1000.0;
  }

  // Starts a stream that stalls for 5 s after three tokens; returns once the three arrived.
  tcp_client stalled_stream(const std::string &id) {
    auto c = tcp_client::connect(port());
    EXPECT_TRUE(c);
    const std::string body = generate_body({{"id", id},
                                            {"first_token_ms", 0},
                                            {"gap_ms", 10},
                                            {"tokens", 10},
                                            {"stall_at", 3},
                                            {"stall_ms", 5000}});
    EXPECT_TRUE(
        c->send_all(request_bytes("POST", "/api/generate", "HTTP/1.1", {"Host: 127.0.0.1"}, body)));
    EXPECT_EQ(c->read_until(
                  [](std::string_view raw) { return parse_http_response(raw).chunks.size() >= 3; },
                  deadline_in(5s)),
              read_end::open);
    return std::move(*c);
  }

  void expect_noticed(const std::string &id, mono_clock::time_point closed_at, int events) {
    // Well before the stall would end (5 s): a mock that only noticed on its next write fails.
    const json e = finished_entry(id, closed_at + 2s);
    ASSERT_TRUE(e.is_object());
    ASSERT_EQ(e["outcome"], "peer_closed") << e.dump();
    EXPECT_EQ(e["events_sent"], events);
    ASSERT_GE(e["peer_closed_us"].get<std::int64_t>(), 0);
    const double delay = notice_delay_ms(e, closed_at);
    EXPECT_GE(delay, 0.0) << "noticed before the close began?";
    EXPECT_LT(delay, notice_bound_ms);
    EXPECT_LT(e["ended_us"].get<std::int64_t>() - e["peer_closed_us"].get<std::int64_t>(),
              static_cast<std::int64_t>(notice_bound_ms * 1000));
    RecordProperty("notice_delay_us", static_cast<int>(delay * 1000));
  }
};

TEST_F(PeerClose, FinDuringAStallIsNoticedPromptly) {
  auto c = stalled_stream("stall-fin");
  std::this_thread::sleep_for(100ms); // well inside the stall
  c.close();
  expect_noticed("stall-fin", c.closed_at(), 3);
}

TEST_F(PeerClose, ResetDuringAStallIsNoticedPromptly) {
  auto c = stalled_stream("stall-rst");
  std::this_thread::sleep_for(100ms);
  c.close_with_reset();
  expect_noticed("stall-rst", c.closed_at(), 3);
}

// A half-close (FIN, still reading) counts as gone, as in Go, whose background read sees EOF.
TEST_F(PeerClose, HalfCloseDuringAStallIsNoticedPromptly) {
  auto c = stalled_stream("stall-half");
  std::this_thread::sleep_for(100ms);
  const auto half_closed_at = mono_clock::now();
  c.shutdown_write();
  expect_noticed("stall-half", half_closed_at, 3);
}

TEST_F(PeerClose, CloseBeforeTheFirstTokenIsNoticedPromptly) {
  auto c = tcp_client::connect(port());
  ASSERT_TRUE(c);
  const std::string body = generate_body({{"id", "early"}, {"first_token_ms", 5000}});
  ASSERT_TRUE(
      c->send_all(request_bytes("POST", "/api/generate", "HTTP/1.1", {"Host: 127.0.0.1"}, body)));
  // Close once the mock holds the request (journaled, in progress).
  const auto until = deadline_in(5s);
  while (journal("early").empty() && mono_clock::now() < until)
    std::this_thread::sleep_for(5ms);
  ASSERT_EQ(journal("early").size(), 1u);
  c->close();
  expect_noticed("early", c->closed_at(), 0);
  EXPECT_EQ(journal("early")[0]["head_sent_us"], -1);
  EXPECT_EQ(c->received(), "");
}

} // namespace
} // namespace streamcheck::test
