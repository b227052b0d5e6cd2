// Every check's verdict on synthetic observations: what a correct proxy produces passes, and each
// fault the check exists for fails with figures that say what went wrong. The scenario (probe
// names, event counts, gaps) is read from the check's own probes(ctx), never restated here.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness/check.h"
#include "harness/runner.h"

namespace streamcheck::harness {
namespace {

const check_context &ctx() {
  static const check_context c{*find_profile("quick"), tolerances{}};
  return c;
}

const check &by_id(const std::string &id) {
  for (const auto &c : catalog())
    if (c.id == id) return c;
  throw std::runtime_error("no check '" + id + "' in the catalog");
}

std::vector<probe_spec> specs_of(const std::string &id) {
  return by_id(id).probes(ctx());
}

probe_spec spec_named(const std::vector<probe_spec> &specs, const std::string &name) {
  for (const auto &s : specs)
    if (s.name == name) return s;
  throw std::runtime_error("no probe '" + name + "'");
}

// --- synthetic observations ---------------------------------------------------------------------

// The mock's scenario knobs as a probe asks for them (defaults as in the mock).
struct scenario {
  int first_ms = 40, gap_ms = 15, tokens = 24, stall_at = -1, stall_ms = 0;
  int abort_after = -1, error_after = -1, status = 200;

  int events() const { return tokens + 1; } // the tokens and the final done:true object
  std::int64_t emitted_us(int i) const {
    std::int64_t t = first_ms + static_cast<std::int64_t>(i) * gap_ms;
    if (stall_at >= 0 && i >= stall_at) t += stall_ms;
    return t * 1000;
  }
};

scenario scenario_of(const probe_spec &s) {
  scenario sc;
  if (!s.body.is_object() || !s.body.contains("streamcheck")) return sc;
  const json &j = s.body.at("streamcheck");
  sc.first_ms = j.value("first_token_ms", sc.first_ms);
  sc.gap_ms = j.value("gap_ms", sc.gap_ms);
  sc.tokens = j.value("tokens", sc.tokens);
  sc.stall_at = j.value("stall_at", sc.stall_at);
  sc.stall_ms = j.value("stall_ms", sc.stall_ms);
  sc.abort_after = j.value("abort_after", sc.abort_after);
  sc.error_after = j.value("error_after", sc.error_after);
  sc.status = j.value("status", sc.status);
  return sc;
}

// The number of stamped events a probe's scenario produces.
int expected_events(const probe_spec &s) {
  return scenario_of(s).events();
}

bool is_sse(const probe_spec &s) {
  return s.path.rfind("/v1/", 0) == 0;
}

probe_result answered(const probe_spec &spec, long status, const std::string &content_type) {
  probe_result r;
  r.name = spec.name;
  r.url = "http://127.0.0.1:8080" + spec.path;
  r.started = true;
  r.status = status;
  r.http_version = "1.1";
  r.headers_us = 2'000;
  r.header_lines = {"HTTP/1.1 " + std::to_string(status) + " X", "Content-Type: " + content_type,
                    "Transfer-Encoding: chunked"};
  r.framing = body_framing::chunked;
  return r;
}

parsed_event event(const json &value, int seq, std::int64_t emitted_us, std::int64_t arrival_us,
                   std::size_t write_index) {
  parsed_event e;
  e.value = value;
  e.value["streamcheck"] = {{"seq", seq}, {"t_us", emitted_us}};
  e.text = e.value.dump();
  e.seq = seq;
  e.emitted_us = emitted_us;
  e.arrival_us = arrival_us;
  e.write_index = write_index;
  return e;
}

// Appends an event in a read of its own.
void deliver(probe_result &r, parsed_event e) {
  e.write_index = r.writes.size();
  r.writes.push_back({e.arrival_us, e.text.size() + 1});
  r.body += e.text + "\n";
  r.body_bytes = r.body.size();
  if (r.first_byte_us < 0) r.first_byte_us = e.arrival_us;
  r.finished_us = e.arrival_us + 500;
  r.events.push_back(std::move(e));
}

const json token = {{"model", "llama3.2"},
                    {"message", {{"role", "assistant"}, {"content", "blue"}}},
                    {"done", false}};
const json final_object = {{"model", "llama3.2"}, {"done", true}, {"done_reason", "stop"}};

// What a correct path delivers for a streamed probe: every event `lag_us` after its emission, one
// read each; an abort asked of the mock or the harness cuts it where asked.
probe_result streamed(const probe_spec &spec, std::int64_t lag_us) {
  const scenario sc = scenario_of(spec);
  probe_result r =
      answered(spec, sc.status, is_sse(spec) ? "text/event-stream" : "application/x-ndjson");
  for (int i = 0; i < sc.events(); ++i) {
    if (sc.abort_after >= 0 && i == sc.abort_after) {
      r.curl_code = 18;
      r.curl_error = "Transfer closed with outstanding read data remaining";
      return r;
    }
    if (spec.abort_after_events >= 0 && i == spec.abort_after_events) {
      r.aborted = true;
      r.aborted_us = r.events.back().arrival_us + 1'000;
      r.finished_us = r.aborted_us;
      return r;
    }
    const std::int64_t at = sc.emitted_us(i) + lag_us;
    if (sc.error_after >= 0 && i == sc.error_after) {
      deliver(r, event({{"error", "an error was encountered while running the model"}}, i,
                       sc.emitted_us(i), at, 0));
      return r;
    }
    deliver(r, event(i + 1 == sc.events() ? final_object : token, i, sc.emitted_us(i), at, 0));
  }
  return r;
}

// Re-cuts a stream into reads of `group` events, each released with its last event (a buffer).
void release_together(probe_result &r, std::size_t group, std::size_t from = 0,
                      std::size_t to = SIZE_MAX) {
  group = std::max<std::size_t>(group, 1);
  to = std::min(to, r.events.size());
  std::vector<body_write> writes;
  std::size_t i = 0;
  while (i < r.events.size()) {
    const std::size_t end = i >= from && i < to ? std::min(i + group, to) : i + 1;
    const std::int64_t at = r.events[end - 1].arrival_us;
    std::size_t bytes = 0;
    for (; i < end; ++i) {
      r.events[i].arrival_us = at;
      r.events[i].write_index = writes.size();
      bytes += r.events[i].text.size() + 1;
    }
    writes.push_back({at, bytes});
  }
  r.writes = writes;
}

void delay_all(probe_result &r, std::int64_t us) {
  for (auto &e : r.events)
    e.arrival_us += us;
  for (auto &w : r.writes)
    w.at_us += us;
}

json journal_entry(const std::string &outcome, std::int64_t ended_us,
                   std::int64_t peer_closed_us = -1) {
  return {{"outcome", outcome}, {"peer_closed_us", peer_closed_us}, {"ended_us", ended_us}};
}

probe_result &probe_in(observations &o, const std::string &name) {
  for (auto &p : o.probes)
    if (p.name == name) return p;
  throw std::runtime_error("no probe '" + name + "' in the observations");
}

std::vector<json> &journal_in(observations &o, const std::string &name) {
  for (std::size_t i = 0; i < o.probes.size(); ++i)
    if (o.probes[i].name == name) return o.journal.at(i);
  throw std::runtime_error("no journal for '" + name + "'");
}

// --- what a correct proxy (or the mock itself) produces, per check ------------------------------

using builder = std::function<observations(const std::vector<probe_spec> &, std::int64_t lag_us)>;

observations every_probe_streamed(const std::vector<probe_spec> &specs, std::int64_t lag_us) {
  observations o;
  for (const auto &s : specs) {
    o.probes.push_back(streamed(s, lag_us));
    o.journal.push_back({journal_entry("completed", o.probes.back().finished_us)});
  }
  return o;
}

observations cancelled(const std::vector<probe_spec> &specs, std::int64_t lag_us) {
  observations o;
  for (const auto &s : specs) {
    probe_result r = streamed(s, lag_us);
    if (s.abort_after_ms >= 0) { // closed before the upstream said anything
      r = answered(s, 0, "");
      r.header_lines.clear();
      r.aborted = true;
      r.aborted_us = s.abort_after_ms * 1000LL;
      r.finished_us = r.aborted_us;
    }
    const std::int64_t closed = r.aborted_us + 2'000 + lag_us;
    o.probes.push_back(r);
    o.journal.push_back({journal_entry("peer_closed", closed + 300, closed)});
  }
  return o;
}

observations reset_once(const std::vector<probe_spec> &specs, std::int64_t) {
  observations o;
  for (const auto &s : specs) {
    probe_result r = answered(s, 502, "text/html");
    r.body = "<html><body>502 Bad Gateway</body></html>";
    o.probes.push_back(r);
    o.journal.push_back({journal_entry("aborted_rst", 1'000)});
  }
  return o;
}

// Non-streaming routes: a JSON body whose volatile fields differ between runs.
observations routes(const std::vector<probe_spec> &specs, std::int64_t lag_us) {
  observations o;
  for (const auto &s : specs) {
    probe_result r = answered(s, 200, "application/json; charset=utf-8");
    r.header_lines.back() = "Content-Length: 64";
    r.framing = body_framing::content_length;
    const json body = {{"route", s.path},
                       {"models", json::array({{{"name", "llama3.2:latest"}}})},
                       {"created_at", "2025-01-01T00:00:00." + std::to_string(lag_us) + "Z"}};
    r.body = body.dump();
    r.body_bytes = r.body.size();
    r.finished_us = 3'000 + lag_us;
    o.probes.push_back(r);
    o.journal.push_back({journal_entry("completed", 2'000)});
  }
  return o;
}

long upstream_status(const probe_spec &s) {
  const scenario sc = scenario_of(s);
  if (sc.status != 200) return sc.status;
  return s.body.value("model", "") == "no-such-model" ? 404 : 200;
}

observations upstream_errors(const std::vector<probe_spec> &specs, std::int64_t) {
  observations o;
  for (const auto &s : specs) {
    const long status = upstream_status(s);
    probe_result r = answered(s, status, "application/json; charset=utf-8");
    r.body = is_sse(s)
                 ? json{{"error", {{"message", "model not found"}, {"type", "api_error"}}}}.dump()
                 : json{{"error", "model 'no-such-model' not found"}}.dump();
    r.body_bytes = r.body.size();
    o.probes.push_back(r);
    o.journal.push_back({journal_entry("completed", 1'000)});
  }
  return o;
}

const std::map<std::string, builder> &correct_proxy() {
  static const std::map<std::string, builder> all = {
      {"stream.first-token", every_probe_streamed},
      {"stream.no-coalescing.ndjson", every_probe_streamed},
      {"stream.no-coalescing.sse", every_probe_streamed},
      {"stream.compressed-client", every_probe_streamed},
      {"stream.large-response", every_probe_streamed},
      {"stream.content-type", every_probe_streamed},
      {"stream.framing", every_probe_streamed},
      {"timeout.slow-first-token", every_probe_streamed},
      {"timeout.idle-gap", every_probe_streamed},
      {"timeout.long-stream", every_probe_streamed},
      {"abort.cancel-propagates", cancelled},
      {"abort.cancel-before-first-token", cancelled},
      {"abort.truncation-visible", every_probe_streamed},
      {"abort.no-replay", reset_once},
      {"api.endpoints", routes},
      {"api.error-passthrough", upstream_errors},
      {"api.in-band-error", every_probe_streamed},
  };
  return all;
}

constexpr std::int64_t direct_lag_us = 1'000;
constexpr std::int64_t proxy_lag_us = 3'000;

// The direct run (the mock itself) and a correct proxy's run, judged as the runner does.
struct run {
  observations direct;
  observations proxied;
  const check &c;

  explicit run(const std::string &id)
      : direct(correct_proxy().at(id)(specs_of(id), direct_lag_us)),
        proxied(correct_proxy().at(id)(specs_of(id), proxy_lag_us)), c(by_id(id)) {}
  verdict judge() {
    proxied.baseline = &direct;
    return c.judge(proxied, ctx());
  }
  probe_result &probe(const std::string &name) { return probe_in(proxied, name); }
};

// --- every check: a correct proxy passes, nothing at all does not --------------------------------

class EveryCheck : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryCheck, HasACorrectProxyScenarioInThisTest) {
  EXPECT_TRUE(correct_proxy().contains(GetParam()))
      << "add what a correct proxy produces for " << GetParam() << " to correct_proxy()";
}

TEST_P(EveryCheck, MockDirectlyPassesWithoutBaseline) {
  if (!correct_proxy().contains(GetParam())) GTEST_SKIP();
  const observations direct = correct_proxy().at(GetParam())(specs_of(GetParam()), direct_lag_us);
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
  EXPECT_FALSE(alone.expected.empty());
  EXPECT_FALSE(alone.actual.empty());
  EXPECT_FALSE(alone.cause.empty());
  if (!correct_proxy().contains(GetParam())) return;
  // The direct run was fine, the proxied run came back empty.
  const observations direct = correct_proxy().at(GetParam())(c.probes(ctx()), direct_lag_us);
  observations empty;
  empty.baseline = &direct;
  const verdict v = c.judge(empty, ctx());
  EXPECT_FALSE(v.passed) << v.measured;
}

TEST_P(EveryCheck, ProbeNamesAreUniqueAndSpecsSane) {
  const auto specs = by_id(GetParam()).probes(ctx());
  ASSERT_FALSE(specs.empty());
  std::set<std::string> names;
  for (const auto &s : specs) {
    EXPECT_TRUE(names.insert(s.name).second) << "duplicate probe " << s.name;
    EXPECT_EQ(s.path.front(), '/');
    EXPECT_GT(s.timeout_ms, 0);
  }
}

std::string test_name(const ::testing::TestParamInfo<std::string> &info) {
  std::string n = info.param;
  for (auto &ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
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
    EXPECT_FALSE(c.requirement.empty()) << c.id;
    EXPECT_TRUE(c.probes) << c.id;
    EXPECT_TRUE(c.judge) << c.id;
    if (c.severity != level::info) {
      EXPECT_TRUE(c.fixes.contains("generic") || c.fixes.contains("nginx"))
          << c.id << " fails without saying how to fix it";
    }
  }
}

TEST(Catalog, DesignFamiliesArePresentWithTheirLevels) {
  for (const auto &[id, lvl] : design_table) {
    const std::string family = id.substr(0, id.find('.'));
    if (family != "stream" && family != "timeout" && family != "abort" && family != "api") continue;
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

TEST(Catalog, FixForFallsBackToGeneric) {
  const check &c = by_id("stream.first-token");
  EXPECT_NE(c.fix_for("nginx").find("proxy_buffering off"), std::string::npos);
  EXPECT_NE(c.fix_for("caddy").find("flush_interval"), std::string::npos);
  EXPECT_EQ(c.fix_for("lighttpd"), c.fixes.at("generic"));
}

// --- stream.first-token --------------------------------------------------------------------------

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

TEST(NoCoalescingSse, ScenarioIsSse) {
  EXPECT_EQ(spec_named(specs_of("stream.no-coalescing.sse"), "stream").path,
            "/v1/chat/completions");
  EXPECT_EQ(spec_named(specs_of("stream.no-coalescing.ndjson"), "stream").path, "/api/chat");
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

// --- timeout.* -----------------------------------------------------------------------------------

TEST(SlowFirstToken, ScenarioIsSilentForTheProfilesGap) {
  const auto &s = spec_named(specs_of("timeout.slow-first-token"), "stream");
  EXPECT_EQ(scenario_of(s).first_ms, ctx().prof.silence_ms);
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

// --- abort.cancel-* ------------------------------------------------------------------------------

class Cancel : public ::testing::TestWithParam<std::string> {};

TEST_P(Cancel, ScenarioAbortsFromTheHarnessSide) {
  const auto &s = spec_named(specs_of(GetParam()), "stream");
  EXPECT_TRUE(s.abort_after_events >= 0 || s.abort_after_ms >= 0);
  EXPECT_GT(s.settle_ms, static_cast<int>(ctx().tol.cancel_ms()));
}

TEST_P(Cancel, UpstreamThatCompletedAnywayFails) {
  run r(GetParam());
  journal_in(r.proxied, "stream") = {journal_entry("completed", 9'000'000)};
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.expected, "upstream connection closed <= 1000 ms after the client");
  EXPECT_EQ(v.actual.rfind("upstream ran to completion ", 0), 0u) << v.actual;
  EXPECT_EQ(v.measurements["upstream_outcome"], "completed");
  EXPECT_NE(v.cause.find("keeps the upstream request running"), std::string::npos);
}

TEST_P(Cancel, UpstreamStillRunningFails) {
  run r(GetParam());
  journal_in(r.proxied, "stream") = {journal_entry("in_progress", -1)};
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_NE(v.actual.find("still in_progress"), std::string::npos) << v.actual;
}

TEST_P(Cancel, ClosedTooLateFails) {
  run r(GetParam());
  const std::int64_t left = r.probe("stream").aborted_us;
  journal_in(r.proxied,
             "stream") = {journal_entry("peer_closed", left + 5'100'000, left + 5'000'000)};
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.actual, "upstream closed 5000 ms after the client");
  EXPECT_DOUBLE_EQ(v.measurements["propagation_ms"].get<double>(), 5000);
}

TEST_P(Cancel, WriteFailureWithinTheBoundPassesAndUsesEndedTime) {
  run r(GetParam());
  const std::int64_t left = r.probe("stream").aborted_us;
  journal_in(r.proxied, "stream") = {journal_entry("write_failed", left + 900'000)};
  const verdict v = r.judge();
  EXPECT_TRUE(v.passed) << v.actual;
  EXPECT_EQ(v.measured, "upstream closed 900 ms after the client");
}

TEST_P(Cancel, NotAbortedOrNotForwardedFails) {
  run done(GetParam());
  done.probe("stream").aborted = false;
  EXPECT_EQ(done.judge().expected, "the harness closes the stream mid-way");
  run lost(GetParam());
  journal_in(lost.proxied, "stream").clear();
  const verdict v = lost.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.actual, "no journal entry");
}

INSTANTIATE_TEST_SUITE_P(Checks, Cancel,
                         ::testing::Values("abort.cancel-propagates",
                                           "abort.cancel-before-first-token"),
                         test_name);

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

TEST(TruncationVisible, PassReportsWhatTheClientSaw) {
  run r("abort.truncation-visible");
  const verdict v = r.judge();
  EXPECT_EQ(v.measured, "client saw: Transfer closed with outstanding read data remaining");
}

// --- abort.no-replay -----------------------------------------------------------------------------

TEST(NoReplay, TwoUpstreamRequestsFail) {
  run r("abort.no-replay");
  journal_in(r.proxied, "stream").push_back(journal_entry("aborted_rst", 2'000));
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.expected, "exactly 1 upstream request");
  EXPECT_EQ(v.actual, "2 upstream requests");
  EXPECT_EQ(v.cause, "the proxy retried a POST");
}

TEST(NoReplay, NoUpstreamRequestFails) {
  run r("abort.no-replay");
  journal_in(r.proxied, "stream").clear();
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.actual, "0 upstream requests");
  EXPECT_EQ(v.cause, "the request never reached the upstream");
}

TEST(NoReplay, ScenarioResetsAPost) {
  const auto &s = spec_named(specs_of("abort.no-replay"), "stream");
  EXPECT_EQ(s.method, "POST");
  EXPECT_EQ(s.body.at("streamcheck").value("abort", ""), "rst");
}

// --- api.endpoints -------------------------------------------------------------------------------

TEST(Endpoints, VolatileFieldsMayDiffer) {
  run r("api.endpoints");
  ASSERT_NE(probe_in(r.direct, "tags").body, r.probe("tags").body);
  EXPECT_TRUE(r.judge().passed);
}

TEST(Endpoints, RewrittenBodyFails) {
  run r("api.endpoints");
  auto &p = r.probe("tags");
  p.body = json{{"route", "/api/tags"}, {"models", json::array()}}.dump();
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.actual, "tags (http://127.0.0.1:8080/api/tags): body differs from the upstream's");
  EXPECT_EQ(v.measurements["tags"]["intact"], false);
  EXPECT_EQ(v.measurements["version"]["intact"], true);
}

TEST(Endpoints, WrongStatusFails) {
  run r("api.endpoints");
  auto &p = r.probe("chat");
  p.status = 405;
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.actual, "chat (http://127.0.0.1:8080/api/chat): HTTP 405");
}

TEST(Endpoints, MissingRouteFails) {
  run r("api.endpoints");
  r.proxied.probes.pop_back();
  r.proxied.journal.pop_back();
  EXPECT_FALSE(r.judge().passed);
}

TEST(Endpoints, CoversTheNonStreamingRoutes) {
  std::set<std::string> paths;
  for (const auto &s : specs_of("api.endpoints"))
    paths.insert(s.method + " " + s.path);
  for (const char *want : {"GET /api/tags", "GET /api/version", "POST /api/show", "POST /api/chat",
                           "GET /v1/models", "POST /v1/chat/completions"})
    EXPECT_TRUE(paths.contains(want)) << want;
}

// --- api.error-passthrough -----------------------------------------------------------------------

TEST(ErrorPassthrough, HtmlErrorPageFails) {
  run r("api.error-passthrough");
  auto &p = r.probe("not-found");
  ASSERT_EQ(p.status, 404);
  p.body = "<html><head><title>404 Not Found</title></head><body>nginx</body></html>";
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.expected, "HTTP 404 with the upstream's JSON {\"error\":...}");
  EXPECT_EQ(v.actual.rfind("not-found: HTTP 404, body <html>", 0), 0u) << v.actual;
  EXPECT_NE(v.cause.find("replaced"), std::string::npos);
}

TEST(ErrorPassthrough, ChangedStatusFails) {
  run r("api.error-passthrough");
  ASSERT_EQ(probe_in(r.direct, "server-error").status, 500);
  auto &p = r.probe("server-error");
  p.status = 502;
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.expected, "HTTP 500 with the upstream's JSON {\"error\":...}");
  EXPECT_EQ(v.actual.rfind("server-error: HTTP 502", 0), 0u) << v.actual;
}

TEST(ErrorPassthrough, MissingProbeFails) {
  run r("api.error-passthrough");
  r.proxied.probes.pop_back();
  r.proxied.journal.pop_back();
  EXPECT_FALSE(r.judge().passed);
}

// --- api.in-band-error ---------------------------------------------------------------------------

TEST(InBandError, ErrorLineArrives) {
  run r("api.in-band-error");
  const verdict v = r.judge();
  EXPECT_TRUE(v.passed);
  EXPECT_EQ(v.measured,
            "error line arrived after " +
                std::to_string(
                    scenario_of(spec_named(specs_of("api.in-band-error"), "stream")).error_after) +
                " events");
}

TEST(InBandError, DroppedErrorLineFails) {
  run r("api.in-band-error");
  auto &p = r.probe("stream");
  p.events.pop_back();
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.actual, std::to_string(p.events.size()) + " events, none an error (HTTP 200)");
  EXPECT_NE(v.expected.find("{\"error\":...}"), std::string::npos);
}

TEST(InBandError, RewrittenErrorLineFails) {
  run r("api.in-band-error");
  auto &e = r.probe("stream").events.back();
  e.value = nullptr; // e.g. replaced by an HTML fragment
  e.text = "<b>error</b>";
  EXPECT_FALSE(r.judge().passed);
}

} // namespace
} // namespace streamcheck::harness
