// Every check's verdict on synthetic observations: what a correct proxy produces passes, and each
// fault the check exists for fails with figures that say what went wrong. The scenario (probe
// names, event counts, gaps) is read from the check's own probes(ctx), never restated here.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/fnv.h"
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

// Memoised: some checks send 20 MiB bodies, and probes(ctx) is a pure function.
const std::vector<probe_spec> &specs_of(const std::string &id) {
  static std::map<std::string, std::vector<probe_spec>> cache;
  if (auto it = cache.find(id); it != cache.end()) return it->second;
  return cache.emplace(id, by_id(id).probes(ctx())).first->second;
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

// Builders get the lag of the path they stand for: the mock directly, or a correct proxy.
constexpr std::int64_t direct_lag_us = 1'000;
constexpr std::int64_t proxy_lag_us = 3'000;

bool via_proxy(std::int64_t lag_us) {
  return lag_us != direct_lag_us;
}

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

// The upstream's JSON error for a probe that asks for one (a 404 model, a scripted status).
probe_result upstream_error(const probe_spec &s) {
  probe_result r = answered(s, upstream_status(s), "application/json; charset=utf-8");
  r.body = is_sse(s)
               ? json{{"error", {{"message", "model not found"}, {"type", "api_error"}}}}.dump()
               : json{{"error", "model 'no-such-model' not found"}}.dump();
  r.body_bytes = r.body.size();
  return r;
}

observations upstream_errors(const std::vector<probe_spec> &specs, std::int64_t) {
  observations o;
  for (const auto &s : specs) {
    o.probes.push_back(upstream_error(s));
    o.journal.push_back({journal_entry("completed", 1'000)});
  }
  return o;
}

// --- the request as the upstream saw it (the mock's journal) -------------------------------------

std::string fnv_hex(const std::string &data) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fnv1a64_of(data)));
  return buf;
}

bool same_name(const std::string &a, const std::string &b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// A request body as both ends see it: its size and FNV-1a 64.
struct request_body {
  std::size_t bytes = 0;
  std::string fnv;
};

request_body body_of(const probe_spec &s) {
  const std::string text = s.raw_body.empty() && !s.body.is_null() ? s.body.dump() : s.raw_body;
  return {text.size(), fnv_hex(text)};
}

// What the engine records about the request it sent.
void record_sent(probe_result &r, const request_body &b) {
  r.request_bytes = b.bytes;
  r.request_fnv1a64 = b.fnv;
}

// A journal entry as the mock writes it. Through a correct proxy the Host is local, the browser's
// Origin is stripped (the proxy answers CORS) and X-Forwarded-* are added; directly, the request
// arrives as sent.
json upstream_saw(const probe_spec &s, const request_body &body, bool proxied, long status,
                  int connection) {
  json headers = json::array();
  headers.push_back(json::array({"Host", proxied ? "localhost:11434" : "127.0.0.1:11434"}));
  for (const auto &h : s.headers) {
    const auto colon = h.find(':');
    const std::string name = h.substr(0, colon);
    const std::string value = h.substr(h.find_first_not_of(' ', colon + 1));
    if (same_name(name, "Host") || (proxied && same_name(name, "Origin"))) continue;
    headers.push_back(json::array({name, value}));
  }
  if (body.bytes > 0) {
    headers.push_back(json::array({"Content-Type", "application/json"}));
    headers.push_back(json::array({"Content-Length", std::to_string(body.bytes)}));
  }
  if (proxied) {
    headers.push_back(json::array({"X-Forwarded-For", "127.0.0.1"}));
    headers.push_back(json::array({"X-Forwarded-Proto", "http"}));
  }
  return {{"id", s.name},
          {"connection", connection},
          {"method", s.method},
          {"target", s.path},
          {"version", "1.1"},
          {"headers", headers},
          {"body_bytes", body.bytes},
          {"body_fnv1a64", body.fnv},
          {"status", status},
          {"outcome", "completed"},
          {"ended_us", 1'000'000},
          {"peer_closed_us", -1}};
}

// Streams that reached the upstream, each on a connection of its own.
observations forwarded_streams(const std::vector<probe_spec> &specs, std::int64_t lag_us) {
  observations o;
  int connection = 0;
  for (const auto &s : specs) {
    probe_result r = streamed(s, lag_us);
    const request_body body = body_of(s);
    record_sent(r, body);
    r.local_port = 40'000 + connection;
    o.probes.push_back(r);
    o.journal.push_back({upstream_saw(s, body, via_proxy(lag_us), 200, ++connection)});
  }
  return o;
}

// Streams one after the other on one client connection, and on one upstream connection.
observations kept_alive(const std::vector<probe_spec> &specs, std::int64_t lag_us) {
  observations o = forwarded_streams(specs, lag_us);
  for (std::size_t i = 0; i < o.probes.size(); ++i) {
    o.probes[i].local_port = 40'000;
    o.probes[i].reused_connection = i > 0;
    o.journal[i].back()["connection"] = 1;
  }
  return o;
}

std::string header_of(const probe_spec &s, const std::string &name) {
  for (const auto &h : s.headers)
    if (same_name(h.substr(0, h.find(':')), name))
      return h.substr(h.find_first_not_of(' ', h.find(':') + 1));
  return "";
}

// Allow-lists as each side answers a preflight: the mock's (Ollama's) long list directly, the
// proxy reflecting what was asked.
const char *const mock_allow_methods = "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS";
const char *const mock_allow_headers =
    "Authorization,Content-Type,User-Agent,Accept,X-Requested-With,Openai-Beta,X-Stainless-Arch,"
    "X-Stainless-Lang,X-Stainless-Os,X-Stainless-Package-Version,X-Stainless-Runtime";

// CORS as each side answers it: the mock directly (its permissive 'ollama-open' policy) with "*",
// a correct proxy in exactly one layer, echoing the allowed origin with Vary: Origin.
void add_cors(probe_result &r, bool proxied) {
  r.header_lines.push_back("Access-Control-Allow-Origin: " +
                           (proxied ? ctx().origin : std::string("*")));
  if (proxied) r.header_lines.push_back("Vary: Origin");
}

observations cors_answers(const std::vector<probe_spec> &specs, std::int64_t lag_us) {
  const bool proxied = via_proxy(lag_us);
  observations o;
  for (const auto &s : specs) {
    probe_result r;
    std::vector<json> journal;
    const request_body body = body_of(s);
    const scenario sc = scenario_of(s);
    if (s.method == "OPTIONS") { // answered by the proxy itself; directly, by the mock's CORS
      r = answered(s, 204, "");
      r.header_lines.resize(1);
      r.framing = body_framing::none;
      r.finished_us = 2'000 + lag_us;
      add_cors(r, proxied);
      r.header_lines.push_back(std::string("Access-Control-Allow-Methods: ") +
                               (proxied ? "GET, POST, OPTIONS" : mock_allow_methods));
      r.header_lines.push_back("Access-Control-Allow-Headers: " +
                               (proxied ? header_of(s, "Access-Control-Request-Headers")
                                        : std::string(mock_allow_headers)));
      r.header_lines.push_back("Access-Control-Max-Age: 86400");
      if (!proxied) journal.push_back(upstream_saw(s, body, false, 204, 1));
    } else if (sc.abort_after == 0) { // the upstream resets before any header
      if (proxied) {
        r = answered(s, 502, "application/json");
        r.header_lines[2] = "Content-Length: 49";
        r.framing = body_framing::content_length;
        r.body = R"({"error":"upstream closed the connection early"})";
        r.body_bytes = r.body.size();
        add_cors(r, true);
      } else {
        r = answered(s, 0, "");
        r.header_lines.clear();
        r.framing = body_framing::none;
        r.curl_code = 52;
        r.curl_error = "Server returned nothing (no headers, no data)";
      }
      journal.push_back(journal_entry("aborted_rst", 1'000));
    } else if (upstream_status(s) != 200) {
      r = upstream_error(s);
      add_cors(r, proxied);
      journal.push_back(upstream_saw(s, body, proxied, r.status, 1));
    } else {
      r = streamed(s, lag_us);
      add_cors(r, proxied);
      journal.push_back(upstream_saw(s, body, proxied, 200, 1));
    }
    record_sent(r, body);
    o.probes.push_back(r);
    o.journal.push_back(journal);
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
      {"abort.cancel-during-pause", cancelled},
      {"abort.cancel-before-first-token", cancelled},
      {"abort.truncation-visible", every_probe_streamed},
      {"abort.no-replay", reset_once},
      {"api.endpoints", routes},
      {"api.error-passthrough", upstream_errors},
      {"api.in-band-error", every_probe_streamed},
      {"cors.preflight", cors_answers},
      {"cors.stream-response", cors_answers},
      {"cors.single-value", cors_answers},
      {"cors.error-responses", cors_answers},
      {"cors.proxy-errors", cors_answers},
      {"cors.credentials", cors_answers},
      {"cors.vary-origin", cors_answers},
      {"upstream.origin-accepted", forwarded_streams},
      {"upstream.host-accepted", forwarded_streams},
      {"headers.authorization", forwarded_streams},
      {"headers.forwarded", forwarded_streams},
      {"conn.keepalive", kept_alive},
      {"conn.upstream-keepalive", kept_alive},
      {"conn.concurrent-streams", forwarded_streams},
      {"body.large-request", forwarded_streams},
  };
  return all;
}

// What a correct path produces for a check (memoised, like specs_of).
const observations &correct(const std::string &id, std::int64_t lag_us) {
  static std::map<std::pair<std::string, std::int64_t>, observations> cache;
  const auto key = std::make_pair(id, lag_us);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  return cache.emplace(key, correct_proxy().at(id)(specs_of(id), lag_us)).first->second;
}

// The direct run (the mock itself) and a correct proxy's run, judged as the runner does.
struct run {
  observations direct;
  observations proxied;
  const check &c;

  explicit run(const std::string &id)
      : direct(correct(id, direct_lag_us)), proxied(correct(id, proxy_lag_us)), c(by_id(id)) {}
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
    EXPECT_FALSE(c.requirement.empty()) << c.id;
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
  for (const char *kind : {"caddy", "apache", "lighttpd"}) {
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

// --- stream.first-token --------------------------------------------------------------------------

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
  journal_in(r.proxied, "stream") = {journal_entry("completed", 9'000'000)};
  const std::string cause = r.judge().cause;
  EXPECT_NE(cause.find("the model keeps "), std::string::npos) << cause;
}

INSTANTIATE_TEST_SUITE_P(Checks, Cancel,
                         ::testing::Values("abort.cancel-propagates", "abort.cancel-during-pause",
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
  journal_in(r.proxied, "stream") = {journal_entry("completed", 4'020'000)};
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
  journal_in(r.proxied, "stream") = {journal_entry("completed", left - 50'000)};
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
  journal_in(r.proxied, "stream") = {journal_entry("write_failed", left + 9'800'000)};
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

TEST(NoReplay, NoUpstreamRequestIsInconclusive) {
  run r("abort.no-replay");
  journal_in(r.proxied, "stream").clear();
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_TRUE(v.inconclusive) << "nothing was reset, so a replay could not happen";
  EXPECT_EQ(v.actual, "the request never reached the upstream (client saw HTTP 502), so it was "
                      "never reset");
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

// --- cors.* --------------------------------------------------------------------------------------

// Replaces every header line named `name` (case-insensitive) with `values`, appended at the end.
void set_header(probe_result &r, const std::string &name, const std::vector<std::string> &values) {
  std::erase_if(r.header_lines,
                [&](const std::string &l) { return same_name(l.substr(0, l.find(':')), name); });
  for (const auto &v : values)
    r.header_lines.push_back(name + ": " + v);
}

TEST(CorsPreflight, ScenarioIsTheSdksPreflight) {
  const auto &s = spec_named(specs_of("cors.preflight"), "preflight");
  EXPECT_EQ(s.method, "OPTIONS");
  EXPECT_EQ(header_of(s, "Origin"), ctx().origin);
  EXPECT_EQ(header_of(s, "Access-Control-Request-Method"), "POST");
  EXPECT_EQ(header_of(s, "Access-Control-Request-Headers"),
            "authorization,content-type,x-stainless-os");
  EXPECT_TRUE(s.body.is_null());
}

TEST(CorsPreflight, PassesBothAsTheMockAndAsAProxyAnswer) {
  run r("cors.preflight");
  EXPECT_EQ(probe_in(r.direct, "preflight").header("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(r.probe("preflight").header("Access-Control-Allow-Origin"), ctx().origin);
  const verdict v = r.judge();
  EXPECT_TRUE(v.passed) << v.actual;
  EXPECT_EQ(v.measured, "HTTP 204, origin and requested headers allowed");
}

TEST(CorsPreflight, ForwardedToAnUpstreamThatAnswers405Fails) {
  // ollama#17887: OPTIONS passed through, the upstream routes only POST.
  run r("cors.preflight");
  auto &p = r.probe("preflight");
  p = answered(spec_named(specs_of("cors.preflight"), "preflight"), 405, "text/plain");
  p.header_lines.push_back("Allow: POST");
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.expected, "2xx allowing origin https://app.example.test, POST and authorization, "
                        "content-type, x-stainless-os");
  EXPECT_EQ(v.actual, "preflight answered HTTP 405 (a browser needs 2xx)");
  EXPECT_NE(v.cause.find("forwarded upstream"), std::string::npos);
  EXPECT_EQ(v.measurements["status"].get<long>(), 405);
  const check_result cr = judge_check(r.c, ctx(), r.direct, r.proxied, false, "nginx");
  EXPECT_EQ(cr.result, outcome::fail);
  EXPECT_NE(cr.fix.find("return 204"), std::string::npos) << cr.fix;
}

TEST(CorsPreflight, AuthDemandedFromThePreflightFails) {
  run r("cors.preflight");
  r.probe("preflight").status = 401;
  EXPECT_EQ(r.judge().actual, "preflight answered HTTP 401 (a browser needs 2xx)");
}

TEST(CorsPreflight, MissingSdkHeaderFails) {
  run r("cors.preflight");
  set_header(r.probe("preflight"), "Access-Control-Allow-Headers", {"Authorization, Content-Type"});
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.actual, "Access-Control-Allow-Headers does not include x-stainless-os");
  EXPECT_EQ(v.measurements["allow_headers"], json::array({"Authorization, Content-Type"}));
}

TEST(CorsPreflight, WildcardAuthorizationPassesWithANote) {
  run r("cors.preflight");
  set_header(r.probe("preflight"), "Access-Control-Allow-Headers", {"*"});
  const verdict v = r.judge();
  EXPECT_TRUE(v.passed);
  EXPECT_NE(v.measured.find("authorization only through '*'"), std::string::npos);
  set_header(r.probe("preflight"), "Access-Control-Allow-Headers", {"*, Authorization"});
  EXPECT_TRUE(r.judge().passed);
}

TEST(CorsPreflight, MissingOrDoubledAllowOriginFails) {
  run r("cors.preflight");
  set_header(r.probe("preflight"), "Access-Control-Allow-Origin", {});
  EXPECT_EQ(r.judge().actual, "no Access-Control-Allow-Origin");
  set_header(r.probe("preflight"), "Access-Control-Allow-Origin", {ctx().origin, "*"});
  EXPECT_EQ(r.judge().actual, "Access-Control-Allow-Origin sent 2 times");
}

TEST(CorsPreflight, PostNeedsNoAllowMethods) {
  // POST is a CORS-safelisted method: Allow-Methods may leave it out.
  run r("cors.preflight");
  set_header(r.probe("preflight"), "Access-Control-Allow-Methods", {"GET"});
  EXPECT_TRUE(r.judge().passed);
}

TEST(CorsStreamResponse, ScenarioStreamsFromAForeignOrigin) {
  const auto &s = spec_named(specs_of("cors.stream-response"), "stream");
  EXPECT_EQ(header_of(s, "Origin"), ctx().origin);
  EXPECT_EQ(s.method, "POST");
  EXPECT_TRUE(s.body.value("stream", false));
}

TEST(CorsStreamResponse, NoAllowOriginFails) {
  run r("cors.stream-response");
  set_header(r.probe("stream"), "Access-Control-Allow-Origin", {});
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.expected, "exactly one Access-Control-Allow-Origin: https://app.example.test (or *)");
  EXPECT_EQ(v.actual, "no Access-Control-Allow-Origin");
  EXPECT_EQ(v.measurements["events"].get<std::size_t>(), r.probe("stream").events.size());
}

TEST(CorsStreamResponse, AnotherOriginFails) {
  run r("cors.stream-response");
  set_header(r.probe("stream"), "Access-Control-Allow-Origin", {"http://localhost:3000"});
  EXPECT_EQ(r.judge().actual, "Access-Control-Allow-Origin 'http://localhost:3000' is not "
                              "'https://app.example.test' or '*'");
}

TEST(CorsStreamResponse, RefusedRequestFails) {
  run r("cors.stream-response");
  r.probe("stream").status = 403;
  const verdict v = r.judge();
  EXPECT_EQ(v.expected, "2xx");
  EXPECT_EQ(v.actual, "HTTP 403");
}

TEST(CorsSingleValue, ProxyAndUpstreamBothAddingFails) {
  run r("cors.single-value");
  r.probe("stream").header_lines.push_back("Access-Control-Allow-Origin: *"); // the upstream's
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.expected, "each Access-Control-* header once");
  EXPECT_EQ(v.actual, "stream: Access-Control-Allow-Origin = [\"https://app.example.test\",\"*\"]");
  EXPECT_EQ(v.cause, "both the proxy and the upstream add CORS headers");
  const check_result cr = judge_check(r.c, ctx(), r.direct, r.proxied, false, "nginx");
  EXPECT_NE(cr.fix.find("proxy_hide_header"), std::string::npos) << cr.fix;
}

TEST(CorsSingleValue, CommaJoinedWildcardsFail) {
  // What a browser reports as "contains multiple values '*, *'".
  run r("cors.single-value");
  set_header(r.probe("upstream-500"), "Access-Control-Allow-Origin", {"*, *"});
  EXPECT_EQ(r.judge().actual, "upstream-500: Access-Control-Allow-Origin = [\"*, *\"]");
}

TEST(CorsSingleValue, DoubledPreflightHeaderFails) {
  run r("cors.single-value");
  r.probe("preflight").header_lines.push_back("Access-Control-Allow-Headers: Authorization");
  EXPECT_EQ(r.judge().actual.rfind("preflight: Access-Control-Allow-Headers = ", 0), 0u);
}

TEST(CorsSingleValue, ListValuedHeadersMayListSeveral) {
  run r("cors.single-value");
  const verdict v = r.judge();
  ASSERT_NE(r.probe("preflight").header("Access-Control-Allow-Methods").find(','),
            std::string::npos);
  EXPECT_TRUE(v.passed) << v.actual;
  EXPECT_EQ(v.measured, "every CORS header single on 4 responses");
}

TEST(CorsSingleValue, AResponseThatNeverCameFails) {
  run r("cors.single-value");
  auto &p = r.probe("upstream-404");
  p.status = 0;
  p.header_lines.clear();
  p.curl_code = 7;
  p.curl_error = "Couldn't connect to server";
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.actual, "upstream-404: no response (curl: Couldn't connect to server)");
  EXPECT_NE(v.cause.find("no HTTP response"), std::string::npos);
}

TEST(CorsErrorResponses, ErrorsWithoutCorsFail) {
  // nginx add_header without 'always': only 2xx/3xx get it.
  run r("cors.error-responses");
  ASSERT_EQ(r.probe("upstream-404").status, 404);
  set_header(r.probe("upstream-404"), "Access-Control-Allow-Origin", {});
  set_header(r.probe("upstream-500"), "Access-Control-Allow-Origin", {});
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.expected, "valid CORS headers on HTTP 404");
  EXPECT_EQ(v.actual, "upstream-404: no Access-Control-Allow-Origin");
  EXPECT_EQ(v.cause, "CORS headers are added to successful responses only");
  const check_result cr = judge_check(r.c, ctx(), r.direct, r.proxied, false, "nginx");
  EXPECT_NE(cr.fix.find("always"), std::string::npos) << cr.fix;
}

TEST(CorsErrorResponses, Only500WithoutCorsFails) {
  run r("cors.error-responses");
  set_header(r.probe("upstream-500"), "Access-Control-Allow-Origin", {});
  EXPECT_EQ(r.judge().actual, "upstream-500: no Access-Control-Allow-Origin");
}

TEST(CorsErrorResponses, ErrorReplacedBySuccessFails) {
  run r("cors.error-responses");
  r.probe("upstream-500").status = 200;
  const verdict v = r.judge();
  EXPECT_EQ(v.expected, "an upstream error status");
  EXPECT_EQ(v.actual, "upstream-500: HTTP 200");
}

TEST(CorsProxyErrors, BadGatewayWithoutCorsWarns) {
  run r("cors.proxy-errors");
  ASSERT_EQ(r.probe("upstream-reset").status, 502);
  set_header(r.probe("upstream-reset"), "Access-Control-Allow-Origin", {});
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.expected, "valid CORS headers on the proxy's HTTP 502");
  EXPECT_EQ(v.actual, "upstream-reset: no Access-Control-Allow-Origin");
  EXPECT_EQ(v.cause, "the proxy's own error responses carry no CORS");
  EXPECT_EQ(judge_check(r.c, ctx(), r.direct, r.proxied, false, "nginx").result, outcome::warn);
  EXPECT_EQ(judge_check(r.c, ctx(), r.direct, r.proxied, true, "nginx").result, outcome::fail);
}

TEST(CorsProxyErrors, BodyTooLargeWithoutCorsWarns) {
  run r("cors.proxy-errors");
  auto &p = r.probe("large-body");
  p = answered(spec_named(specs_of("cors.proxy-errors"), "large-body"), 413, "text/html");
  p.body = "<html><head><title>413 Request Entity Too Large</title></head></html>";
  const verdict v = r.judge();
  EXPECT_EQ(v.expected, "valid CORS headers on the proxy's HTTP 413");
  EXPECT_EQ(v.actual, "large-body: no Access-Control-Allow-Origin");
  add_cors(p, true);
  const verdict readable = r.judge();
  EXPECT_TRUE(readable.passed) << readable.actual;
  EXPECT_EQ(readable.measured, "2 proxy errors readable cross-origin");
}

TEST(CorsProxyErrors, NothingProvokedPassesOnlyWhenSent) {
  // The proxy closed the connection on the reset and accepted the big body: nothing to judge.
  run r("cors.proxy-errors");
  r.probe("upstream-reset") = probe_in(r.direct, "upstream-reset"); // no response at all
  ASSERT_TRUE(r.probe("upstream-reset").started);
  const verdict v = r.judge();
  EXPECT_TRUE(v.passed) << v.actual;
  EXPECT_EQ(v.measured, "no proxy error could be provoked");
  r.probe("large-body").started = false;
  const verdict unsent = r.judge();
  EXPECT_FALSE(unsent.passed);
  EXPECT_EQ(unsent.actual, "large-body: not sent");
}

TEST(CorsProxyErrors, ScenarioProvokesTheProxy) {
  const auto specs = specs_of("cors.proxy-errors");
  EXPECT_EQ(scenario_of(spec_named(specs, "upstream-reset")).abort_after, 0);
  const auto &big = spec_named(specs, "large-body");
  EXPECT_GE(big.body.dump().size(), ctx().prof.large_body);
  for (const auto &s : specs)
    EXPECT_EQ(header_of(s, "Origin"), ctx().origin) << s.name;
}

TEST(CorsCredentials, WildcardWithCredentialsFails) {
  run r("cors.credentials");
  auto &p = r.probe("stream");
  set_header(p, "Access-Control-Allow-Origin", {"*"});
  p.header_lines.push_back("Access-Control-Allow-Credentials: true");
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.expected, "no '*' with credentials");
  EXPECT_EQ(v.actual, "stream: Allow-Origin '*' and Allow-Credentials true");
  EXPECT_NE(v.cause.find("wildcard with credentials"), std::string::npos);
}

TEST(CorsCredentials, EchoedOriginWithCredentialsPasses) {
  run r("cors.credentials");
  r.probe("preflight").header_lines.push_back("Access-Control-Allow-Credentials: true");
  r.probe("stream").header_lines.push_back("Access-Control-Allow-Credentials: true");
  EXPECT_TRUE(r.judge().passed);
  set_header(r.probe("preflight"), "Access-Control-Allow-Origin", {"*"});
  EXPECT_EQ(r.judge().actual, "preflight: Allow-Origin '*' and Allow-Credentials true");
}

TEST(CorsVaryOrigin, EchoedOriginWithoutVaryWarns) {
  run r("cors.vary-origin");
  set_header(r.probe("stream"), "Vary", {});
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.expected, "Vary: Origin with an echoed origin");
  EXPECT_EQ(v.actual, "stream: Vary []");
  EXPECT_EQ(judge_check(r.c, ctx(), r.direct, r.proxied, false, "nginx").result, outcome::warn);
  set_header(r.probe("stream"), "Vary", {"Accept-Encoding"});
  EXPECT_EQ(r.judge().actual, "stream: Vary [\"Accept-Encoding\"]");
}

TEST(CorsVaryOrigin, VaryListsAndWildcardOriginsPass) {
  run r("cors.vary-origin");
  set_header(r.probe("stream"), "Vary", {"Accept-Encoding, origin"});
  EXPECT_TRUE(r.judge().passed);
  EXPECT_EQ(r.judge().measured, "Vary: Origin on every echoed origin");
  for (const char *name : {"preflight", "stream"}) {
    set_header(r.probe(name), "Vary", {});
    set_header(r.probe(name), "Access-Control-Allow-Origin", {"*"});
  }
  EXPECT_EQ(r.judge().measured, "origin not echoed (wildcard)");
}

TEST(CorsVaryOrigin, NoCorsAtAllIsInconclusive) {
  // Nothing echoed because nothing was sent: cors.stream-response is the failure.
  run r("cors.vary-origin");
  for (const char *name : {"preflight", "stream"}) {
    set_header(r.probe(name), "Vary", {});
    set_header(r.probe(name), "Access-Control-Allow-Origin", {});
  }
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_TRUE(v.inconclusive);
  EXPECT_EQ(v.blocked_by, "cors.stream-response");
}

// --- upstream.* ----------------------------------------------------------------------------------

// The upstream's bare policy 403 (Ollama's Origin or Host guard), relayed by the proxy.
void refused_by_upstream(run &r) {
  auto &p = r.probe("stream");
  p = answered(spec_named(specs_of(r.c.id), "stream"), 403, "text/plain");
  p.header_lines.back() = "Content-Length: 0";
  p.framing = body_framing::content_length;
  journal_in(r.proxied, "stream").back()["status"] = 403;
}

class Accepted : public ::testing::TestWithParam<std::string> {};

TEST_P(Accepted, UpstreamPolicy403Fails) {
  run r(GetParam());
  refused_by_upstream(r);
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.expected, "HTTP 200 with the stream");
  EXPECT_EQ(v.actual, "the upstream answered 403 (its policy refused it)");
  EXPECT_EQ(v.measurements["upstream_status"].get<int>(), 403);
  EXPECT_EQ(v.measurements["client_status"].get<long>(), 403);
}

TEST_P(Accepted, RefusedBeforeTheUpstreamFails) {
  run r(GetParam());
  refused_by_upstream(r);
  journal_in(r.proxied, "stream").clear();
  const verdict v = r.judge();
  EXPECT_EQ(v.actual, "client got HTTP 403");
  EXPECT_EQ(v.measurements["upstream_saw_request"], false);
}

TEST_P(Accepted, PassSaysWhatWasAccepted) {
  run r(GetParam());
  const verdict v = r.judge();
  EXPECT_TRUE(v.passed);
  EXPECT_NE(v.measured.find(" accepted, 4 events"), std::string::npos) << v.measured;
}

INSTANTIATE_TEST_SUITE_P(Checks, Accepted,
                         ::testing::Values("upstream.origin-accepted", "upstream.host-accepted"),
                         test_name);

TEST(OriginAccepted, SendsTheBrowsersOriginAndBlamesTheAllowList) {
  EXPECT_EQ(header_of(spec_named(specs_of("upstream.origin-accepted"), "stream"), "Origin"),
            ctx().origin);
  run r("upstream.origin-accepted");
  refused_by_upstream(r);
  EXPECT_NE(r.judge().cause.find("OLLAMA_ORIGINS"), std::string::npos);
  const check_result cr = judge_check(r.c, ctx(), r.direct, r.proxied, false, "nginx");
  EXPECT_NE(cr.fix.find("proxy_set_header Origin"), std::string::npos) << cr.fix;
}

TEST(HostAccepted, SendsThePublicHostAndBlamesTheHostCheck) {
  EXPECT_EQ(header_of(spec_named(specs_of("upstream.host-accepted"), "stream"), "Host"),
            ctx().public_host);
  run r("upstream.host-accepted");
  refused_by_upstream(r);
  EXPECT_NE(r.judge().cause.find("non-local names"), std::string::npos);
  const check_result cr = judge_check(r.c, ctx(), r.direct, r.proxied, false, "nginx");
  EXPECT_NE(cr.fix.find("proxy_set_header Host localhost:11434"), std::string::npos) << cr.fix;
}

// --- headers.* -----------------------------------------------------------------------------------

// Drops (or, with a value, replaces) a header in what the upstream journaled for `probe`.
void upstream_header(run &r, const std::string &probe, const std::string &name,
                     const std::string &value = "") {
  json &headers = journal_in(r.proxied, probe).back()["headers"];
  json kept = json::array();
  for (const auto &h : headers)
    if (!same_name(h[0].get<std::string>(), name)) kept.push_back(h);
  if (!value.empty()) kept.push_back(json::array({name, value}));
  headers = kept;
}

TEST(Authorization, RemovedOnTheWayFails) {
  run r("headers.authorization");
  upstream_header(r, "stream", "Authorization");
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.expected, "Authorization: Bearer sk-streamcheck-3f9a1c7e at the upstream");
  EXPECT_EQ(v.actual, "no Authorization header");
  EXPECT_EQ(v.cause, "the proxy removes or rewrites Authorization");
}

TEST(Authorization, ReplacedOnTheWayFails) {
  run r("headers.authorization");
  upstream_header(r, "stream", "Authorization", "Basic dXNlcjpwYXNz");
  EXPECT_EQ(r.judge().actual, "Authorization: Basic dXNlcjpwYXNz");
}

TEST(Authorization, HeaderNameCaseDoesNotMatter) {
  run r("headers.authorization");
  upstream_header(r, "stream", "Authorization");
  upstream_header(r, "stream", "authorization", "Bearer sk-streamcheck-3f9a1c7e");
  const verdict v = r.judge();
  EXPECT_TRUE(v.passed) << v.actual;
  EXPECT_EQ(v.measured, "forwarded unchanged");
}

TEST(Authorization, NotForwardedAtAllIsInconclusive) {
  run r("headers.authorization");
  journal_in(r.proxied, "stream").clear();
  r.probe("stream").status = 401;
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_TRUE(v.inconclusive);
  EXPECT_EQ(v.actual, "the request never reached the upstream (client saw HTTP 401)");
}

TEST(Forwarded, NoForwardingHeadersWarn) {
  run r("headers.forwarded");
  upstream_header(r, "stream", "X-Forwarded-For");
  upstream_header(r, "stream", "X-Forwarded-Proto");
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.expected, "X-Forwarded-For and X-Forwarded-Proto (or Forwarded)");
  EXPECT_EQ(v.actual, "no X-Forwarded-For, no X-Forwarded-Proto");
  const check_result cr = judge_check(r.c, ctx(), r.direct, r.proxied, false, "nginx");
  EXPECT_EQ(cr.result, outcome::warn);
  EXPECT_NE(cr.fix.find("$proxy_add_x_forwarded_for"), std::string::npos) << cr.fix;
}

TEST(Forwarded, EachMissingHeaderIsNamed) {
  run r("headers.forwarded");
  upstream_header(r, "stream", "X-Forwarded-Proto");
  EXPECT_EQ(r.judge().actual, "no X-Forwarded-Proto");
  run proto("headers.forwarded");
  upstream_header(proto, "stream", "X-Forwarded-For");
  EXPECT_EQ(proto.judge().actual, "no X-Forwarded-For");
}

TEST(Forwarded, Rfc7239ForwardedPasses) {
  run r("headers.forwarded");
  upstream_header(r, "stream", "X-Forwarded-For");
  upstream_header(r, "stream", "X-Forwarded-Proto");
  upstream_header(r, "stream", "Forwarded", "for=127.0.0.1;proto=http");
  const verdict v = r.judge();
  EXPECT_TRUE(v.passed);
  EXPECT_EQ(v.measured, "Forwarded: for=127.0.0.1;proto=http");
}

TEST(Forwarded, PassShowsWhatArrived) {
  run r("headers.forwarded");
  EXPECT_EQ(r.judge().measured, "X-Forwarded-For 127.0.0.1, X-Forwarded-Proto http");
}

// --- conn.* --------------------------------------------------------------------------------------

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

TEST(UpstreamKeepalive, ReportsVersionAndReuse) {
  run r("conn.upstream-keepalive");
  EXPECT_EQ(r.judge().measured, "HTTP/1.1, connection reused");
  journal_in(r.proxied, "second").back()["connection"] = 2;
  for (const char *name : {"first", "second"})
    journal_in(r.proxied, name).back()["version"] = "1.0";
  const verdict v = r.judge();
  EXPECT_EQ(v.measured, "HTTP/1.0, new connection per request");
  EXPECT_EQ(v.measurements["reused"], false);
  EXPECT_EQ(judge_check(r.c, ctx(), r.direct, r.proxied, true, "nginx").result, outcome::pass);
}

TEST(ConcurrentStreams, ScenarioRunsTheProfilesNumberAtOnce) {
  const auto specs = specs_of("conn.concurrent-streams");
  EXPECT_EQ(specs.size(), static_cast<std::size_t>(ctx().prof.concurrent_streams));
  for (const auto &s : specs) {
    EXPECT_EQ(s.start_after_ms, specs.front().start_after_ms) << s.name;
    EXPECT_TRUE(s.after_probe.empty()) << s.name;
  }
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
  lost.proxied.probes.pop_back();
  lost.proxied.journal.pop_back();
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

// --- body.large-request --------------------------------------------------------------------------

TEST(LargeRequest, ScenarioIsAnImageOfTheProfilesSize) {
  const auto &s = spec_named(specs_of("body.large-request"), "upload");
  const std::string body = s.body.dump();
  EXPECT_GE(body.size(), ctx().prof.large_body);
  EXPECT_LT(body.size(), ctx().prof.large_body + 4096);
  EXPECT_EQ(s.body["messages"][0]["images"].size(), 1u);
  run r("body.large-request");
  EXPECT_EQ(r.probe("upload").request_bytes, body.size());
  EXPECT_EQ(r.judge().measured, std::to_string(body.size()) + " bytes (20 MiB) arrived intact");
}

TEST(LargeRequest, RefusedByTheBodyLimitFails) {
  // client_max_body_size 1m: nginx answers 413 without ever connecting upstream.
  run r("body.large-request");
  auto &p = r.probe("upload");
  const std::uint64_t sent = p.request_bytes;
  const std::string hash = p.request_fnv1a64;
  p = answered(spec_named(specs_of("body.large-request"), "upload"), 413, "text/html");
  p.request_bytes = sent;
  p.request_fnv1a64 = hash;
  journal_in(r.proxied, "upload").clear();
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.expected, std::to_string(sent) + " bytes at the upstream");
  EXPECT_EQ(v.actual, "the request never reached the upstream (client got HTTP 413)");
  EXPECT_EQ(v.cause, "the proxy's request body limit is smaller than the request");
  const check_result cr = judge_check(r.c, ctx(), r.direct, r.proxied, false, "nginx");
  EXPECT_NE(cr.fix.find("client_max_body_size"), std::string::npos) << cr.fix;
}

TEST(LargeRequest, TruncatedBodyFails) {
  run r("body.large-request");
  const std::uint64_t sent = r.probe("upload").request_bytes;
  json &e = journal_in(r.proxied, "upload").back();
  e["body_bytes"] = 1u << 20;
  e["body_fnv1a64"] = "00000000deadbeef";
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.expected, std::to_string(sent) + " identical bytes at the upstream");
  EXPECT_EQ(v.actual, "1048576 bytes, hash 00000000deadbeef");
  EXPECT_EQ(v.cause, "the proxy truncated or altered the request body");
  EXPECT_EQ(v.measurements["upstream_bytes"].get<std::uint64_t>(), 1u << 20);
}

TEST(LargeRequest, SameSizeDifferentBytesFails) {
  run r("body.large-request");
  json &e = journal_in(r.proxied, "upload").back();
  ASSERT_EQ(e["body_fnv1a64"], r.probe("upload").request_fnv1a64);
  e["body_fnv1a64"] = "0123456789abcdef";
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.actual,
            std::to_string(r.probe("upload").request_bytes) + " bytes, hash " + "0123456789abcdef");
}

TEST(LargeRequest, IntactBodyButFailedResponseFails) {
  run r("body.large-request");
  r.probe("upload").status = 502;
  const verdict v = r.judge();
  EXPECT_EQ(v.expected, "HTTP 200");
  EXPECT_EQ(v.actual, "HTTP 502");
}

} // namespace
} // namespace streamcheck::harness
