// abort.*: a cancel reaches the upstream, a cut stream looks cut, nothing is replayed.
#include <gtest/gtest.h>

#include "harness/runner.h"
#include "tests/unit/harness/checks/synthetic.h"

namespace streamcheck::harness {
namespace {

using namespace synthetic;

class Cancel : public ::testing::TestWithParam<std::string> {};

TEST_P(Cancel, ScenarioAbortsFromTheHarnessSide) {
  const auto &s = spec_named(specs_of(GetParam()), "stream");
  EXPECT_TRUE(s.abort_after_events >= 0 || s.abort_after_ms >= 0);
  EXPECT_GT(s.settle_ms, static_cast<int>(ctx().tol.cancel_ms()));
}

TEST_P(Cancel, UpstreamThatCompletedAnywayFails) {
  run r(GetParam());
  journal_in(r.proxied, "stream") = {entry(stream_end::completed, 9'000'000)};
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.expected, "upstream connection closed <= 1000 ms after the client");
  EXPECT_EQ(v.actual.rfind("upstream ran to completion ", 0), 0u) << v.actual;
  EXPECT_EQ(v.measurements["upstream_outcome"], "completed");
  EXPECT_NE(v.cause.find("keeps the upstream request running"), std::string::npos);
}

TEST_P(Cancel, UpstreamStillRunningFails) {
  run r(GetParam());
  journal_in(r.proxied, "stream") = {entry(stream_end::in_progress, -1)};
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_NE(v.actual.find("still in_progress"), std::string::npos) << v.actual;
}

TEST_P(Cancel, ClosedTooLateFails) {
  run r(GetParam());
  const std::int64_t left = r.probe("stream").aborted_us;
  journal_in(r.proxied,
             "stream") = {entry(stream_end::peer_closed, left + 5'100'000, left + 5'000'000)};
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.actual, "upstream closed 5000 ms after the client");
  EXPECT_DOUBLE_EQ(v.measurements["propagation_ms"].get<double>(), 5000);
}

TEST_P(Cancel, WriteFailureWithinTheBoundPassesAndUsesEndedTime) {
  run r(GetParam());
  const std::int64_t left = r.probe("stream").aborted_us;
  journal_in(r.proxied, "stream") = {entry(stream_end::write_failed, left + 900'000)};
  const verdict v = r.judge();
  EXPECT_TRUE(v.passed) << v.actual;
  EXPECT_EQ(v.measured, "upstream closed 900 ms after the client");
}

TEST_P(Cancel, NotAbortedOrNotForwardedIsInconclusive) {
  // Nothing to cancel: the proxy ended the exchange itself, or never forwarded it.
  run done(GetParam());
  done.probe("stream").aborted = false;
  done.probe("stream").status = 502;
  const verdict ended = done.judge();
  EXPECT_FALSE(ended.passed);
  EXPECT_TRUE(ended.inconclusive);
  EXPECT_EQ(ended.actual.rfind("the stream ended (HTTP 502) before the harness could close it", 0),
            0u)
      << ended.actual;
  run lost(GetParam());
  journal_in(lost.proxied, "stream").clear();
  const verdict v = lost.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_TRUE(v.inconclusive);
  EXPECT_EQ(v.actual.rfind("the request never reached the upstream", 0), 0u) << v.actual;
}

TEST_P(Cancel, FailureSaysWhatTheUserSees) {
  run r(GetParam());
  journal_in(r.proxied, "stream") = {entry(stream_end::completed, 9'000'000)};
  const std::string cause = r.judge().cause;
  EXPECT_NE(cause.find("the model keeps "), std::string::npos) << cause;
}

INSTANTIATE_TEST_SUITE_P(Checks, Cancel,
                         ::testing::Values("abort.cancel-propagates", "abort.cancel-during-pause",
                                           "abort.cancel-before-first-token"),
                         test_name);

// --- a proxy's own timeout is not the proxy noticing the client ---------------------------------

class CancelWhileSilent : public ::testing::TestWithParam<std::string> {};

// The twin's upstream closed by the proxy at `at_us` while its client was still there (HAProxy
// answers such a request 504 when its timeout fires).
void cut_by_the_proxy(run &r, std::int64_t at_us) {
  probe_result &twin = r.probe("unattended");
  twin.aborted = false;
  twin.aborted_us = -1;
  twin.status = 504;
  journal_in(r.proxied, "unattended") = {entry(stream_end::peer_closed, at_us + 300, at_us)};
}

TEST_P(CancelWhileSilent, TwinStaysPastTheJudgedWindow) {
  const auto specs = specs_of(GetParam());
  const auto &cancelled = spec_named(specs, "stream");
  const auto &twin = spec_named(specs, "unattended");
  EXPECT_EQ(twin.body.at("streamcheck"), cancelled.body.at("streamcheck"));
  EXPECT_LT(twin.abort_after_events, 0);
  run r(GetParam());
  EXPECT_GT(r.probe("unattended").aborted_us,
            r.probe("stream").aborted_us + static_cast<std::int64_t>(ctx().tol.cancel_ms()) * 1000);
}

TEST_P(CancelWhileSilent, CloseAtTheProxysOwnTimeoutIsInconclusive) {
  // fixtures/haproxy/short-timeouts.cfg: timeout server 2 s closes the upstream connection 2 s
  // after the request whether the client left or not; the client left 1 s in.
  run r(GetParam());
  const std::int64_t left = r.probe("stream").aborted_us;
  const std::int64_t timeout_fires = left + 900'000;
  journal_in(r.proxied,
             "stream") = {entry(stream_end::peer_closed, timeout_fires + 300, timeout_fires)};
  ASSERT_TRUE(r.judge().passed) << "without the twin it would read as a cancel";
  cut_by_the_proxy(r, timeout_fires + 2'000);
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_TRUE(v.inconclusive);
  EXPECT_EQ(v.blocked_by, GetParam() == "abort.cancel-before-first-token"
                              ? "timeout.slow-first-token"
                              : "timeout.idle-gap");
  EXPECT_NE(v.actual.find("its own timeout cut the request"), std::string::npos) << v.actual;
  EXPECT_EQ(judge_check(r.c, ctx(), r.direct, r.proxied, false, "haproxy").result,
            outcome::inconclusive);
}

TEST_P(CancelWhileSilent, TimeoutCloseJustPastTheBoundIsInconclusiveToo) {
  // The same fixture's close lands either side of the 1 s bound run to run (998 ms measured):
  // the timeout's close says nothing of the client on either side.
  run r(GetParam());
  const std::int64_t left = r.probe("stream").aborted_us;
  const std::int64_t timeout_fires = left + 1'004'000;
  journal_in(r.proxied,
             "stream") = {entry(stream_end::peer_closed, timeout_fires + 300, timeout_fires)};
  cut_by_the_proxy(r, timeout_fires - 5'000);
  EXPECT_TRUE(r.judge().inconclusive);
}

TEST_P(CancelWhileSilent, NoticedBeforeItsOwnTimeoutPasses) {
  // The same short timeout with option abortonclose: the close follows the client, well before
  // the timeout would have fired.
  run r(GetParam());
  const std::int64_t left = r.probe("stream").aborted_us;
  journal_in(r.proxied, "stream") = {entry(stream_end::peer_closed, left + 2'300, left + 2'000)};
  cut_by_the_proxy(r, left + 900'000);
  const verdict v = r.judge();
  EXPECT_TRUE(v.passed) << v.actual;
  EXPECT_DOUBLE_EQ(v.measurements["unattended_closed_ms"].get<double>(),
                   static_cast<double>(left + 900'000) / 1000);
}

TEST_P(CancelWhileSilent, LateCloseStillFailsWhateverClosedIt) {
  // A timeout that fires 5 s after the client left: Stop did not reach the model for 5 s.
  run r(GetParam());
  const std::int64_t left = r.probe("stream").aborted_us;
  journal_in(r.proxied,
             "stream") = {entry(stream_end::peer_closed, left + 5'000'300, left + 5'000'000)};
  cut_by_the_proxy(r, left + 5'000'000);
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_FALSE(v.inconclusive);
}

INSTANTIATE_TEST_SUITE_P(Checks, CancelWhileSilent,
                         ::testing::Values("abort.cancel-during-pause",
                                           "abort.cancel-before-first-token"),
                         test_name);

// The two mid-answer situations: Stop while tokens flow, and Stop while the model is silent.
TEST(CancelPropagates, ClosesWhileTokensFlowEvenIfTheProxyHoldsThemBack) {
  const auto &s = spec_named(specs_of("abort.cancel-propagates"), "stream");
  const json &k = s.body.at("streamcheck");
  EXPECT_FALSE(k.contains("stall_at")) << "no pause: tokens keep flowing after the abort";
  EXPECT_LE(k.at("gap_ms").get<int>(), 100);
  // By event count, or by time when the proxy buffers: both well before the stream ends.
  ASSERT_GE(s.abort_after_events, 1);
  ASSERT_GE(s.abort_after_ms, 0);
  const int stream_ms =
      k.at("first_token_ms").get<int>() + k.at("tokens").get<int>() * k.at("gap_ms").get<int>();
  EXPECT_GE(stream_ms - s.abort_after_ms, 2 * static_cast<int>(ctx().tol.cancel_ms()));
}

TEST(CancelPropagates, BufferingProxyThatLetTheUpstreamFinishFails) {
  // Aborted by time while the proxy held the tokens: the upstream ran on for seconds.
  run r("abort.cancel-propagates");
  auto &p = r.probe("stream");
  p.events.clear();
  p.aborted_us = 1'500'000;
  journal_in(r.proxied, "stream") = {entry(stream_end::completed, 4'020'000)};
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_FALSE(v.inconclusive);
  EXPECT_EQ(v.actual, "upstream ran to completion 2520 ms after the client left");
}

TEST(CancelDuringPause, ClosesRightWhereTheModelFallsSilent) {
  const auto &s = spec_named(specs_of("abort.cancel-during-pause"), "stream");
  const json &k = s.body.at("streamcheck");
  EXPECT_EQ(k.at("stall_at").get<int>(), s.abort_after_events);
  EXPECT_GT(k.at("stall_ms").get<int>(), s.settle_ms + static_cast<int>(ctx().tol.cancel_ms()));
  EXPECT_LT(s.abort_after_ms, 0) << "a time trigger could fire outside the pause";
}

TEST(CancelDuringPause, StreamHeldUntilTheUpstreamFinishedIsInconclusive) {
  // The client saw the events only after the upstream was done: it never saw the pause, so
  // Stop during the pause was never pressed. The buffering is stream.first-token's failure.
  run r("abort.cancel-during-pause");
  const std::int64_t left = r.probe("stream").aborted_us;
  journal_in(r.proxied, "stream") = {entry(stream_end::completed, left - 50'000)};
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_TRUE(v.inconclusive);
  EXPECT_EQ(v.blocked_by, "stream.first-token");
  EXPECT_NE(v.actual.find("never left during the pause"), std::string::npos) << v.actual;
}

TEST(CancelDuringPause, NoticedOnlyAtTheNextTokenFails) {
  // HAProxy, Apache, nginx with proxy_ignore_client_abort on: the upstream closes when the
  // next token (after the 10 s pause) fails to write.
  run r("abort.cancel-during-pause");
  const std::int64_t left = r.probe("stream").aborted_us;
  journal_in(r.proxied, "stream") = {entry(stream_end::write_failed, left + 9'800'000)};
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_FALSE(v.inconclusive);
  EXPECT_NE(v.cause.find("the model keeps generating for the rest of the pause"), std::string::npos)
      << v.cause;
}

// --- abort.truncation-visible --------------------------------------------------------------------

TEST(TruncationVisible, CleanEndFails) {
  run r("abort.truncation-visible");
  auto &p = r.probe("stream");
  ASSERT_NE(p.curl_code, 0) << "the correct scenario shows the crash";
  p.curl_code = 0;
  p.curl_error.clear();
  p.framing = body_framing::close_delimited;
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.actual, "a clean end after " + std::to_string(p.events.size()) +
                          " events, close-delimited framing");
  EXPECT_NE(v.cause.find("close-delimited"), std::string::npos);
  EXPECT_EQ(judge_check(r.c, ctx(), r.direct, r.proxied, false, "nginx").result, outcome::warn);
}

TEST(TruncationVisible, NeverForwardedIsInconclusive) {
  run r("abort.truncation-visible");
  journal_in(r.proxied, "stream").clear();
  auto &p = r.probe("stream");
  p.curl_code = 0;
  p.status = 404;
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_TRUE(v.inconclusive);
}

TEST(TruncationVisible, ErrorStatusAfterHoldingTheStreamPasses) {
  // A proxy that buffered and then answers the crash with a 502 shows the failure too.
  run r("abort.truncation-visible");
  auto &p = r.probe("stream");
  p.curl_code = 0;
  p.curl_error.clear();
  p.status = 502;
  EXPECT_TRUE(r.judge().passed) << r.judge().actual;
}

TEST(TruncationVisible, PassReportsWhatTheClientSaw) {
  run r("abort.truncation-visible");
  const verdict v = r.judge();
  EXPECT_EQ(v.measured, "client saw: Transfer closed with outstanding read data remaining");
}

TEST(TruncationVisible, OverHttp2AResetPassesAndACleanEndStreamFails) {
  run r("abort.truncation-visible");
  auto &p = r.probe("stream");
  p.http_version = "2";
  p.framing = body_framing::none;
  p.curl_code = 92; // CURLE_HTTP2_STREAM: the proxy sent RST_STREAM
  p.curl_error = "Stream error in the HTTP/2 framing layer";
  EXPECT_EQ(r.judge().measured, "RST_STREAM (curl: Stream error in the HTTP/2 framing layer)");
  p.curl_code = 18; // CURLE_PARTIAL_FILE: the connection ended, END_STREAM never came
  EXPECT_TRUE(r.judge().passed);
  EXPECT_EQ(r.judge().measured.rfind("the stream closed without END_STREAM", 0), 0u);
  p.curl_code = 0;
  p.curl_error.clear();
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.expected, "RST_STREAM or a stream without END_STREAM");
  EXPECT_EQ(v.actual, "a clean END_STREAM after " + std::to_string(p.events.size()) + " events");
}

// --- abort.no-replay -----------------------------------------------------------------------------

TEST(NoReplay, TwoUpstreamRequestsFail) {
  run r("abort.no-replay");
  journal_in(r.proxied, "stream").push_back(entry(stream_end::aborted_rst, 2'000));
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.expected, "exactly 1 upstream request");
  EXPECT_EQ(v.actual, "2 upstream requests");
  EXPECT_EQ(v.cause, "the proxy retried a POST");
}

TEST(NoReplay, AClientResentByTheProxysInvitationIsNamed) {
  run r("abort.no-replay");
  for (int i = 0; i < 5; ++i)
    journal_in(r.proxied, "stream").push_back(entry(stream_end::aborted_rst, 2'000));
  r.probe("stream").new_connections = 6; // libcurl's retries over HTTP/2, one connection each
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.actual, "6 upstream requests, each on a new client connection");
  EXPECT_NE(v.cause.find("REFUSED_STREAM"), std::string::npos) << v.cause;
}

TEST(NoReplay, NoUpstreamRequestIsInconclusive) {
  run r("abort.no-replay");
  journal_in(r.proxied, "stream").clear();
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_TRUE(v.inconclusive) << "nothing was reset, so a replay could not happen";
  EXPECT_EQ(v.actual, "the request never reached the upstream (client saw HTTP 502), so it was "
                      "never reset");
}

TEST(NoReplay, TheMockResetsThePost) {
  // A retry is only a replay when the first attempt was a POST the upstream failed: the real
  // mock must read the check's request as a streamed POST it resets.
  const auto &s = spec_named(specs_of("abort.no-replay"), "stream");
  EXPECT_EQ(s.method, "POST");
  const mock::plan p = mock_plan_for(s);
  ASSERT_TRUE(std::holds_alternative<mock::stream_response>(p.response))
      << "the mock refused the check's request";
  EXPECT_EQ(p.timeline.abort, mock::abort_kind::rst);
  EXPECT_EQ(p.timeline.abort_after, 0) << "reset before any header, so nothing reached the client";
}

} // namespace
} // namespace streamcheck::harness
