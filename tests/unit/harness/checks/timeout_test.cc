// timeout.*: silences and long streams are not cut.
#include <gtest/gtest.h>

#include "tests/unit/harness/checks/synthetic.h"

namespace streamcheck::harness {
namespace {

using namespace synthetic;

TEST(SlowFirstToken, ScenarioIsSilentForTheProfilesGap) {
  const auto &s = spec_named(specs_of("timeout.slow-first-token"), "stream");
  EXPECT_EQ(scenario_of(s).first_token_ms, ctx().prof.silence_ms);
  EXPECT_GT(s.timeout_ms, ctx().prof.silence_ms);
}

TEST(SlowFirstToken, GatewayTimeoutFails) {
  run r("timeout.slow-first-token");
  auto &p = r.probe("stream");
  p = answered(spec_named(specs_of("timeout.slow-first-token"), "stream"), 504, "text/html");
  p.body = "<html><head><title>504 Gateway Time-out</title></head></html>";
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.actual, "HTTP 504");
  EXPECT_EQ(v.expected, "HTTP 200 with all " +
                            std::to_string(expected_events(
                                spec_named(specs_of("timeout.slow-first-token"), "stream"))) +
                            " events");
  EXPECT_NE(v.cause.find("timeout"), std::string::npos);
  EXPECT_EQ(v.measurements["status"].get<long>(), 504);
}

TEST(IdleGap, StreamCutDuringThePauseFails) {
  run r("timeout.idle-gap");
  auto &p = r.probe("stream");
  const int stall_at = scenario_of(spec_named(specs_of("timeout.idle-gap"), "stream")).stall_at;
  ASSERT_GT(stall_at, 0);
  p.events.resize(static_cast<std::size_t>(stall_at));
  p.curl_code = 18;
  p.curl_error = "Transfer closed with outstanding read data remaining";
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.actual,
            "curl: Transfer closed with outstanding read data remaining (after HTTP 200)");
  EXPECT_EQ(v.measurements["events"].get<int>(), stall_at);
}

TEST(LongStream, CleanEndTooEarlyFails) {
  run r("timeout.long-stream");
  const int want = expected_events(spec_named(specs_of("timeout.long-stream"), "stream"));
  EXPECT_EQ(want, ctx().prof.long_stream_ms / 100 + 1);
  auto &p = r.probe("stream");
  p.events.resize(30); // close-delimited: the cut looks like an end to the client
  p.framing = body_framing::close_delimited;
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.actual, "30 of " + std::to_string(want) + " events");
}

TEST(LongStream, UnstampedEventsDoNotCount) {
  run r("timeout.long-stream");
  r.probe("stream").events.front().emitted_us = -1;
  EXPECT_FALSE(r.judge().passed);
}

} // namespace
} // namespace streamcheck::harness
