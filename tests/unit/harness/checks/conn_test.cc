// conn.*: connections are reused and many streams run at once.
#include <gtest/gtest.h>

#include "harness/runner.h"
#include "tests/unit/harness/checks/synthetic.h"

namespace streamcheck::harness {
namespace {

using namespace synthetic;

TEST(Keepalive, ScenarioIsTwoStreamsInARowInOnePool) {
  const auto specs = specs_of("conn.keepalive");
  const auto &first = spec_named(specs, "first");
  const auto &second = spec_named(specs, "second");
  EXPECT_EQ(second.after_probe, "first");
  EXPECT_FALSE(first.connection_pool.empty());
  EXPECT_EQ(first.connection_pool, second.connection_pool);
}

TEST(Keepalive, NewConnectionForTheSecondStreamWarns) {
  run r("conn.keepalive");
  auto &second = r.probe("second");
  second.reused_connection = false;
  second.local_port = r.probe("first").local_port + 1;
  r.probe("first").header_lines.push_back("Connection: close");
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.expected, "the second request on the same connection");
  EXPECT_EQ(v.actual, "a new connection (first response chunked, Connection: close)");
  EXPECT_EQ(v.cause, "the proxy closes the client connection after each stream");
  EXPECT_EQ(v.measurements["second_reused"], false);
  EXPECT_EQ(judge_check(r.c, ctx(), r.direct, r.proxied, false, "nginx").result, outcome::warn);
}

TEST(Keepalive, CloseDelimitedFirstResponseIsNamed) {
  // chunked_transfer_encoding off: the first stream can only end by closing the connection.
  run r("conn.keepalive");
  r.probe("first").framing = body_framing::close_delimited;
  r.probe("second").reused_connection = false;
  EXPECT_EQ(r.judge().actual, "a new connection (first response close-delimited)");
}

TEST(Keepalive, AFailedStreamIsInconclusive) {
  run r("conn.keepalive");
  r.probe("first").status = 502;
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_TRUE(v.inconclusive) << "reuse cannot be seen without two complete streams";
  EXPECT_EQ(v.actual, "two complete streams to compare connections (got HTTP 502)");
  journal_in(r.proxied, "second").clear();
  EXPECT_TRUE(r.judge().inconclusive);
}

check_context over_http2() {
  check_context c = ctx();
  c.http2 = true;
  return c;
}

// Over h2 the two streams overlap on one connection, as a page's requests do.
observations multiplexed(const check &c, const check_context &h2, bool one_connection) {
  observations o = kept_alive(c.probes(h2), proxy_lag_us);
  probe_in(o, "first").finished_us = 700'000;
  probe_in(o, "second").sent_mono_us = probe_in(o, "first").sent_mono_us + 300'000;
  for (auto &p : o.probes) {
    p.http_version = "2";
    p.url = "https://127.0.0.1:8443/api/chat";
  }
  if (!one_connection) probe_in(o, "second").local_port = probe_in(o, "first").local_port + 1;
  return o;
}

TEST(Keepalive, OverHttp2TheSecondStreamStartsWhileTheFirstRuns) {
  const auto specs = by_id("conn.keepalive").probes(over_http2());
  const auto &second = spec_named(specs, "second");
  EXPECT_TRUE(second.after_probe.empty());
  EXPECT_GT(second.start_after_ms, 0);
  EXPECT_EQ(spec_named(specs, "first").connection_pool, second.connection_pool);
}

TEST(Keepalive, OverHttp2OneConnectionPassesASecondOneWarns) {
  const check &c = by_id("conn.keepalive");
  const check_context h2 = over_http2();
  verdict v = c.judge(multiplexed(c, h2, true), h2);
  EXPECT_TRUE(v.passed) << v.actual;
  EXPECT_EQ(v.measured, "both streams at once on one HTTP/2 connection");
  v = c.judge(multiplexed(c, h2, false), h2);
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.actual, "the second stream needed a connection of its own");
  EXPECT_NE(v.cause.find("SETTINGS_MAX_CONCURRENT_STREAMS 1"), std::string::npos) << v.cause;
}

TEST(Keepalive, OverHttp2StreamsThatDidNotOverlapAreInconclusive) {
  const check &c = by_id("conn.keepalive");
  const check_context h2 = over_http2();
  observations o = multiplexed(c, h2, false);
  probe_in(o, "first").finished_us = 100'000; // ended before the second began
  EXPECT_TRUE(c.judge(o, h2).inconclusive);
}

TEST(Keepalive, OverH2cItIsSkippedWithTheReason) {
  const check &c = by_id("conn.keepalive");
  const check_context h2 = over_http2();
  observations o = multiplexed(c, h2, false);
  for (auto &p : o.probes)
    p.url = "http://127.0.0.1:8080/api/chat";
  const verdict v = c.judge(o, h2);
  EXPECT_TRUE(v.skipped);
  EXPECT_NE(v.measured.find("h2c"), std::string::npos) << v.measured;
}

TEST(UpstreamKeepalive, ReportsVersionAndReuse) {
  run r("conn.upstream-keepalive");
  EXPECT_EQ(r.judge().measured, "HTTP/1.1, connection reused");
  journal_in(r.proxied, "second").back().connection = 2;
  for (const char *name : {"first", "second"})
    journal_in(r.proxied, name).back().version = "1.0";
  const verdict v = r.judge();
  EXPECT_EQ(v.measured, "HTTP/1.0, new connection per request");
  EXPECT_EQ(v.measurements["reused"], false);
  EXPECT_EQ(judge_check(r.c, ctx(), r.direct, r.proxied, true, "nginx").result, outcome::pass);
}

TEST(ConcurrentStreams, ScenarioRunsTheProfilesNumberAtOnceAfterOneAlone) {
  const auto specs = specs_of("conn.concurrent-streams");
  const int n = ctx().prof.concurrent_streams;
  ASSERT_EQ(specs.size(), static_cast<std::size_t>(n) + 1);
  for (int i = 0; i < n; ++i) {
    const auto &s = spec_named(specs, "s" + std::to_string(i));
    EXPECT_EQ(s.start_after_ms, specs.front().start_after_ms) << s.name;
    EXPECT_TRUE(s.after_probe.empty()) << s.name;
  }
  // The lone stream is stream.no-coalescing.ndjson's request, over before the load begins.
  const auto &alone = spec_named(specs, "alone");
  const auto &ndjson = spec_named(specs_of("stream.no-coalescing.ndjson"), "stream");
  EXPECT_EQ(alone.path, ndjson.path);
  EXPECT_EQ(alone.body, ndjson.body);
  const auto lone = scenario_of(alone);
  EXPECT_LT(alone.start_after_ms + lone.first_token_ms + lone.gap_ms * lone.tokens,
            specs.front().start_after_ms);
}

TEST(ConcurrentStreams, OneIncompleteStreamFails) {
  run r("conn.concurrent-streams");
  auto &p = r.probe("s7");
  p.events.resize(10);
  p.curl_code = 18;
  p.curl_error = "Transfer closed with outstanding read data remaining";
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.expected, "all 32 streams complete");
  EXPECT_EQ(v.actual, "31/32 complete, worst event jitter 0.0 ms (s7: curl: Transfer closed with "
                      "outstanding read data remaining (after HTTP 200), 10 events)");
  EXPECT_EQ(v.cause, "the proxy runs out of connections or file descriptors");
  EXPECT_EQ(v.measurements["complete"].get<int>(), 31);
}

TEST(ConcurrentStreams, RefusedAndMissingStreamsFail) {
  run r("conn.concurrent-streams");
  r.probe("s3") = answered(spec_named(specs_of("conn.concurrent-streams"), "s3"), 502, "text/html");
  EXPECT_EQ(r.judge().actual, "31/32 complete, worst event jitter 0.0 ms (s3: HTTP 502, 0 events)");
  run lost("conn.concurrent-streams");
  // s31, declared just before the lone stream.
  const auto last = static_cast<std::ptrdiff_t>(ctx().prof.concurrent_streams) - 1;
  lost.proxied.probes.erase(lost.proxied.probes.begin() + last);
  lost.proxied.journal.erase(lost.proxied.journal.begin() + last);
  EXPECT_EQ(lost.judge().actual,
            "31/32 complete, worst event jitter 0.0 ms (s31: not sent, 0 events)");
}

TEST(ConcurrentStreams, OneCoalescedStreamFails) {
  // Ten events (450 ms of emissions) released in one read: buffered, even though each stream is
  // only compared with itself.
  run r("conn.concurrent-streams");
  release_together(r.probe("s5"), 10);
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.expected, "no event held back > 250.0 ms to be released with later ones");
  EXPECT_EQ(v.actual, "s5: events emitted 450.0 ms apart arrived in one read");
  EXPECT_EQ(v.cause, "the proxy coalesces events under load");
  EXPECT_DOUBLE_EQ(v.measurements["max_held_back_ms"].get<double>(), 450);
}

TEST(ConcurrentStreams, AFullyBufferedStreamFails) {
  run r("conn.concurrent-streams");
  release_together(r.probe("s0"), r.probe("s0").events.size());
  EXPECT_EQ(r.judge().actual, "s0: events emitted 1000.0 ms apart arrived in one read");
}

TEST(ConcurrentStreams, PairsAndAConstantOffsetPass) {
  // Two events per read (one gap held back) and a stream that started 200 ms late are fine.
  run r("conn.concurrent-streams");
  release_together(r.probe("s1"), 2);
  delay_all(r.probe("s2"), 200'000);
  const verdict v = r.judge();
  EXPECT_TRUE(v.passed) << v.actual;
  EXPECT_EQ(v.measured, "32/32 complete, worst event jitter 50.0 ms");
}

// HAProxy's ~200 ms hold of every small write, in every concurrent stream and (alone_too) in the
// lone one.
void hold_every_stream(run &r, bool alone_too = true) {
  if (alone_too) release_together(r.probe("alone"), 5);
  for (int i = 0; i < ctx().prof.concurrent_streams; ++i)
    release_together(r.probe("s" + std::to_string(i)), 4);
}

TEST(ConcurrentStreams, ALoneStreamHeldIsInconclusiveBlockedByNoCoalescing) {
  // Whatever the concurrent streams' jitter drew (either side of the bounds), the hold of a
  // single stream explains it: never a pass, never a fail of its own.
  run r("conn.concurrent-streams");
  hold_every_stream(r);
  const verdict v = r.judge();
  EXPECT_TRUE(v.inconclusive) << v.actual;
  EXPECT_EQ(v.blocked_by, "stream.no-coalescing.ndjson");
  EXPECT_EQ(v.actual.rfind("what many streams at once add: a lone stream's events were already "
                           "held (p95 added ",
                           0),
            0u)
      << v.actual;
  EXPECT_TRUE(v.measurements.contains("alone"));
  run calm("conn.concurrent-streams");
  release_together(calm.probe("alone"), 5);
  EXPECT_TRUE(calm.judge().inconclusive) << "a pass would say none coalesced";
  const check_result cr = judge_check(r.c, ctx(), r.direct, r.proxied, false, "haproxy");
  EXPECT_EQ(cr.result, outcome::inconclusive);
  EXPECT_EQ(cr.blocked_by, "stream.no-coalescing.ndjson");
  EXPECT_TRUE(cr.fix.empty());
}

TEST(ConcurrentStreams, StreamsHeldOnlyUnderLoadFail) {
  // The lone stream keeps its spacing: the hold is the load's, the check's own fault.
  run r("conn.concurrent-streams");
  hold_every_stream(r, false);
  release_together(r.probe("s9"), 10);
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_FALSE(v.inconclusive);
  EXPECT_EQ(v.cause, "the proxy coalesces events under load");
}

TEST(ConcurrentStreams, RefusedStreamsFailEvenWhenALoneStreamIsHeld) {
  // Running out of connections is seen whatever the spacing: no hold explains a refused stream.
  run r("conn.concurrent-streams");
  hold_every_stream(r);
  r.probe("s3") = answered(spec_named(specs_of("conn.concurrent-streams"), "s3"), 502, "text/html");
  const verdict v = r.judge();
  EXPECT_FALSE(v.inconclusive);
  EXPECT_EQ(v.cause, "the proxy runs out of connections or file descriptors");
}

TEST(ConcurrentStreams, ALoneStreamThatFailedOtherwiseBlocksNothing) {
  // A lone stream the proxy refused says nothing about holding: the concurrent streams judge.
  run r("conn.concurrent-streams");
  r.probe("alone") =
      answered(spec_named(specs_of("conn.concurrent-streams"), "alone"), 502, "text/html");
  EXPECT_TRUE(r.judge().passed) << r.judge().actual;
  release_together(r.probe("s5"), 10);
  EXPECT_EQ(r.judge().cause, "the proxy coalesces events under load");
}

TEST(ConcurrentStreams, AllStreamsJitteringFails) {
  run r("conn.concurrent-streams");
  for (int i = 0; i < ctx().prof.concurrent_streams; ++i) {
    auto &events = r.probe("s" + std::to_string(i)).events;
    for (std::size_t k = 0; k < events.size(); k += 3)
      events[k].arrival_us += 150'000; // every third event late, each in its own read
  }
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.expected, "per-stream jitter p95 <= 100.0 ms, max <= 500.0 ms");
  EXPECT_EQ(v.cause, "the proxy coalesces events under load");
}

} // namespace
} // namespace streamcheck::harness
