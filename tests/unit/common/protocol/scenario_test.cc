// The scenario both sides share: to_overrides() is the inverse of the mock's apply_overrides(),
// and the derived facts follow the mock's loop (mock_upstream/server.cc run_stream). That they
// match what the running mock emits is tests/integration/mock_upstream/contract_test.cc.
#include "common/protocol/scenario.h"

#include <gtest/gtest.h>

namespace streamcheck::protocol {
namespace {

scenario round_trip(const scenario &s, const scenario &base = {}) {
  auto r = apply_overrides(base, to_overrides(s, base));
  if (!r) {
    ADD_FAILURE() << to_overrides(s, base).dump() << ": " << r.message();
    return {};
  }
  return *r;
}

TEST(ToOverrides, DefaultsEmitNothing) {
  EXPECT_EQ(to_overrides(scenario{}), json::object());
  const scenario base{.gap_ms = 20, .tokens = 100};
  EXPECT_EQ(to_overrides(base, base), json::object());
}

TEST(ToOverrides, OnlyTheKeysThatDiffer) {
  EXPECT_EQ(to_overrides(scenario{.first_token_ms = 50, .gap_ms = 40, .tokens = 40}),
            (json{{"first_token_ms", 50}, {"gap_ms", 40}, {"tokens", 40}}));
  EXPECT_EQ(to_overrides(scenario{.stall_at = 4, .stall_ms = 4000}),
            (json{{"stall_at", 4}, {"stall_ms", 4000}}));
  EXPECT_EQ(to_overrides(scenario{.abort_after = 5, .abort = abort_kind::rst}),
            (json{{"abort_after", 5}, {"abort", "rst"}}));
}

TEST(ToOverrides, EveryKnobRoundTrips) {
  const scenario s{.first_token_ms = 1,
                   .gap_ms = 2,
                   .jitter_ms = 3,
                   .tokens = 4,
                   .token_bytes = 5,
                   .stall_at = 6,
                   .stall_ms = 7,
                   .events_per_write = 8,
                   .split_events = true,
                   .split_gap_ms = 9,
                   .abort_after = 10,
                   .abort = abort_kind::rst,
                   .error_after = 11,
                   .error_message = "boom <&>",
                   .status = 503,
                   .headers = {{"X-Accel-Buffering", "no"}, {"access-control-allow-origin", "*"}},
                   .legacy_chunks = true,
                   .seed = 12,
                   .id = "run-1/check-7"};
  EXPECT_EQ(round_trip(s), s);
  EXPECT_EQ(to_overrides(s).size(), 19u); // every knob differs from the default
}

TEST(ToOverrides, RoundTripsAgainstAnotherBase) {
  const scenario base{.tokens = 400, .token_bytes = 64, .abort_after = 5, .abort = abort_kind::fin};
  const scenario back_to_defaults{};
  EXPECT_EQ(round_trip(back_to_defaults, base), back_to_defaults);
  scenario more_headers = base;
  more_headers.headers = {{"X-One", "1"}};
  const scenario with_one = more_headers;
  more_headers.headers.emplace_back("X-Two", "2");
  EXPECT_EQ(to_overrides(more_headers, with_one), (json{{"headers", {{"X-Two", "2"}}}}));
  EXPECT_EQ(round_trip(more_headers, with_one), more_headers);
}

TEST(ToOverrides, ABareAbortAfterIsTheMocksFin) {
  const scenario declared{.abort_after = 5};
  EXPECT_EQ(round_trip(declared).abort, abort_kind::fin);
  EXPECT_EQ(emitted_events(declared), emitted_events(round_trip(declared)));
}

TEST(ApplyOverrides, ValidationMessagesAreTheMocks) {
  // The full list lives in tests/unit/mock_upstream/scenario_test.cc; these are the messages a
  // person sees most.
  EXPECT_EQ(apply_overrides({}, json{{"gap_ms", -5}}).message(),
            "streamcheck.gap_ms: must be an integer in [0, 3600000], got -5");
  EXPECT_EQ(apply_overrides({}, json{{"stal_ms", 5}}).message(),
            "streamcheck.stal_ms: unknown scenario key");
  EXPECT_EQ(apply_overrides({}, json{{"abort", "kill"}}).message(),
            "streamcheck.abort: must be \"fin\", \"rst\" or \"none\", got \"kill\"");
  EXPECT_EQ(apply_overrides({}, json{{"id", 7}}).message(),
            "streamcheck.id: must be a string of at most 200 bytes, got 7");
  EXPECT_EQ(apply_overrides({}, json{{"error_message", 7}}).message(),
            "streamcheck.error_message: must be a string, got 7");
}

TEST(EmittedEvents, TokensAndTheFinalObject) {
  EXPECT_EQ(emitted_events(scenario{}), 25);
  EXPECT_EQ(emitted_events(scenario{.tokens = 40}), 41);
  EXPECT_EQ(emitted_events(scenario{.tokens = 0}), 1);
}

TEST(EmittedEvents, AnAbortCutsBeforeItsToken) {
  EXPECT_EQ(emitted_events(scenario{.abort_after = 5, .abort = abort_kind::fin}), 5);
  EXPECT_EQ(emitted_events(scenario{.abort_after = 0, .abort = abort_kind::rst}), 0);
  EXPECT_EQ(emitted_events(scenario{.tokens = 3, .abort_after = 9}), 4); // never reached
}

TEST(EmittedEvents, AnInBandErrorIsTheLastEvent) {
  EXPECT_EQ(emitted_events(scenario{.error_after = 5}), 6);
  EXPECT_EQ(emitted_events(scenario{.abort_after = 7, .error_after = 5}), 6);
  EXPECT_EQ(emitted_events(scenario{.abort_after = 5, .error_after = 5}), 5); // abort first
  EXPECT_EQ(emitted_events(scenario{.tokens = 3, .error_after = 9}), 4);
}

TEST(AbortsMidway, OnlyWhenTheAbortComesFirst) {
  EXPECT_FALSE(aborts_midway(scenario{}));
  EXPECT_TRUE(aborts_midway(scenario{.abort_after = 5}));
  EXPECT_TRUE(aborts_midway(scenario{.abort_after = 0, .abort = abort_kind::rst}));
  EXPECT_FALSE(aborts_midway(scenario{.tokens = 3, .abort_after = 9}));
  EXPECT_FALSE(aborts_midway(scenario{.abort_after = 6, .error_after = 5}));
  EXPECT_TRUE(aborts_midway(scenario{.abort_after = 5, .error_after = 5}));
  EXPECT_FALSE(aborts_midway(scenario{.abort_after = 5, .status = 500}));
}

TEST(EmittedEvents, AScriptedStatusAnswersBeforeAnyEvent) {
  EXPECT_EQ(emitted_events(scenario{.status = 500}), 0);
}

TEST(EmissionUs, FirstTokenThenGaps) {
  const scenario s{.first_token_ms = 50, .gap_ms = 40, .tokens = 40};
  EXPECT_EQ(emission_us(s, 0), 50'000);
  EXPECT_EQ(emission_us(s, 1), 90'000);
  EXPECT_EQ(emission_us(s, 40), 50'000 + 40 * 40'000); // the final object
}

TEST(EmissionUs, TheStallDelaysItsTokenAndEveryLaterEvent) {
  const scenario s{
      .first_token_ms = 20, .gap_ms = 20, .tokens = 8, .stall_at = 4, .stall_ms = 4000};
  EXPECT_EQ(emission_us(s, 3), 80'000);
  EXPECT_EQ(emission_us(s, 4), 4'100'000);
  EXPECT_EQ(emission_us(s, 8), 4'180'000);
}

TEST(EmissionUs, AStallAtTheFinalObjectNeverHappens) {
  const scenario s{.tokens = 8, .stall_at = 8, .stall_ms = 4000};
  EXPECT_EQ(emission_us(s, 8), (40 + 15 * 8) * 1000);
}

TEST(PlannedDuration, IsTheFinalObjectsEmission) {
  const scenario s{.stall_at = 5, .stall_ms = 1000};
  EXPECT_EQ(planned_duration_ms(s), 40 + 15 * 24 + 1000);
  EXPECT_EQ(planned_duration_ms(s) * 1000, emission_us(s, s.tokens));
  EXPECT_EQ(planned_duration_ms(scenario{.tokens = 24, .stall_at = 24, .stall_ms = 1000}),
            40 + 15 * 24);
}

TEST(AbortKind, Names) {
  EXPECT_STREQ(to_string(abort_kind::none), "none");
  EXPECT_STREQ(to_string(abort_kind::fin), "fin");
  EXPECT_STREQ(to_string(abort_kind::rst), "rst");
}

} // namespace
} // namespace streamcheck::protocol
