#include "mock_upstream/scenario.h"

#include <climits>
#include <gtest/gtest.h>

namespace streamcheck::mock {
namespace {

scenario applied(const json &overrides, scenario base = {}) {
  auto r = apply_overrides(std::move(base), overrides);
  if (!r) {
    ADD_FAILURE() << overrides.dump() << ": " << r.message();
    return {};
  }
  return *r;
}

std::string refused(const json &overrides, scenario base = {}) {
  auto r = apply_overrides(std::move(base), overrides);
  if (r) {
    ADD_FAILURE() << overrides.dump() << " was accepted";
    return {};
  }
  return r.message();
}

// ---- presets ----------------------------------------------------------------------------------

TEST(Presets, NamesInTagsOrder) {
  std::vector<std::string> names;
  for (const auto &p : presets())
    names.push_back(p.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"llama3.2:latest", "steady:latest", "slow-first-65s:latest",
                                      "stall-65s:latest", "stall-90s:latest", "long-35s:latest",
                                      "large-400:latest", "abort-fin:latest", "abort-rst:latest",
                                      "in-band-error:latest", "burst:latest"}));
}

TEST(Presets, EveryPresetHasADescription) {
  for (const auto &p : presets())
    EXPECT_FALSE(p.description.empty()) << p.name;
}

TEST(Presets, DefaultScenarioIsAWarmModel) {
  const scenario d{};
  EXPECT_EQ(d.first_token_ms, 40);
  EXPECT_EQ(d.gap_ms, 15);
  EXPECT_EQ(d.jitter_ms, 0);
  EXPECT_EQ(d.tokens, 24);
  EXPECT_EQ(d.token_bytes, 0);
  EXPECT_EQ(d.stall_at, -1);
  EXPECT_EQ(d.events_per_write, 1);
  EXPECT_FALSE(d.split_events);
  EXPECT_EQ(d.abort_after, -1);
  EXPECT_EQ(d.abort, abort_kind::none);
  EXPECT_EQ(d.error_after, -1);
  EXPECT_EQ(d.error_message, "an error was encountered while running the model");
  EXPECT_EQ(d.status, 200);
  EXPECT_TRUE(d.headers.empty());
  EXPECT_FALSE(d.legacy_chunks);
  const auto *p = find_preset("llama3.2");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->base.first_token_ms, 40);
  EXPECT_EQ(p->base.tokens, 24);
}

TEST(Presets, TimelinesMatchTheirNames) {
  const auto *steady = find_preset("steady");
  ASSERT_NE(steady, nullptr);
  EXPECT_EQ(steady->base.tokens, 100);
  EXPECT_EQ(steady->base.gap_ms, 20);

  const auto *slow = find_preset("slow-first-65s");
  ASSERT_NE(slow, nullptr);
  EXPECT_EQ(slow->base.first_token_ms, 65'000);

  const auto *stall65 = find_preset("stall-65s:latest");
  ASSERT_NE(stall65, nullptr);
  EXPECT_EQ(stall65->base.stall_at, 5);
  EXPECT_EQ(stall65->base.stall_ms, 65'000);

  const auto *stall90 = find_preset("stall-90s");
  ASSERT_NE(stall90, nullptr);
  EXPECT_EQ(stall90->base.stall_at, 5);
  EXPECT_EQ(stall90->base.stall_ms, 90'000);

  const auto *long35 = find_preset("long-35s");
  ASSERT_NE(long35, nullptr);
  EXPECT_EQ(planned_duration_ms(long35->base) - long35->base.first_token_ms, 35'000);

  const auto *large = find_preset("large-400");
  ASSERT_NE(large, nullptr);
  EXPECT_EQ(large->base.tokens, 400);
  EXPECT_EQ(large->base.token_bytes, 64);
  EXPECT_EQ(large->base.gap_ms, 5);

  const auto *fin = find_preset("abort-fin");
  ASSERT_NE(fin, nullptr);
  EXPECT_EQ(fin->base.abort, abort_kind::fin);
  EXPECT_EQ(fin->base.abort_after, 5);

  const auto *rst = find_preset("abort-rst");
  ASSERT_NE(rst, nullptr);
  EXPECT_EQ(rst->base.abort, abort_kind::rst);
  EXPECT_EQ(rst->base.abort_after, 5);

  const auto *err = find_preset("in-band-error");
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(err->base.error_after, 5);

  const auto *burst = find_preset("burst");
  ASSERT_NE(burst, nullptr);
  EXPECT_EQ(burst->base.events_per_write, 5);
}

TEST(Presets, UnknownModelHasNoPreset) {
  EXPECT_EQ(find_preset("llama9"), nullptr);
  EXPECT_EQ(find_preset("steady:7b"), nullptr);
  EXPECT_EQ(find_preset(""), nullptr);
}

TEST(NormalizeModelName, AddsLatestTag) {
  EXPECT_EQ(normalize_model_name("llama3.2"), "llama3.2:latest");
  EXPECT_EQ(normalize_model_name("library/llama3.2"), "library/llama3.2:latest");
}

TEST(NormalizeModelName, KeepsAnExistingTag) {
  EXPECT_EQ(normalize_model_name("llama3.2:1b"), "llama3.2:1b");
  EXPECT_EQ(normalize_model_name("ns/model:q4"), "ns/model:q4");
}

TEST(NormalizeModelName, ARegistryPortIsNotATag) {
  EXPECT_EQ(normalize_model_name("registry.local:5000/ns/model"),
            "registry.local:5000/ns/model:latest");
  EXPECT_EQ(normalize_model_name("registry.local:5000/ns/model:v2"),
            "registry.local:5000/ns/model:v2");
}

// ---- overrides: every key --------------------------------------------------------------------

TEST(ApplyOverrides, NullKeepsTheBase) {
  const auto s = applied(json(), find_preset("steady")->base);
  EXPECT_EQ(s.tokens, 100);
  EXPECT_EQ(s.gap_ms, 20);
}

TEST(ApplyOverrides, EmptyObjectKeepsTheBase) {
  const auto s = applied(json::object(), find_preset("stall-90s")->base);
  EXPECT_EQ(s.stall_ms, 90'000);
}

TEST(ApplyOverrides, NonObjectIsRefused) {
  EXPECT_EQ(refused(json::array({1})), "streamcheck: must be an object, got [1]");
  EXPECT_EQ(refused(json("gap")), "streamcheck: must be an object, got \"gap\"");
}

TEST(ApplyOverrides, EveryKeyIsAccepted) {
  const json o = {{"id", "run-1/check-7"},
                  {"first_token_ms", 1},
                  {"gap_ms", 2},
                  {"jitter_ms", 3},
                  {"tokens", 4},
                  {"token_bytes", 5},
                  {"stall_at", 6},
                  {"stall_ms", 7},
                  {"events_per_write", 8},
                  {"split_events", true},
                  {"split_gap_ms", 9},
                  {"abort_after", 10},
                  {"abort", "rst"},
                  {"error_after", 11},
                  {"error_message", "boom <x>"},
                  {"status", 503},
                  {"headers", {{"X-Accel-Buffering", "no"}, {"access-control-allow-origin", "*"}}},
                  {"legacy_chunks", true},
                  {"seed", 12}};
  const auto s = applied(o);
  EXPECT_EQ(s.id, "run-1/check-7");
  EXPECT_EQ(s.first_token_ms, 1);
  EXPECT_EQ(s.gap_ms, 2);
  EXPECT_EQ(s.jitter_ms, 3);
  EXPECT_EQ(s.tokens, 4);
  EXPECT_EQ(s.token_bytes, 5);
  EXPECT_EQ(s.stall_at, 6);
  EXPECT_EQ(s.stall_ms, 7);
  EXPECT_EQ(s.events_per_write, 8);
  EXPECT_TRUE(s.split_events);
  EXPECT_EQ(s.split_gap_ms, 9);
  EXPECT_EQ(s.abort_after, 10);
  EXPECT_EQ(s.abort, abort_kind::rst);
  EXPECT_EQ(s.error_after, 11);
  EXPECT_EQ(s.error_message, "boom <x>");
  EXPECT_EQ(s.status, 503);
  EXPECT_EQ(s.headers, (std::vector<std::pair<std::string, std::string>>{
                           {"X-Accel-Buffering", "no"}, {"access-control-allow-origin", "*"}}));
  EXPECT_TRUE(s.legacy_chunks);
  EXPECT_EQ(s.seed, 12u);
}

TEST(ApplyOverrides, OverridesStartFromThePreset) {
  const auto s = applied(json{{"gap_ms", 1}}, find_preset("large-400")->base);
  EXPECT_EQ(s.gap_ms, 1);
  EXPECT_EQ(s.tokens, 400);
  EXPECT_EQ(s.token_bytes, 64);
}

TEST(ApplyOverrides, UnknownKeyIsNamed) {
  EXPECT_EQ(refused(json{{"gap", 5}}), "streamcheck.gap: unknown scenario key");
}

struct int_key {
  const char *key;
  long long lo;
  long long hi;
};

void PrintTo(const int_key &k, std::ostream *os) {
  *os << k.key << " in [" << k.lo << ", " << k.hi << "]";
}

class IntegerKeys : public ::testing::TestWithParam<int_key> {};

TEST_P(IntegerKeys, BoundsAreInclusive) {
  const auto [key, lo, hi] = GetParam();
  EXPECT_TRUE(apply_overrides({}, json{{key, lo}})) << key << "=" << lo;
  EXPECT_TRUE(apply_overrides({}, json{{key, hi}})) << key << "=" << hi;
}

TEST_P(IntegerKeys, OutOfRangeNamesKeyAndValue) {
  const auto [key, lo, hi] = GetParam();
  const std::string range =
      "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  EXPECT_EQ(refused(json{{key, lo - 1}}), "streamcheck." + std::string(key) + ": must be " + range +
                                              ", got " + std::to_string(lo - 1));
  EXPECT_EQ(refused(json{{key, hi + 1}}), "streamcheck." + std::string(key) + ": must be " + range +
                                              ", got " + std::to_string(hi + 1));
}

TEST_P(IntegerKeys, WrongTypesNameKeyAndValue) {
  const auto [key, lo, hi] = GetParam();
  const std::string prefix = "streamcheck." + std::string(key) + ": must be an integer in [" +
                             std::to_string(lo) + ", " + std::to_string(hi) + "], got ";
  EXPECT_EQ(refused(json{{key, "20"}}), prefix + "\"20\"");
  EXPECT_EQ(refused(json{{key, 2.5}}), prefix + "2.5");
  EXPECT_EQ(refused(json{{key, true}}), prefix + "true");
  EXPECT_EQ(refused(json{{key, nullptr}}), prefix + "null");
}

TEST_P(IntegerKeys, HugeUnsignedDoesNotWrapIntoRange) {
  const auto [key, lo, hi] = GetParam();
  const std::string prefix = "streamcheck." + std::string(key) + ": must be an integer in [" +
                             std::to_string(lo) + ", " + std::to_string(hi) + "], got ";
  // 2^64-1 read as long long is -1, which is inside [-1, ...] for stall_at and friends.
  EXPECT_EQ(refused(json{{key, 18446744073709551615ULL}}), prefix + "18446744073709551615");
}

INSTANTIATE_TEST_SUITE_P(
    Scenario, IntegerKeys,
    ::testing::Values(int_key{"first_token_ms", 0, 3'600'000}, int_key{"gap_ms", 0, 3'600'000},
                      int_key{"jitter_ms", 0, 3'600'000}, int_key{"tokens", 0, 10'000'000},
                      int_key{"token_bytes", 0, 1 << 20}, int_key{"stall_at", -1, INT_MAX},
                      int_key{"stall_ms", 0, 3'600'000}, int_key{"events_per_write", 1, 10'000},
                      int_key{"split_gap_ms", 0, 3'600'000}, int_key{"abort_after", -1, INT_MAX},
                      int_key{"error_after", -1, INT_MAX}, int_key{"status", 200, 599},
                      int_key{"seed", 0, INT_MAX}, int_key{"duration_ms", 0, 3'600'000}),
    [](const auto &param_info) { return std::string(param_info.param.key); });

TEST(ApplyOverrides, TheDocumentedExampleMessage) {
  EXPECT_EQ(refused(json{{"gap_ms", -5}}),
            "streamcheck.gap_ms: must be an integer in [0, 3600000], got -5");
}

TEST(ApplyOverrides, BooleanKeys) {
  EXPECT_EQ(refused(json{{"split_events", 1}}),
            "streamcheck.split_events: must be true or false, got 1");
  EXPECT_EQ(refused(json{{"legacy_chunks", "true"}}),
            "streamcheck.legacy_chunks: must be true or false, got \"true\"");
  EXPECT_FALSE(applied(json{{"split_events", false}}).split_events);
}

TEST(ApplyOverrides, IdMustBeAShortString) {
  EXPECT_EQ(refused(json{{"id", 5}}),
            "streamcheck.id: must be a string of at most 200 bytes, got 5");
  EXPECT_EQ(applied(json{{"id", std::string(200, 'a')}}).id, std::string(200, 'a'));
  // The value in the message is cut to 57 characters plus "...".
  EXPECT_EQ(refused(json{{"id", std::string(201, 'a')}}),
            "streamcheck.id: must be a string of at most 200 bytes, got \"" + std::string(56, 'a') +
                "...");
}

TEST(ApplyOverrides, ErrorMessageMustBeAString) {
  EXPECT_EQ(refused(json{{"error_message", json::array()}}),
            "streamcheck.error_message: must be a string, got []");
}

TEST(ApplyOverrides, AbortKinds) {
  EXPECT_EQ(applied(json{{"abort", "fin"}, {"abort_after", 2}}).abort, abort_kind::fin);
  EXPECT_EQ(applied(json{{"abort", "rst"}, {"abort_after", 2}}).abort, abort_kind::rst);
  EXPECT_EQ(refused(json{{"abort", "reset"}}),
            "streamcheck.abort: must be \"fin\", \"rst\" or \"none\", got \"reset\"");
  EXPECT_EQ(refused(json{{"abort", 1}}),
            "streamcheck.abort: must be \"fin\", \"rst\" or \"none\", got 1");
}

TEST(ApplyOverrides, AbortKindAloneAbortsBeforeTheFirstToken) {
  const auto s = applied(json{{"abort", "rst"}});
  EXPECT_EQ(s.abort, abort_kind::rst);
  EXPECT_EQ(s.abort_after, 0);
}

TEST(ApplyOverrides, AbortAfterAloneClosesWithFin) {
  const auto s = applied(json{{"abort_after", 3}});
  EXPECT_EQ(s.abort, abort_kind::fin);
  EXPECT_EQ(s.abort_after, 3);
}

TEST(ApplyOverrides, AbortAfterMinusOneMeansNoAbort) {
  const auto s = applied(json{{"abort_after", -1}});
  EXPECT_EQ(s.abort, abort_kind::none);
  EXPECT_EQ(s.abort_after, -1);
}

TEST(ApplyOverrides, AbortNoneSwitchesAPresetsAbortOff) {
  const auto s = applied(json{{"abort", "none"}}, find_preset("abort-rst")->base);
  EXPECT_EQ(s.abort, abort_kind::none);
  EXPECT_EQ(s.abort_after, -1);
}

TEST(ApplyOverrides, APresetsAbortKindSurvivesANewAbortAfter) {
  const auto s = applied(json{{"abort_after", 9}}, find_preset("abort-rst")->base);
  EXPECT_EQ(s.abort, abort_kind::rst);
  EXPECT_EQ(s.abort_after, 9);
}

TEST(ApplyOverrides, HeadersKeepOrderAndAppend) {
  const auto s = applied(json{{"headers", {{"B-Header", "1"}, {"A-Header", "2"}}}});
  ASSERT_EQ(s.headers.size(), 2u);
  EXPECT_EQ(s.headers[0], (std::pair<std::string, std::string>{"B-Header", "1"}));
  EXPECT_EQ(s.headers[1], (std::pair<std::string, std::string>{"A-Header", "2"}));
}

TEST(ApplyOverrides, HeadersMustBeAnObjectOfStrings) {
  EXPECT_EQ(refused(json{{"headers", "X-A: 1"}}),
            "streamcheck.headers: must be an object of header names to string values, got \"X-A: "
            "1\"");
  EXPECT_EQ(refused(json{{"headers", {{"X-A", 1}}}}),
            "streamcheck.headers.X-A: must be a string, got 1");
}

TEST(ApplyOverrides, HeaderInjectionIsRefused) {
  EXPECT_EQ(refused(json{{"headers", {{"X-A", "1\r\nSet-Cookie: a=b"}}}}),
            "streamcheck.headers.X-A: must be a value without CR, LF or NUL, got "
            "\"1\\r\\nSet-Cookie: a=b\"");
  EXPECT_EQ(refused(json{{"headers", {{"X-A", "1\nB: 2"}}}}),
            "streamcheck.headers.X-A: must be a value without CR, LF or NUL, got \"1\\nB: 2\"");
  EXPECT_EQ(refused(json{{"headers", {{"X-A", std::string("a\0b", 3)}}}}),
            "streamcheck.headers.X-A: must be a value without CR, LF or NUL, got \"a\\u0000b\"");
}

TEST(ApplyOverrides, BadHeaderNamesAreRefused) {
  EXPECT_EQ(refused(json{{"headers", {{"X-A\r\nB", "1"}}}}),
            "streamcheck.headers: invalid header name \"X-A\\r\\nB\"");
  EXPECT_EQ(refused(json{{"headers", {{"X A", "1"}}}}),
            "streamcheck.headers: invalid header name \"X A\"");
  EXPECT_EQ(refused(json{{"headers", {{"X:A", "1"}}}}),
            "streamcheck.headers: invalid header name \"X:A\"");
  EXPECT_EQ(refused(json{{"headers", {{"", "1"}}}}),
            "streamcheck.headers: invalid header name \"\"");
}

TEST(ApplyOverrides, HeaderValuesMayBeEmptyOrHoldPunctuation) {
  const auto s =
      applied(json{{"headers", {{"X-Empty", ""}, {"Cache-Control", "no-cache, no-store"}}}});
  ASSERT_EQ(s.headers.size(), 2u);
  EXPECT_EQ(s.headers[0].second, "");
  EXPECT_EQ(s.headers[1].second, "no-cache, no-store");
}

// ---- duration_ms -------------------------------------------------------------------------------

TEST(DurationMs, FixesTheTokenCountFromTheGap) {
  const auto s = applied(json{{"duration_ms", 1000}});
  EXPECT_EQ(s.gap_ms, 15);
  EXPECT_EQ(s.tokens, 66); // 1000 / 15
}

TEST(DurationMs, UsesAnOverriddenGap) {
  const auto s = applied(json{{"duration_ms", 35'000}, {"gap_ms", 100}});
  EXPECT_EQ(s.tokens, 350);
  EXPECT_EQ(s.gap_ms, 100);
}

TEST(DurationMs, FixesTheGapFromExplicitTokens) {
  const auto s = applied(json{{"duration_ms", 1000}, {"tokens", 10}});
  EXPECT_EQ(s.tokens, 10);
  EXPECT_EQ(s.gap_ms, 100);
}

TEST(DurationMs, KeyOrderDoesNotMatter) {
  const auto s = applied(json{{"tokens", 10}, {"duration_ms", 1000}});
  EXPECT_EQ(s.tokens, 10);
  EXPECT_EQ(s.gap_ms, 100);
}

TEST(DurationMs, AlwaysAtLeastOneToken) {
  const auto s = applied(json{{"duration_ms", 10}, {"gap_ms", 100}});
  EXPECT_EQ(s.tokens, 1);
}

TEST(DurationMs, NeedsAGapOrTokens) {
  EXPECT_EQ(refused(json{{"duration_ms", 1000}, {"gap_ms", 0}}),
            "streamcheck.duration_ms: needs a non-zero gap_ms or an explicit tokens");
}

TEST(DurationMs, PlannedDurationMatches) {
  const auto s = applied(json{{"duration_ms", 2000}, {"tokens", 20}, {"first_token_ms", 0}});
  EXPECT_EQ(planned_duration_ms(s), 2000);
}

TEST(PlannedDuration, FirstTokenPlusGapsPlusStall) {
  scenario s;
  EXPECT_EQ(planned_duration_ms(s), 40 + 15 * 24);
  s.stall_at = 5;
  s.stall_ms = 1000;
  EXPECT_EQ(planned_duration_ms(s), 40 + 15 * 24 + 1000);
  s.stall_at = 24; // past the last token: never happens
  EXPECT_EQ(planned_duration_ms(s), 40 + 15 * 24);
  EXPECT_EQ(planned_duration_ms(find_preset("stall-90s")->base), 40 + 15 * 24 + 90'000);
}

// ---- overrides from the query string ----------------------------------------------------------

TEST(OverridesFromQuery, EmptyQueryIsAnEmptyObject) {
  EXPECT_EQ(overrides_from_query(""), json::object());
  EXPECT_EQ(overrides_from_query("a=1&b"), json::object());
}

TEST(OverridesFromQuery, ScalarsAreParsedAsJson) {
  EXPECT_EQ(
      overrides_from_query("streamcheck.gap_ms=20&streamcheck.split_events=true&"
                           "streamcheck.stall_at=-1&streamcheck.legacy_chunks=false"),
      (json{{"gap_ms", 20}, {"split_events", true}, {"stall_at", -1}, {"legacy_chunks", false}}));
}

TEST(OverridesFromQuery, OtherParametersAreIgnored) {
  EXPECT_EQ(overrides_from_query("model=x&streamcheck.tokens=5&gap_ms=9&streamcheckx.a=1"),
            (json{{"tokens", 5}}));
}

TEST(OverridesFromQuery, NonJsonValuesStayStrings) {
  const json o =
      overrides_from_query("streamcheck.gap_ms=fast&streamcheck.tokens=&streamcheck.seed");
  EXPECT_EQ(o, (json{{"gap_ms", "fast"}, {"tokens", ""}, {"seed", ""}}));
}

TEST(OverridesFromQuery, StructuredJsonIsNotTaken) {
  EXPECT_EQ(overrides_from_query("streamcheck.headers=%7B%22A%22%3A%221%22%7D"),
            (json{{"headers", "{\"A\":\"1\"}"}}));
}

TEST(OverridesFromQuery, IdErrorMessageAndAbortAreAlwaysStrings) {
  EXPECT_EQ(overrides_from_query("streamcheck.id=123&streamcheck.error_message=true&"
                                 "streamcheck.abort=rst"),
            (json{{"id", "123"}, {"error_message", "true"}, {"abort", "rst"}}));
}

TEST(OverridesFromQuery, PercentDecodesKeysAndValues) {
  EXPECT_EQ(overrides_from_query("streamcheck.id=a%20b%2Bc%2fd&streamcheck%2Egap_ms=3"),
            (json{{"id", "a b+c/d"}, {"gap_ms", 3}}));
}

TEST(OverridesFromQuery, PlusIsASpace) {
  EXPECT_EQ(overrides_from_query("streamcheck.error_message=model+exploded"),
            (json{{"error_message", "model exploded"}}));
}

TEST(OverridesFromQuery, BrokenEscapesStayLiteral) {
  EXPECT_EQ(overrides_from_query("streamcheck.id=100%&streamcheck.error_message=%zz%4"),
            (json{{"id", "100%"}, {"error_message", "%zz%4"}}));
}

TEST(OverridesFromQuery, HeadersDotNameBuildsAnObjectOfStrings) {
  EXPECT_EQ(overrides_from_query("streamcheck.headers.X-Accel-Buffering=no&"
                                 "streamcheck.headers.X-Count=5&"
                                 "streamcheck.headers.Access-Control-Allow-Origin=%2A"),
            (json{{"headers",
                   {{"X-Accel-Buffering", "no"},
                    {"X-Count", "5"},
                    {"Access-Control-Allow-Origin", "*"}}}}));
}

TEST(OverridesFromQuery, RoundTripsThroughApplyOverrides) {
  const auto s = applied(overrides_from_query(
      "streamcheck.id=q-1&streamcheck.tokens=3&streamcheck.abort=fin&streamcheck.headers.X-A=b"));
  EXPECT_EQ(s.id, "q-1");
  EXPECT_EQ(s.tokens, 3);
  EXPECT_EQ(s.abort, abort_kind::fin);
  EXPECT_EQ(s.abort_after, 0);
  EXPECT_EQ(s.headers, (std::vector<std::pair<std::string, std::string>>{{"X-A", "b"}}));
}

TEST(OverridesFromQuery, HeaderInjectionIsRefused) {
  const json o = overrides_from_query("streamcheck.headers.X-A=1%0D%0ASet-Cookie:%20a=b");
  EXPECT_EQ(o, (json{{"headers", {{"X-A", "1\r\nSet-Cookie: a=b"}}}}));
  EXPECT_EQ(refused(o), "streamcheck.headers.X-A: must be a value without CR, LF or NUL, got "
                        "\"1\\r\\nSet-Cookie: a=b\"");
  EXPECT_EQ(refused(overrides_from_query("streamcheck.headers.X-A%0D%0AB=1")),
            "streamcheck.headers: invalid header name \"X-A\\r\\nB\"");
  EXPECT_EQ(refused(overrides_from_query("streamcheck.headers.X-A=%00")),
            "streamcheck.headers.X-A: must be a value without CR, LF or NUL, got \"\\u0000\"");
}

TEST(OverridesFromQuery, ScalarHeadersThenHeadersDotNameDoesNotThrow) {
  json o;
  ASSERT_NO_THROW(o = overrides_from_query("streamcheck.headers=1&streamcheck.headers.X-A=b"));
  EXPECT_EQ(o, (json{{"headers", 1}}));
  EXPECT_EQ(refused(o),
            "streamcheck.headers: must be an object of header names to string values, got 1");
}

TEST(OverridesFromQuery, InvalidUtf8IsReportedNotThrown) {
  const json o = overrides_from_query("streamcheck.gap_ms=%FF");
  EXPECT_EQ(o, (json{{"gap_ms", "\xFF"}}));
  std::string message;
  ASSERT_NO_THROW(message = refused(o));
  EXPECT_EQ(message,
            "streamcheck.gap_ms: must be an integer in [0, 3600000], got \"\xEF\xBF\xBD\"");
  ASSERT_NO_THROW(message = refused(overrides_from_query("streamcheck.headers.%FF=1")));
  EXPECT_EQ(message, "streamcheck.headers: invalid header name \"\xEF\xBF\xBD\"");
}

} // namespace
} // namespace streamcheck::mock
