// Invariants over the whole catalog: for every check, a correct proxy and the mock itself pass,
// nothing at all never passes, and each declared probe is needed; the catalog is DESIGN §4.3's
// table, in its order and levels.
#include <algorithm>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness/runner.h"
#include "tests/unit/harness/checks/synthetic.h"

namespace streamcheck::harness {
namespace {

using namespace synthetic;

// --- every check: a correct proxy passes, nothing at all does not --------------------------------

class EveryCheck : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryCheck, HasACorrectProxyScenarioInThisTest) {
  EXPECT_TRUE(correct_proxy().contains(GetParam()))
      << "add what a correct proxy produces for " << GetParam() << " to correct_proxy()";
}

TEST_P(EveryCheck, MockDirectlyPassesWithoutBaseline) {
  if (!correct_proxy().contains(GetParam())) GTEST_SKIP();
  if (by_id(GetParam()).needs_proxy) GTEST_SKIP() << "the runner never judges it directly";
  const observations &direct = correct(GetParam(), direct_lag_us);
  const verdict v = by_id(GetParam()).judge(direct, ctx());
  EXPECT_TRUE(v.passed) << v.expected << " / " << v.actual;
  EXPECT_FALSE(v.measured.empty());
}

TEST_P(EveryCheck, CorrectProxyPasses) {
  if (!correct_proxy().contains(GetParam())) GTEST_SKIP();
  run r(GetParam());
  const verdict v = r.judge();
  EXPECT_TRUE(v.passed) << v.expected << " / " << v.actual;
  EXPECT_TRUE(v.expected.empty());
  const check_result cr = judge_check(r.c, ctx(), r.direct, r.proxied, true, "nginx");
  EXPECT_EQ(cr.result, outcome::pass) << cr.actual;
  EXPECT_TRUE(cr.fix.empty());
}

TEST_P(EveryCheck, MissingProbesNeverPass) {
  const check &c = by_id(GetParam());
  if (c.severity == level::info) GTEST_SKIP() << "INFO checks only measure";
  const observations nothing;
  const verdict alone = c.judge(nothing, ctx());
  EXPECT_FALSE(alone.passed) << alone.measured;
  // Inconclusive says what it could not observe and why, but expects nothing of the proxy.
  if (!alone.inconclusive) {
    EXPECT_FALSE(alone.expected.empty());
  }
  EXPECT_FALSE(alone.actual.empty());
  EXPECT_FALSE(alone.cause.empty());
  if (!correct_proxy().contains(GetParam())) return;
  // The direct run was fine, the proxied run came back empty.
  const observations &direct = correct(GetParam(), direct_lag_us);
  observations empty;
  empty.baseline = &direct;
  const verdict v = c.judge(empty, ctx());
  EXPECT_FALSE(v.passed) << v.measured;
}

TEST_P(EveryCheck, EveryDeclaredProbeIsNeeded) {
  // A verdict over "whatever came back" passes when a probe is missing: each declared probe,
  // absent or never sent, must keep the check from passing.
  const check &c = by_id(GetParam());
  if (c.severity == level::info) GTEST_SKIP() << "INFO checks only measure";
  const auto &specs = specs_of(GetParam());
  for (std::size_t i = 0; i < specs.size(); ++i) {
    run absent(GetParam());
    absent.proxied.probes.erase(absent.proxied.probes.begin() + static_cast<std::ptrdiff_t>(i));
    absent.proxied.journal.erase(absent.proxied.journal.begin() + static_cast<std::ptrdiff_t>(i));
    const verdict a = absent.judge();
    EXPECT_FALSE(a.passed) << specs[i].name << " absent: " << a.measured;
    EXPECT_FALSE(a.actual.empty()) << specs[i].name;

    run unsent(GetParam());
    unsent.proxied.probes[i] = probe_result{};
    unsent.proxied.probes[i].name = specs[i].name;
    unsent.proxied.journal[i].clear();
    const verdict u = unsent.judge();
    EXPECT_FALSE(u.passed) << specs[i].name << " not sent: " << u.measured;
    if (specs.size() > 8) break; // conn.concurrent-streams: the first few say enough
  }
}

TEST_P(EveryCheck, ProbeNamesAreUniqueAndSpecsSane) {
  const auto specs = by_id(GetParam()).probes(ctx());
  ASSERT_FALSE(specs.empty());
  std::set<std::string> names;
  for (const auto &s : specs) {
    EXPECT_TRUE(names.insert(s.name).second) << "duplicate probe " << s.name;
    EXPECT_EQ(s.path.front(), '/');
    // The deadline outlasts the stream the real mock plans for the request, with room for a
    // loaded machine: a correct proxy must never be cut by the harness's own timeout.
    const mock::plan p = mock_plan_for(s);
    // (CURLOPT_TIMEOUT_MS: counted from the probe's own start, after start_after_ms.)
    const long long needed = mock::planned_duration_ms(p.timeline) + 5'000;
    EXPECT_GE(s.timeout_ms, needed)
        << s.name << ": the mock plans " << mock::planned_duration_ms(p.timeline) << " ms";
  }
}

std::vector<std::string> catalog_ids() {
  std::vector<std::string> ids;
  for (const auto &c : catalog())
    ids.push_back(c.id);
  return ids;
}

INSTANTIATE_TEST_SUITE_P(Catalog, EveryCheck, ::testing::ValuesIn(catalog_ids()), test_name);

// --- catalog invariants --------------------------------------------------------------------------

// DESIGN §4.3, in table order, with levels.
const std::vector<std::pair<std::string, level>> design_table = {
    {"stream.first-token", level::must},
    {"stream.no-coalescing.ndjson", level::must},
    {"stream.no-coalescing.sse", level::must},
    {"stream.compressed-client", level::must},
    {"stream.large-response", level::should},
    {"stream.content-type", level::must},
    {"stream.framing", level::info},
    {"timeout.slow-first-token", level::must},
    {"timeout.idle-gap", level::must},
    {"timeout.long-stream", level::must},
    {"cors.preflight", level::must},
    {"cors.stream-response", level::must},
    {"cors.single-value", level::must},
    {"cors.error-responses", level::must},
    {"cors.proxy-errors", level::should},
    {"cors.credentials", level::must},
    {"cors.vary-origin", level::should},
    {"upstream.origin-accepted", level::must},
    {"upstream.host-accepted", level::must},
    {"headers.authorization", level::must},
    {"headers.forwarded", level::should},
    {"conn.keepalive", level::should},
    {"conn.upstream-keepalive", level::info},
    {"conn.concurrent-streams", level::must},
    {"abort.cancel-propagates", level::must},
    {"abort.cancel-during-pause", level::should},
    {"abort.cancel-before-first-token", level::must},
    {"abort.truncation-visible", level::should},
    {"abort.no-replay", level::should},
    {"body.large-request", level::must},
    {"api.endpoints", level::must},
    {"api.error-passthrough", level::must},
    {"api.in-band-error", level::must},
};

TEST(Catalog, IdsAreUniqueAndWellFormed) {
  const std::regex shape("^[a-z]+(\\.[a-z0-9-]+)+$");
  std::set<std::string> seen;
  for (const auto &c : catalog()) {
    EXPECT_TRUE(seen.insert(c.id).second) << "duplicate id " << c.id;
    EXPECT_TRUE(std::regex_match(c.id, shape)) << c.id;
  }
}

TEST(Catalog, EveryCheckIsComplete) {
  for (const auto &c : catalog()) {
    EXPECT_FALSE(c.title.empty()) << c.id;
    EXPECT_FALSE(c.requirement(ctx()).empty()) << c.id;
    EXPECT_TRUE(c.probes) << c.id;
    EXPECT_TRUE(c.judge) << c.id;
    if (c.severity != level::info) {
      EXPECT_TRUE(c.fixes.contains("generic") || c.fixes.contains("nginx"))
          << c.id << " fails without saying how to fix it";
    }
  }
}

TEST(Catalog, EveryDesignIdIsPresentWithItsLevel) {
  ASSERT_EQ(design_table.size(), 33u);
  for (const auto &[id, lvl] : design_table) {
    const auto it = std::find_if(catalog().begin(), catalog().end(),
                                 [&](const check &c) { return c.id == id; });
    ASSERT_NE(it, catalog().end()) << id << " (DESIGN §4.3) is missing";
    EXPECT_EQ(it->severity, lvl) << id;
  }
}

TEST(Catalog, OnlyDesignIdsInDesignOrder) {
  std::size_t last = 0;
  for (const auto &c : catalog()) {
    const auto it = std::find_if(design_table.begin(), design_table.end(),
                                 [&](const auto &row) { return row.first == c.id; });
    ASSERT_NE(it, design_table.end()) << c.id << " is not in DESIGN §4.3";
    const auto pos = static_cast<std::size_t>(it - design_table.begin());
    EXPECT_GE(pos, last) << c.id << " is out of DESIGN order";
    last = pos;
    EXPECT_EQ(c.severity, it->second) << c.id;
  }
}

TEST(Catalog, IsExactlyTheDesignTableInOrder) {
  std::vector<std::string> want;
  for (const auto &row : design_table)
    want.push_back(row.first);
  EXPECT_EQ(catalog_ids(), want);
}

TEST(Catalog, FamiliesComeInDesignOrder) {
  const std::vector<std::string> families = {"stream", "timeout", "cors", "upstream", "headers",
                                             "conn",   "abort",   "body", "api"};
  std::vector<std::string> seen;
  for (const auto &c : catalog()) {
    const std::string family = c.id.substr(0, c.id.find('.'));
    if (seen.empty() || seen.back() != family) seen.push_back(family);
  }
  EXPECT_EQ(seen, families) << "each family once, in DESIGN §4.3 order";
}

TEST(Catalog, PolicyDependentAreTheCorsAndUpstreamChecks) {
  // DESIGN §4.3: their self-test uses a permissive mock, since a default Ollama refuses a
  // foreign Origin by design.
  for (const auto &c : catalog()) {
    const std::string family = c.id.substr(0, c.id.find('.'));
    EXPECT_EQ(c.policy_dependent, family == "cors" || family == "upstream") << c.id;
  }
}

TEST(Catalog, ChecksThatNeedAProxyAreNeverMust) {
  // A MUST check must be able to fail against the mock directly, so that a harness fault is
  // never blamed on the proxy.
  for (const auto &c : catalog()) {
    if (c.needs_proxy) {
      EXPECT_NE(c.severity, level::must) << c.id;
    }
  }
  for (const char *id : {"cors.proxy-errors", "headers.forwarded", "conn.upstream-keepalive"})
    EXPECT_TRUE(by_id(id).needs_proxy) << id;
}

TEST(Catalog, FixForFallsBackToGenericMarkedAsSuch) {
  const check &c = by_id("stream.first-token");
  EXPECT_NE(c.fix_for("nginx").find("proxy_buffering off"), std::string::npos);
  EXPECT_EQ(c.fix_for("generic"), c.fixes.at("generic"));
  // No other proxy's directive, and no claim that the generic text was verified on it.
  EXPECT_NE(c.fix_for("haproxy").find("option http-no-delay"), std::string::npos)
      << "proven by fixtures/haproxy/stock.cfg vs http-no-delay.cfg";
  EXPECT_NE(c.fix_for("lighttpd").find("server.stream-response-body = 2"), std::string::npos)
      << "proven by fixtures/lighttpd/stock.conf vs stream-response-body.conf";
  // Caddy and Apache stream as they are: no pair, so the generic text, marked as such.
  for (const char *kind : {"caddy", "apache"}) {
    EXPECT_EQ(c.fix_for(kind).rfind(c.fixes.at("generic"), 0), 0u) << kind;
    EXPECT_NE(c.fix_for(kind).find(std::string("no ") + kind + " setting has been verified"),
              std::string::npos)
        << c.fix_for(kind);
  }
}

TEST(Catalog, EveryFailableCheckHasGenericAdvice) {
  // fix_for() never shows one proxy's directive for another kind, so the generic text must exist.
  for (const auto &c : catalog())
    if (c.severity != level::info) {
      EXPECT_TRUE(c.fixes.contains("generic")) << c.id;
    }
}

// --- requirement text: the bounds and profile figures in force -----------------------------------

// The figures a requirement states with a unit ("100 ms", "1 s", "20 MiB") or as a count of
// streams, in order.
std::vector<std::string> figures_in(const std::string &text) {
  static const std::regex figure(R"(\b\d+(\.\d+)? ?(ms|s|MiB|concurrent streams)\b)");
  std::vector<std::string> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), figure);
       it != std::sregex_iterator(); ++it)
    out.push_back(it->str());
  return out;
}

TEST(Requirement, StatesTheTolerancesInForce) {
  const check_context doubled{ctx().prof, tolerances{2}};
  EXPECT_NE(by_id("stream.first-token").requirement(ctx()).find("within 100 ms "),
            std::string::npos);
  EXPECT_NE(by_id("stream.first-token").requirement(doubled).find("within 200 ms "),
            std::string::npos)
      << by_id("stream.first-token").requirement(doubled);
  for (const char *id : {"stream.no-coalescing.ndjson", "stream.no-coalescing.sse",
                         "stream.compressed-client", "stream.large-response"})
    EXPECT_NE(by_id(id).requirement(doubled).find("p95 <= 100 ms, max <= 500 ms"),
              std::string::npos)
        << id << ": " << by_id(id).requirement(doubled);
  for (const char *id :
       {"abort.cancel-propagates", "abort.cancel-during-pause", "abort.cancel-before-first-token"})
    EXPECT_NE(by_id(id).requirement(doubled).find("closed within 2 s."), std::string::npos)
        << id << ": " << by_id(id).requirement(doubled);
}

TEST(Requirement, StatesTheProfilesFigures) {
  const check_context standard{*find_profile("standard"), tolerances{}};
  const check_context thorough{*find_profile("thorough"), tolerances{}};
  EXPECT_NE(by_id("conn.concurrent-streams").requirement(standard).find("256 concurrent streams"),
            std::string::npos);
  EXPECT_NE(by_id("body.large-request").requirement(thorough).find("64 MiB"), std::string::npos);
  EXPECT_NE(by_id("timeout.idle-gap").requirement(standard).find("65 s"), std::string::npos);
  EXPECT_NE(by_id("timeout.slow-first-token").requirement(thorough).find("130 s"),
            std::string::npos);
  EXPECT_NE(by_id("timeout.long-stream").requirement(thorough).find("300 s"), std::string::npos);
}

TEST(Requirement, NoCheckStatesAFixedBound) {
  // Every figure a requirement states follows the tolerances or the profile: a fixed "100 ms"
  // next to a bound --tolerance-mult moved is the report contradicting itself.
  const check_context tripled{ctx().prof, tolerances{3}};
  const check_context thorough{*find_profile("thorough"), tolerances{}};
  for (const auto &c : catalog()) {
    const auto base = figures_in(c.requirement(ctx()));
    const auto scaled = figures_in(c.requirement(tripled));
    const auto other = figures_in(c.requirement(thorough));
    ASSERT_EQ(base.size(), scaled.size()) << c.id;
    ASSERT_EQ(base.size(), other.size()) << c.id;
    for (std::size_t i = 0; i < base.size(); ++i)
      EXPECT_TRUE(base[i] != scaled[i] || base[i] != other[i])
          << c.id << " states a fixed " << base[i] << ": " << c.requirement(ctx());
  }
}

TEST(Requirement, ReportStatesTheBoundItsVerdictApplied) {
  // The report's requirement line and a failure's expected line name the same bound.
  run r("stream.first-token");
  delay_all(r.probe("stream"), 900'000);
  const check_context doubled{ctx().prof, tolerances{2}};
  const check_result cr = judge_check(r.c, doubled, r.direct, r.proxied, true, "nginx");
  ASSERT_EQ(cr.result, outcome::fail);
  EXPECT_NE(cr.requirement.find("within 200 ms "), std::string::npos) << cr.requirement;
  EXPECT_NE(cr.expected.find("<= 200.0 ms"), std::string::npos) << cr.expected;
}

TEST(Forwarding, ChecksOfAStreamTheUpstreamNeverSawAreInconclusive) {
  // A 404 from a static root or a 401 from an auth gate is not a buffering or timeout fault.
  for (const char *id :
       {"stream.first-token", "stream.no-coalescing.ndjson", "stream.no-coalescing.sse",
        "stream.compressed-client", "stream.large-response", "timeout.slow-first-token",
        "timeout.idle-gap", "timeout.long-stream", "headers.forwarded"}) {
    run r(id);
    for (auto &entries : r.proxied.journal)
      entries.clear();
    for (auto &p : r.proxied.probes) {
      p = answered(spec_named(specs_of(id), p.name), 404, "text/html");
      p.body = "<html>404 Not Found</html>";
    }
    const verdict v = r.judge();
    EXPECT_FALSE(v.passed) << id;
    EXPECT_TRUE(v.inconclusive) << id << ": " << v.actual;
    EXPECT_EQ(v.actual, "the request never reached the upstream (client saw HTTP 404)") << id;
  }
}

// The body a probe sends is its typed timeline, so what the judge and the runner derive from the
// timeline is what the mock will run (the mock parses the body with the same apply_overrides).
TEST(Catalog, EveryStreamedProbeSendsItsTimeline) {
  for (const auto &c : catalog())
    for (const auto &spec : specs_of(c.id)) {
      if (!spec.timeline) continue;
      ASSERT_TRUE(spec.body.is_object() && spec.body.contains("streamcheck")) << c.id;
      const auto parsed = protocol::apply_overrides({}, spec.body["streamcheck"]);
      ASSERT_TRUE(parsed) << c.id << " " << spec.name << ": " << parsed.message();
      EXPECT_EQ(parsed.value(), *spec.timeline) << c.id << " " << spec.name;
    }
}

} // namespace
} // namespace streamcheck::harness
