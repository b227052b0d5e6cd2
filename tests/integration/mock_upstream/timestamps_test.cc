// The "streamcheck":{"seq","t_us"} stamp of every event against the scenario's schedule and against
// when the client actually read the event. Timing-labelled; the bounds are generous averages (a
// loaded two-core CI box), with a looser bound on the worst event.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "tests/integration/mock_upstream/mock_fixture.h"

namespace streamcheck::test {
namespace {

constexpr double mean_bound_ms = 20.0;
constexpr double worst_bound_ms = 150.0;
// Send-to-arrival minus the stamp: includes accepting the connection and reading the request.
constexpr double transit_bound_ms = 50.0;

class Timestamps : public MockTest {};

TEST_F(Timestamps, FollowTheScheduleAndTheArrivals) {
  constexpr int first_ms = 100, gap_ms = 50, tokens = 20;
  auto c = tcp_client::connect(port());
  ASSERT_TRUE(c);
  const std::string body = generate_body(
      {{"id", "ts"}, {"first_token_ms", first_ms}, {"gap_ms", gap_ms}, {"tokens", tokens}});
  ASSERT_TRUE(
      c->send_all(request_bytes("POST", "/api/generate", "HTTP/1.1", {"Host: 127.0.0.1"}, body)));
  const auto r = read_response(*c, deadline_in(10s));
  ASSERT_TRUE(r.complete) << c->received();
  ASSERT_EQ(r.chunks.size(), static_cast<std::size_t>(tokens + 1));

  std::vector<double> stamp_ms, arrival_ms;
  for (std::size_t k = 0; k < r.chunks.size(); ++k) {
    const json event = json::parse(r.chunks[k], nullptr, false);
    ASSERT_TRUE(event.is_object()) << r.chunks[k];
    ASSERT_EQ(event["streamcheck"]["seq"], k);
    stamp_ms.push_back(event["streamcheck"]["t_us"].get<double>() / 1000.0);
    arrival_ms.push_back(
        ms_between(c->send_began_at(), c->read_holding(r.chunk_end_offsets[k] - 1).at));
  }

  // Transit (arrival - stamp) is constant for a perfect stamp; its spread around the median says
  // how well the stamps describe what the client saw, without a shared clock and without letting
  // one late read (a descheduled client) shift every other event.
  std::vector<double> transits;
  for (std::size_t k = 0; k < stamp_ms.size(); ++k)
    transits.push_back(arrival_ms[k] - stamp_ms[k]);
  std::vector<double> sorted = transits;
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<long>(sorted.size() / 2),
                   sorted.end());
  const double median_transit = sorted[sorted.size() / 2];

  double schedule_sum = 0, schedule_worst = 0, spacing_sum = 0, spacing_worst = 0, transit_sum = 0;
  for (std::size_t k = 0; k < stamp_ms.size(); ++k) {
    const double planned = first_ms + gap_ms * static_cast<double>(k);
    // The mock sleeps until an absolute deadline, so it is never early; lateness is its error.
    EXPECT_GE(stamp_ms[k], planned - 1.0) << "event " << k << " stamped before its time";
    const double late = stamp_ms[k] - planned;
    schedule_sum += late;
    schedule_worst = std::max(schedule_worst, late);
    const double spacing = std::abs(transits[k] - median_transit);
    spacing_sum += spacing;
    spacing_worst = std::max(spacing_worst, spacing);
    // The stamp's zero is after the client began sending, so arrival >= stamp.
    EXPECT_GE(transits[k], -1.0) << "event " << k << " arrived before it was stamped";
    transit_sum += transits[k];
  }
  const double n = static_cast<double>(stamp_ms.size());
  EXPECT_LT(schedule_sum / n, mean_bound_ms);
  EXPECT_LT(schedule_worst, worst_bound_ms);
  EXPECT_LT(spacing_sum / n, mean_bound_ms);
  EXPECT_LT(spacing_worst, worst_bound_ms);
  EXPECT_LT(transit_sum / n, transit_bound_ms);
  RecordProperty("mean_lateness_us", static_cast<int>(schedule_sum / n * 1000));
  RecordProperty("mean_spacing_error_us", static_cast<int>(spacing_sum / n * 1000));
  RecordProperty("mean_transit_us", static_cast<int>(transit_sum / n * 1000));
}

// With a stall the stamps jump by the stall, and the client sees the same jump.
TEST_F(Timestamps, ShowTheStall) {
  auto c = tcp_client::connect(port());
  ASSERT_TRUE(c);
  const std::string body = generate_body(
      {{"first_token_ms", 0}, {"gap_ms", 10}, {"tokens", 6}, {"stall_at", 3}, {"stall_ms", 400}});
  ASSERT_TRUE(
      c->send_all(request_bytes("POST", "/api/generate", "HTTP/1.1", {"Host: 127.0.0.1"}, body)));
  const auto r = read_response(*c, deadline_in(10s));
  ASSERT_TRUE(r.complete) << c->received();
  ASSERT_EQ(r.chunks.size(), 7u);
  auto stamp = [&](std::size_t k) {
    return json::parse(r.chunks[k])["streamcheck"]["t_us"].get<double>() / 1000.0;
  };
  auto arrival = [&](std::size_t k) { return c->read_holding(r.chunk_end_offsets[k] - 1).at; };
  const double stamped_gap = stamp(3) - stamp(2);
  const double seen_gap = ms_between(arrival(2), arrival(3));
  // Token 3 is due at 3 gaps + the stall = 430 ms; token 2 (due at 20 ms) may itself be late.
  EXPECT_GE(stamp(3), 429.0);
  EXPECT_LT(stamp(3), 430.0 + worst_bound_ms);
  EXPECT_GT(stamped_gap, 410.0 - worst_bound_ms);
  EXPECT_NEAR(seen_gap, stamped_gap, 50.0);
}

// stall_at counts content tokens (0 .. tokens-1); stall_at == tokens is past the last one and never
// happens, in the stream as in planned_duration_ms() (which times non-streamed answers).
TEST_F(Timestamps, AStallPastTheLastTokenNeverHappens) {
  auto c = tcp_client::connect(port());
  ASSERT_TRUE(c);
  const std::string body = generate_body(
      {{"first_token_ms", 0}, {"gap_ms", 10}, {"tokens", 3}, {"stall_at", 3}, {"stall_ms", 3000}});
  ASSERT_TRUE(
      c->send_all(request_bytes("POST", "/api/generate", "HTTP/1.1", {"Host: 127.0.0.1"}, body)));
  const auto r = read_response(*c, deadline_in(10s));
  ASSERT_TRUE(r.complete) << c->received();
  ASSERT_EQ(r.chunks.size(), 4u);
  const double last_stamp_ms =
      json::parse(r.chunks.back())["streamcheck"]["t_us"].get<double>() / 1000.0;
  EXPECT_LT(last_stamp_ms, 30.0 + worst_bound_ms);
}

} // namespace
} // namespace streamcheck::test
