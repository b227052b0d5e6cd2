// What a timing check keeps for the report's timelines: every event's stamps and arrival, how
// each side ended, and when the upstream saw the close (from the mock's journal).
#include <gtest/gtest.h>

#include "harness/timeline.h"

namespace streamcheck::harness {
namespace {

probe_result streamed(const std::string &name, int events, std::int64_t lag_us) {
  probe_result r;
  r.name = name;
  r.started = true;
  r.status = 200;
  r.headers_us = 1'000;
  for (int k = 0; k < events; ++k) {
    parsed_event e;
    e.seq = k;
    e.emitted_us = 40'000 * k;
    e.arrival_us = 40'000 * k + lag_us;
    r.events.push_back(e);
  }
  r.finished_us = 40'000 * events + lag_us;
  return r;
}

TEST(Timeline, EventsOfBothTargetsWithTheirStampsAndArrivals) {
  observations proxied, direct;
  proxied.probes = {streamed("stream", 3, 800'000)};
  direct.probes = {streamed("stream", 3, 500)};
  proxied.journal = {{journal_entry{.outcome = stream_end::completed, .ended_us = 120'000}}};
  const auto t = record_timelines(proxied, direct, 3);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].probe, "stream");
  ASSERT_EQ(t[0].proxied.events.size(), 3u);
  EXPECT_EQ(t[0].proxied.events[2].seq, 2);
  EXPECT_DOUBLE_EQ(t[0].proxied.events[2].emitted_ms, 80.0);
  EXPECT_DOUBLE_EQ(t[0].proxied.events[2].arrival_ms, 880.0);
  EXPECT_DOUBLE_EQ(t[0].direct.events[1].arrival_ms, 40.5);
  EXPECT_EQ(t[0].proxied.ended, "complete");
  EXPECT_DOUBLE_EQ(t[0].proxied.headers_ms, 1.0);
  EXPECT_DOUBLE_EQ(t[0].proxied.upstream_closed_ms, 120.0);
  EXPECT_EQ(t[0].proxied.upstream_outcome, "completed");
  EXPECT_EQ(t[0].direct.upstream_outcome, ""); // no journal entry: never seen upstream
  EXPECT_DOUBLE_EQ(t[0].direct.upstream_closed_ms, -1);
}

TEST(Timeline, CancellationKeepsWhenTheClientLeftAndWhenTheUpstreamSawIt) {
  observations proxied, direct;
  probe_result r = streamed("stream", 5, 1'000);
  r.aborted = true;
  r.aborted_us = 201'000;
  proxied.probes = {r};
  proxied.journal = {{journal_entry{
      .outcome = stream_end::peer_closed, .ended_us = 900'000, .peer_closed_us = 260'000}}};
  const auto t = record_timelines(proxied, direct, 3);
  EXPECT_EQ(t[0].proxied.ended, "closed by the client");
  EXPECT_DOUBLE_EQ(t[0].proxied.client_closed_ms, 201.0);
  EXPECT_DOUBLE_EQ(t[0].proxied.upstream_closed_ms, 260.0); // the close, not the end
  EXPECT_FALSE(t[0].direct.present);
}

TEST(Timeline, CutStreamNamesTheTransportError) {
  observations proxied, direct;
  probe_result r = streamed("stream", 2, 1'000);
  r.curl_code = 18;
  r.curl_error = "transfer closed with outstanding read data remaining";
  proxied.probes = {r};
  EXPECT_EQ(record_timelines(proxied, direct, 3)[0].proxied.ended,
            "transfer closed with outstanding read data remaining");
}

TEST(Timeline, AtMostTheGivenNumberOfProbes) {
  observations proxied, direct;
  for (int k = 0; k < 32; ++k)
    proxied.probes.push_back(streamed("s" + std::to_string(k), 1, 0));
  const auto t = record_timelines(proxied, direct, 3);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[2].probe, "s2");
}

} // namespace
} // namespace streamcheck::harness
