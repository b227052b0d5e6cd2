// Added delay per event relative to the direct run, and burst detection.
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "harness/timing.h"

namespace streamcheck::harness {
namespace {

parsed_event stamped(std::int64_t emitted_ms, std::int64_t arrival_ms, std::size_t write_index) {
  parsed_event e;
  e.emitted_us = emitted_ms * 1000;
  e.arrival_us = arrival_ms * 1000;
  e.write_index = write_index;
  e.seq = static_cast<int>(write_index);
  return e;
}

// `n` events emitted every `gap_ms`, each in its own read, arriving `lag_ms` after emission.
probe_result steady(int n, int gap_ms, int lag_ms) {
  probe_result r;
  for (int i = 0; i < n; ++i)
    r.events.push_back(stamped(i * gap_ms, i * gap_ms + lag_ms, static_cast<std::size_t>(i)));
  return r;
}

TEST(Percentile, EmptyIsZero) {
  EXPECT_EQ(percentile({}, 50), 0);
}

TEST(Percentile, SingleValue) {
  EXPECT_EQ(percentile({7}, 0), 7);
  EXPECT_EQ(percentile({7}, 95), 7);
  EXPECT_EQ(percentile({7}, 100), 7);
}

TEST(Percentile, InterpolatesLinearlyAndIgnoresInputOrder) {
  EXPECT_DOUBLE_EQ(percentile({4, 1, 3, 2}, 50), 2.5);
  EXPECT_DOUBLE_EQ(percentile({4, 1, 3, 2}, 0), 1);
  EXPECT_DOUBLE_EQ(percentile({4, 1, 3, 2}, 100), 4);
  EXPECT_DOUBLE_EQ(percentile({10, 20}, 25), 12.5);
  std::vector<double> hundred;
  for (int i = 100; i >= 1; --i)
    hundred.push_back(i);
  EXPECT_DOUBLE_EQ(percentile(hundred, 95), 95.05);
  EXPECT_DOUBLE_EQ(percentile(hundred, 50), 50.5);
}

TEST(AddedDelays, NoEventsGivesZeros) {
  const delay_stats s = added_delays(probe_result{}, nullptr, 40);
  EXPECT_EQ(s.events, 0);
  EXPECT_EQ(s.max_ms, 0);
  EXPECT_EQ(s.bursts, 0);
}

TEST(AddedDelays, WithoutBaselineTheAddedDelayIsTheLag) {
  const delay_stats s = added_delays(steady(10, 40, 3), nullptr, 40);
  EXPECT_EQ(s.events, 10);
  EXPECT_DOUBLE_EQ(s.first_ms, 3);
  EXPECT_DOUBLE_EQ(s.p50_ms, 3);
  EXPECT_DOUBLE_EQ(s.p95_ms, 3);
  EXPECT_DOUBLE_EQ(s.max_ms, 3);
  EXPECT_EQ(s.bursts, 0);
  EXPECT_EQ(s.max_events_per_read, 1);
}

TEST(AddedDelays, SubtractsTheMedianBaselineLag) {
  probe_result base = steady(5, 40, 2);
  base.events[4].arrival_us += 50'000; // one slow event in the baseline does not move the median
  const delay_stats s = added_delays(steady(10, 40, 7), &base, 40);
  EXPECT_DOUBLE_EQ(s.first_ms, 5);
  EXPECT_DOUBLE_EQ(s.max_ms, 5);
}

TEST(AddedDelays, ClampsAtZeroWhenFasterThanTheBaseline) {
  const probe_result base = steady(5, 40, 10);
  const delay_stats s = added_delays(steady(5, 40, 4), &base, 40);
  EXPECT_EQ(s.first_ms, 0);
  EXPECT_EQ(s.p95_ms, 0);
  EXPECT_EQ(s.max_ms, 0);
}

TEST(AddedDelays, BaselineWithoutStampsCountsAsNone) {
  probe_result base;
  base.events.push_back(parsed_event{}); // unstamped: emitted_us = -1
  const delay_stats s = added_delays(steady(3, 40, 6), &base, 40);
  EXPECT_DOUBLE_EQ(s.max_ms, 6);
}

TEST(AddedDelays, IgnoresUnstampedEvents) {
  probe_result r = steady(4, 40, 2);
  parsed_event done; // e.g. "[DONE]": no stamp
  done.arrival_us = 10'000'000;
  done.write_index = 99;
  r.events.push_back(done);
  const delay_stats s = added_delays(r, nullptr, 40);
  EXPECT_EQ(s.events, 4);
  EXPECT_DOUBLE_EQ(s.max_ms, 2);
}

TEST(AddedDelays, HeldBackEventsShowAsLateAndAsOneBurst) {
  // Every event emitted 40 ms apart, all released in one read at the end (a buffering proxy).
  probe_result r;
  for (int i = 0; i < 10; ++i)
    r.events.push_back(stamped(i * 40, 400, 0));
  const delay_stats s = added_delays(r, nullptr, 40);
  EXPECT_DOUBLE_EQ(s.first_ms, 400);
  EXPECT_DOUBLE_EQ(s.max_ms, 400);
  EXPECT_DOUBLE_EQ(s.p50_ms, 220);
  EXPECT_EQ(s.bursts, 1);
  EXPECT_EQ(s.max_events_per_read, 10);
}

TEST(AddedDelays, BurstNeedsThreeEventsSpanningTwoGaps) {
  probe_result r;
  // Read 0: three events exactly two gaps apart -> a burst.
  r.events.push_back(stamped(0, 81, 0));
  r.events.push_back(stamped(40, 81, 0));
  r.events.push_back(stamped(80, 81, 0));
  // Read 1: two events far apart -> not a burst (too few).
  r.events.push_back(stamped(200, 401, 1));
  r.events.push_back(stamped(400, 401, 1));
  // Read 2: four events emitted close together (re-framed, not held) -> not a burst.
  for (int i = 0; i < 4; ++i)
    r.events.push_back(stamped(500 + i * 10, 531, 2));
  // Read 3: three events spanning just under two gaps -> not a burst.
  r.events.push_back(stamped(600, 680, 3));
  r.events.push_back(stamped(640, 680, 3));
  r.events.push_back(stamped(679, 680, 3));
  const delay_stats s = added_delays(r, nullptr, 40);
  EXPECT_EQ(s.bursts, 1);
  EXPECT_EQ(s.max_events_per_read, 4);
}

TEST(AddedDelays, BurstsAreCountedPerRead) {
  probe_result r;
  for (std::size_t read = 0; read < 3; ++read)
    for (int i = 0; i < 3; ++i) {
      const auto base = static_cast<std::int64_t>(read) * 1000;
      r.events.push_back(stamped(base + i * 5, base + 11, read));
    }
  EXPECT_EQ(added_delays(r, nullptr, 5).bursts, 3);
  EXPECT_EQ(added_delays(r, nullptr, 6).bursts, 0) << "a longer gap makes the same reads fine";
}

} // namespace
} // namespace streamcheck::harness
