// stream.*: tokens arrive as the upstream emits them, unbuffered and unaltered.
#include <gtest/gtest.h>

#include "harness/runner.h"
#include "tests/unit/harness/checks/synthetic.h"

namespace streamcheck::harness {
namespace {

using namespace synthetic;

TEST(FirstToken, FirstEventHeld900MsFails) {
  run r("stream.first-token");
  delay_all(r.probe("stream"), 898'000); // + the 2 ms the proxy adds anyway
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.actual, "first event 900.0 ms late");
  EXPECT_EQ(v.expected, "first event <= 100.0 ms after emission");
  EXPECT_DOUBLE_EQ(v.measurements["first_added_ms"].get<double>(), 900);
  EXPECT_NE(v.cause.find("buffer"), std::string::npos);
}

TEST(FirstToken, WholeStreamReleasedAtTheEndFails) {
  run r("stream.first-token");
  release_together(r.probe("stream"), r.probe("stream").events.size());
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_NE(v.actual.find("late"), std::string::npos);
}

TEST(FirstToken, JustInsideTheBoundPasses) {
  run r("stream.first-token");
  delay_all(r.probe("stream"), 98'000); // 100 ms added with the 2 ms proxy lag over direct
  EXPECT_TRUE(r.judge().passed);
  delay_all(r.probe("stream"), 1'000);
  EXPECT_FALSE(r.judge().passed);
}

TEST(FirstToken, ToleranceMultiplierScalesTheBound) {
  run r("stream.first-token");
  delay_all(r.probe("stream"), 900'000);
  r.proxied.baseline = &r.direct;
  const check_context slow{ctx().prof, tolerances{10}};
  EXPECT_TRUE(r.c.judge(r.proxied, slow).passed);
}

TEST(FirstToken, ErrorStatusAndNoEventsFail) {
  run r("stream.first-token");
  r.probe("stream").status = 502;
  EXPECT_EQ(r.judge().actual, "HTTP 502");
  run empty("stream.first-token");
  empty.probe("stream").events.clear();
  EXPECT_FALSE(empty.judge().passed);
}

TEST(FirstToken, UnstampedEventsCannotShowTheFirstToken) {
  // A body rewriter that strips the mock's stamps leaves nothing to measure: not a pass.
  run r("stream.first-token");
  for (auto &e : r.probe("stream").events)
    e.emitted_us = -1;
  EXPECT_FALSE(r.judge().passed);
}

// --- stream.no-coalescing.* / compressed-client / large-response --------------------------------

class Spacing : public ::testing::TestWithParam<std::string> {};

TEST_P(Spacing, EventsReleasedTogetherFail) {
  run r(GetParam());
  // Enough events per read that the first of each waited over 100 ms.
  const int gap = scenario_of(spec_named(specs_of(GetParam()), "stream")).gap_ms;
  const auto group = static_cast<std::size_t>(std::max(10, 100 / gap + 2));
  release_together(r.probe("stream"), group);
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_NE(v.actual.find("released together"), std::string::npos) << v.actual;
  EXPECT_NE(v.expected.find("p95 <= 50.0 ms"), std::string::npos) << v.expected;
  EXPECT_GT(v.measurements["bursts"].get<int>(), 0);
  EXPECT_EQ(v.measurements["max_events_per_read"].get<std::size_t>(), group);
}

TEST_P(Spacing, OneLateEventFailsOnMax) {
  run r(GetParam());
  auto &events = r.probe("stream").events;
  events[events.size() / 2].arrival_us += 298'000; // + the 2 ms the proxy adds anyway
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_NE(v.actual.find("max 300.0 ms"), std::string::npos) << v.actual;
}

TEST_P(Spacing, DroppedEventFails) {
  run r(GetParam());
  auto &events = r.probe("stream").events;
  events.pop_back();
  const int want = expected_events(spec_named(specs_of(GetParam()), "stream"));
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.expected, std::to_string(want) + " stamped events");
  EXPECT_NE(v.actual.find(std::to_string(want - 1) + " events"), std::string::npos) << v.actual;
}

TEST_P(Spacing, ErrorStatusOrCutStreamFails) {
  run r(GetParam());
  r.probe("stream").status = 502;
  EXPECT_EQ(r.judge().actual, "HTTP 502");
  run cut(GetParam());
  cut.probe("stream").curl_code = 18;
  cut.probe("stream").curl_error = "Transfer closed with outstanding read data remaining";
  EXPECT_EQ(cut.judge().actual,
            "curl: Transfer closed with outstanding read data remaining (after HTTP 200)");
}

TEST_P(Spacing, DelayIsRelativeToTheDirectRun) {
  // 62 ms of lag is a slow machine when the mock directly shows 58 ms; alone, it is too late.
  run r(GetParam());
  for (auto *o : {&r.direct, &r.proxied})
    for (auto &e : probe_in(*o, "stream").events)
      e.arrival_us += o == &r.direct ? 57'000 : 57'000 + 2'000;
  EXPECT_TRUE(r.judge().passed);
  r.proxied.baseline = nullptr;
  EXPECT_FALSE(r.c.judge(r.proxied, ctx()).passed);
}

TEST_P(Spacing, ReframedButOnTimePasses) {
  // Two events per read, each read as soon as its second event was emitted: spacing kept.
  run r(GetParam());
  release_together(r.probe("stream"), 2);
  const int gap = scenario_of(spec_named(specs_of(GetParam()), "stream")).gap_ms;
  ASSERT_LT(gap, 50) << "one gap of hold-back must stay within the bounds";
  const verdict v = r.judge();
  EXPECT_TRUE(v.passed) << v.actual;
}

INSTANTIATE_TEST_SUITE_P(Checks, Spacing,
                         ::testing::Values("stream.no-coalescing.ndjson",
                                           "stream.no-coalescing.sse", "stream.compressed-client",
                                           "stream.large-response"),
                         test_name);

TEST(NoCoalescingSse, TheMockAnswersItsRequestWithAnSseStream) {
  // The pair tests the two stream formats a proxy may treat differently: each request must be
  // one the real mock answers in its format (a wrong route, a missing "stream": true, a body the
  // mock refuses would quietly test something else).
  const mock::plan sse = mock_plan_for(spec_named(specs_of("stream.no-coalescing.sse"), "stream"));
  const auto *sse_stream = std::get_if<mock::stream_response>(&sse.response);
  ASSERT_NE(sse_stream, nullptr) << "the mock does not stream the SSE check's request";
  EXPECT_EQ(sse_stream->ctx.kind, mock::stream_kind::sse_chat);
  const mock::plan ndjson =
      mock_plan_for(spec_named(specs_of("stream.no-coalescing.ndjson"), "stream"));
  const auto *ndjson_stream = std::get_if<mock::stream_response>(&ndjson.response);
  ASSERT_NE(ndjson_stream, nullptr) << "the mock does not stream the NDJSON check's request";
  EXPECT_EQ(ndjson_stream->ctx.kind, mock::stream_kind::ndjson_chat);
}

TEST(LargeResponse, BufferSizedBurstsFailEvenWithSmallDelays) {
  // Reads of 3 events emitted 2 gaps apart: each delay is tiny at a 5 ms gap, but they are bursts.
  run r("stream.large-response");
  const int gap = scenario_of(spec_named(specs_of("stream.large-response"), "stream")).gap_ms;
  ASSERT_LE(gap, 10) << "the scenario changed; this test assumes a short gap";
  auto &p = r.probe("stream");
  release_together(p, 3, 0, 3 * 40); // 40 bursts: far more than the tolerated few
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_NE(v.actual.find("40 bursts"), std::string::npos) << v.actual;
  EXPECT_NE(v.cause.find("coalesces"), std::string::npos);
  EXPECT_EQ(v.measurements["body_bytes"].get<std::size_t>(), p.body_bytes);
  const check_result warned = judge_check(r.c, ctx(), r.direct, r.proxied, false, "nginx");
  EXPECT_EQ(warned.result, outcome::warn);
  EXPECT_EQ(judge_check(r.c, ctx(), r.direct, r.proxied, true, "nginx").result, outcome::fail);
}

TEST(LargeResponse, ScenarioIsLong) {
  const auto &s = spec_named(specs_of("stream.large-response"), "stream");
  EXPECT_GE(expected_events(s), 300);
}

TEST(CompressedClient, SendsABrowsersAcceptEncoding) {
  const auto &s = spec_named(specs_of("stream.compressed-client"), "stream");
  for (const char *enc : {"gzip", "deflate", "br", "zstd"})
    EXPECT_NE(s.accept_encoding.find(enc), std::string::npos) << enc;
}

TEST(CompressedClient, ReportsContentEncodingOnPassAndFail) {
  run r("stream.compressed-client");
  r.probe("stream").header_lines.push_back("Content-Encoding: gzip");
  verdict v = r.judge();
  EXPECT_TRUE(v.passed) << v.actual;
  EXPECT_NE(v.measured.find("(Content-Encoding: gzip)"), std::string::npos) << v.measured;
  release_together(r.probe("stream"), 20); // the compressor's block
  v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.measurements["content_encoding"], "gzip");
}

// --- stream.content-type -------------------------------------------------------------------------

TEST(ContentType, ParametersAreAllowed) {
  run r("stream.content-type");
  r.probe("sse").header_lines[1] = "Content-Type: text/event-stream; charset=utf-8";
  r.probe("ndjson").header_lines[1] = "content-type:  application/x-ndjson ";
  EXPECT_TRUE(r.judge().passed);
}

TEST(ContentType, RewrittenTypeFails) {
  run r("stream.content-type");
  r.probe("ndjson").header_lines[1] = "Content-Type: application/octet-stream";
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.expected, "application/x-ndjson and text/event-stream");
  EXPECT_EQ(v.actual, "'application/octet-stream' and 'text/event-stream'");
  run sse("stream.content-type");
  sse.probe("sse").header_lines[1] = "Content-Type: text/plain";
  EXPECT_EQ(sse.judge().actual, "'application/x-ndjson' and 'text/plain'");
}

TEST(ContentType, MissingHeaderFails) {
  run r("stream.content-type");
  r.probe("sse").header_lines.erase(r.probe("sse").header_lines.begin() + 1);
  EXPECT_FALSE(r.judge().passed);
}

// --- stream.framing (INFO) -----------------------------------------------------------------------

TEST(Framing, CountsMergedAndPartialReads) {
  run r("stream.framing");
  auto &p = r.probe("stream");
  const auto n = p.events.size();
  release_together(p, 2);
  p.writes.insert(p.writes.begin(), body_write{1'000, 7}); // half an event, completed by the next
  for (auto &e : p.events)
    ++e.write_index;
  const verdict v = r.judge();
  EXPECT_TRUE(v.passed);
  EXPECT_EQ(v.measurements["events"].get<std::size_t>(), n);
  EXPECT_EQ(v.measurements["reads_with_several_events"].get<std::size_t>(), n / 2);
  EXPECT_EQ(v.measurements["reads_with_partial_event"].get<int>(), 1);
  EXPECT_EQ(v.measurements["client_framing"], "chunked");
}

TEST(Framing, InfoNeverFailsThroughTheRunner) {
  run r("stream.framing");
  r.probe("stream") = probe_result{};
  EXPECT_EQ(judge_check(r.c, ctx(), r.direct, r.proxied, true, "nginx").result, outcome::pass);
}

} // namespace
} // namespace streamcheck::harness
