// The runner's pure parts: mapping a direct + proxied verdict to an outcome, --check/--skip
// selection, and the curl reproduction line.
#include <string>

#include <gtest/gtest.h>

#include "harness/runner.h"

namespace streamcheck::harness {
namespace {

const check_context &ctx() {
  static const check_context c{*find_profile("quick"), tolerances{}};
  return c;
}

// A check whose verdict is scripted: the direct run is the one judged without a baseline.
check scripted(level l, bool direct_passes, bool proxied_passes) {
  check c{
      "test.scripted",
      "Scripted",
      l,
      "A requirement.",
      {{"nginx", "the nginx fix"}, {"haproxy", "the haproxy fix"}, {"generic", "the generic fix"}},
      nullptr,
      nullptr};
  c.probes = [](const check_context &) { return std::vector<probe_spec>{}; };
  c.judge = [=](const observations &o, const check_context &) -> verdict {
    const bool direct = o.baseline == nullptr;
    if (direct ? direct_passes : proxied_passes)
      return pass(direct ? "direct fine" : "proxied fine", {{"run", direct ? "d" : "p"}});
    return fail("the expectation", direct ? "direct figure" : "proxied figure",
                direct ? "direct cause" : "proxied cause", {{"run", direct ? "d" : "p"}});
  };
  return c;
}

check_result judge(const check &c, bool strict = false, const std::string &kind = "nginx") {
  return judge_check(c, ctx(), observations{}, observations{}, strict, kind);
}

TEST(JudgeCheck, BothPassIsPass) {
  const check_result r = judge(scripted(level::must, true, true));
  EXPECT_EQ(r.result, outcome::pass);
  EXPECT_EQ(r.measured, "proxied fine");
  EXPECT_EQ(r.measurements["run"], "p");
  EXPECT_TRUE(r.expected.empty());
  EXPECT_TRUE(r.fix.empty());
  EXPECT_EQ(r.id, "test.scripted");
  EXPECT_EQ(r.title, "Scripted");
  EXPECT_EQ(r.requirement, "A requirement.");
}

TEST(JudgeCheck, DirectFailureIsAHarnessErrorWhateverTheLevel) {
  for (level l : {level::must, level::should, level::info}) {
    for (bool proxied_passes : {true, false}) {
      const check_result r = judge(scripted(l, false, proxied_passes));
      EXPECT_EQ(r.result, outcome::error) << to_string(l);
      EXPECT_NE(r.measured.find("directly"), std::string::npos) << r.measured;
      EXPECT_EQ(r.expected, "the expectation");
      EXPECT_EQ(r.actual, "direct to the mock: direct figure");
      EXPECT_NE(r.cause.find("not the proxy's fault"), std::string::npos) << r.cause;
      EXPECT_NE(r.cause.find("direct cause"), std::string::npos) << r.cause;
      EXPECT_TRUE(r.fix.empty()) << "a harness error has no proxy fix";
      EXPECT_EQ(r.measurements["direct"]["run"], "d");
    }
  }
}

TEST(JudgeCheck, MustFailureFailsWithTheFixForTheProxyKind) {
  const check c = scripted(level::must, true, false);
  const check_result r = judge(c, false, "nginx");
  EXPECT_EQ(r.result, outcome::fail);
  EXPECT_EQ(r.expected, "the expectation");
  EXPECT_EQ(r.actual, "proxied figure");
  EXPECT_EQ(r.cause, "proxied cause");
  EXPECT_EQ(r.measured, "proxied figure");
  EXPECT_EQ(r.fix, "the nginx fix");
  EXPECT_EQ(judge(c, false, "haproxy").fix, "the haproxy fix");
  EXPECT_EQ(judge(c, false, "envoy").fix,
            "the generic fix (general advice: no envoy setting has been verified for this check "
            "yet)");
  EXPECT_EQ(judge(c, false, "generic").fix, "the generic fix");
}

TEST(JudgeCheck, ShouldFailureWarnsUnlessStrict) {
  const check c = scripted(level::should, true, false);
  const check_result lenient = judge(c, false);
  EXPECT_EQ(lenient.result, outcome::warn);
  EXPECT_EQ(lenient.fix, "the nginx fix");
  EXPECT_EQ(lenient.actual, "proxied figure");
  EXPECT_EQ(judge(c, true).result, outcome::fail);
}

TEST(JudgeCheck, InfoNeverFails) {
  const check c = scripted(level::info, true, false);
  for (bool strict : {false, true}) {
    const check_result r = judge(c, strict);
    EXPECT_EQ(r.result, outcome::pass);
    EXPECT_EQ(r.measured, "proxied figure") << "the measurement is still reported";
    EXPECT_TRUE(r.fix.empty());
  }
}

check inconclusive_through_proxy(level l) {
  check c = scripted(l, true, true);
  c.judge = [](const observations &o, const check_context &) -> verdict {
    if (!o.baseline) return pass("direct fine");
    return inconclusive("never paused", "the proxy held the stream", "stream.first-token");
  };
  return c;
}

TEST(JudgeCheck, InconclusiveIsNeverAPassAndShowsNoFix) {
  for (level l : {level::must, level::should}) {
    for (bool strict : {false, true}) {
      const check_result r = judge(inconclusive_through_proxy(l), strict);
      EXPECT_EQ(r.result, outcome::inconclusive);
      EXPECT_EQ(r.actual, "never paused");
      EXPECT_EQ(r.cause, "the proxy held the stream");
      EXPECT_EQ(r.blocked_by, "stream.first-token");
      EXPECT_EQ(r.measured, "inconclusive: never paused");
      EXPECT_TRUE(r.fix.empty()) << "nothing was found wrong with what this check tests";
    }
  }
}

TEST(JudgeCheck, InconclusiveDirectlyIsAHarnessError) {
  // The bare mock always produces the situation a check needs.
  check c = scripted(level::must, true, true);
  c.judge = [](const observations &, const check_context &) { return inconclusive("x", "y"); };
  EXPECT_EQ(judge(c).result, outcome::error);
}

TEST(JudgeCheck, SkippedVerdictIsSkip) {
  check c = scripted(level::must, true, true);
  c.judge = [](const observations &, const check_context &) {
    verdict v;
    v.skipped = true;
    v.measured = "HTTP/2 only";
    return v;
  };
  const check_result r = judge(c, true);
  EXPECT_EQ(r.result, outcome::skip);
  EXPECT_EQ(r.measured, "HTTP/2 only");
}

TEST(JudgeCheck, ProxiedRunIsJudgedAgainstTheDirectOne) {
  check c = scripted(level::must, true, true);
  c.judge = [](const observations &o, const check_context &) -> verdict {
    if (!o.baseline)
      return o.probes.size() == 1 && o.probes[0].name == "direct" ? pass("direct")
                                                                  : fail("d", "d", "d");
    if (o.baseline->probes.size() == 1 && o.baseline->probes[0].name == "direct" &&
        o.probes.size() == 1 && o.probes[0].name == "proxied")
      return pass("baseline is the direct run");
    return fail("the direct run as baseline", "something else", "judge_check");
  };
  observations direct, proxied;
  direct.probes.push_back(probe_result{});
  direct.probes[0].name = "direct";
  proxied.probes.push_back(probe_result{});
  proxied.probes[0].name = "proxied";
  proxied.probes[0].finished_us = 2'500'000;
  const check_result r = judge_check(c, ctx(), direct, proxied, false, "nginx");
  EXPECT_EQ(r.result, outcome::pass) << r.actual;
  EXPECT_DOUBLE_EQ(r.seconds, 2.5);
}

const check &catalog_check(const std::string &id) {
  for (const auto &c : catalog())
    if (c.id == id) return c;
  ADD_FAILURE() << "no check " << id;
  return catalog().front();
}

// One event, 1 ms after its emission: a stream that arrived in time.
probe_result one_event_stream() {
  probe_result ok;
  ok.name = "stream";
  ok.started = true;
  ok.status = 200;
  parsed_event e;
  e.emitted_us = 40'000;
  e.arrival_us = 41'000;
  ok.events.push_back(e);
  return ok;
}

observations completed(const probe_result &p) {
  observations o;
  o.probes.push_back(p);
  o.journal.push_back({journal_entry{.outcome = stream_end::completed}});
  return o;
}

TEST(JudgeCheck, RealCheckGetsItsNginxFix) {
  const check &first_token = catalog_check("stream.first-token");
  // The direct run was in time; through the proxy the event came 900 ms late.
  const probe_result ok = one_event_stream();
  const observations direct = completed(ok);
  observations held;
  held.probes.push_back(ok);
  held.probes[0].events[0].arrival_us = 941'000;
  held.journal.push_back({journal_entry{.outcome = stream_end::completed}});
  const check_result r = judge_check(first_token, ctx(), direct, held, false, "nginx");
  EXPECT_EQ(r.result, outcome::fail) << r.actual;
  EXPECT_NE(r.fix.find("proxy_buffering off"), std::string::npos) << r.fix;
}

// --host through a proxy that passes Host on: Ollama's 403 for the name is the cause, not the
// check's subject (buffering); a local Host's 403 (the Origin policy) is left to the check.
TEST(JudgeCheck, UpstreamRefusingTheHostBlocksOnHostAccepted) {
  const check &first_token = catalog_check("stream.first-token");
  const probe_result ok = one_event_stream();
  const observations direct = completed(ok);
  auto refused_for = [&](const std::string &host) {
    observations proxied;
    probe_result refused = ok;
    refused.status = 403;
    refused.events.clear();
    proxied.probes.push_back(refused);
    proxied.journal.push_back({journal_entry{
        .headers = {{"Host", host}}, .status = 403, .outcome = stream_end::completed}});
    return judge_check(first_token, ctx(), direct, proxied, false, "haproxy");
  };
  const check_result blocked = refused_for("ollama.example.com");
  EXPECT_EQ(blocked.result, outcome::inconclusive) << blocked.actual;
  EXPECT_EQ(blocked.blocked_by, "upstream.host-accepted");
  EXPECT_NE(blocked.actual.find("403 for Host ollama.example.com"), std::string::npos);
  EXPECT_EQ(refused_for("127.0.0.1:11434").result, outcome::fail);
}

// --- selected() ----------------------------------------------------------------------------------

run_options with(std::vector<std::string> only, std::vector<std::string> skip = {}) {
  run_options o;
  o.only = std::move(only);
  o.skip = std::move(skip);
  return o;
}

TEST(Selected, EverythingByDefault) {
  EXPECT_TRUE(selected("stream.first-token", run_options{}));
  EXPECT_TRUE(selected("api.in-band-error", run_options{}));
}

TEST(Selected, CheckGlobs) {
  const run_options o = with({"stream.*"});
  EXPECT_TRUE(selected("stream.first-token", o));
  EXPECT_TRUE(selected("stream.no-coalescing.sse", o)) << "'*' crosses dots";
  EXPECT_FALSE(selected("timeout.idle-gap", o));
  EXPECT_TRUE(selected("stream.framing", with({"stream*"})));
  EXPECT_FALSE(selected("upstream.host-accepted", with({"stream*"}))) << "globs are anchored";
}

TEST(Selected, ExactIdAndSeveralGlobs) {
  const run_options o = with({"abort.no-replay", "timeout.*"});
  EXPECT_TRUE(selected("abort.no-replay", o));
  EXPECT_FALSE(selected("abort.cancel-propagates", o));
  EXPECT_TRUE(selected("timeout.long-stream", o));
  EXPECT_FALSE(selected("abort.no-replay.x", o));
}

TEST(Selected, CharacterClassesAndQuestionMarks) {
  EXPECT_TRUE(selected("stream.no-coalescing.sse", with({"*.no-coalescing.[sn]*"})));
  EXPECT_TRUE(selected("api.endpoints", with({"ap?.endpoints"})));
  EXPECT_FALSE(selected("api.endpoints", with({"ap?.endpoint"})));
}

TEST(Selected, SkipWinsOverCheck) {
  const run_options o = with({"stream.*"}, {"*.sse", "stream.large-*"});
  EXPECT_TRUE(selected("stream.no-coalescing.ndjson", o));
  EXPECT_FALSE(selected("stream.no-coalescing.sse", o));
  EXPECT_FALSE(selected("stream.large-response", o));
  EXPECT_FALSE(selected("timeout.idle-gap", o));
  EXPECT_FALSE(selected("timeout.idle-gap", with({}, {"timeout.*"})));
  EXPECT_TRUE(selected("api.endpoints", with({}, {"timeout.*"})));
}

// --- reproduction() ------------------------------------------------------------------------------

bool has(const std::string &haystack, const std::string &needle) {
  return haystack.find(needle) != std::string::npos;
}

probe_spec chat_probe() {
  probe_spec s;
  s.name = "stream";
  s.path = "/api/chat";
  s.headers = {"Accept: application/x-ndjson"};
  return s;
}

TEST(Reproduction, StreamedPost) {
  const std::string body = R"({"model":"llama3.2","stream":true})";
  const std::string cmd = reproduction("http://127.0.0.1:8080/", chat_probe(), body);
  EXPECT_EQ(cmd.rfind("curl -N ", 0), 0u) << cmd;
  EXPECT_TRUE(has(cmd, "'http://127.0.0.1:8080/api/chat'")) << cmd;
  EXPECT_FALSE(has(cmd, "8080//api")) << cmd;
  EXPECT_TRUE(has(cmd, "--data-raw '" + body + "'")) << cmd;
  EXPECT_TRUE(has(cmd, "-H 'Content-Type: application/json'")) << cmd;
  EXPECT_TRUE(has(cmd, "-H 'Accept: application/x-ndjson'")) << cmd;
  EXPECT_FALSE(has(cmd, "-X ")) << "a POST with a body needs no -X: " << cmd;
  EXPECT_FALSE(has(cmd, "--compressed")) << cmd;
  EXPECT_FALSE(has(cmd, "--http1.0")) << cmd;
}

TEST(Reproduction, CompressedWhenAcceptEncodingSet) {
  probe_spec s = chat_probe();
  s.accept_encoding = "gzip, deflate, br, zstd";
  const std::string cmd = reproduction("http://proxy", s, "{}");
  EXPECT_TRUE(has(cmd, "--compressed")) << cmd;
  EXPECT_TRUE(has(cmd, "-H 'Accept-Encoding: gzip, deflate, br, zstd'")) << cmd;
}

TEST(Reproduction, LargeBodyIsAPlaceholder) {
  const std::string small(1024, 'a');
  const std::string large(1025, 'b');
  const std::string ok = reproduction("http://proxy", chat_probe(), small);
  EXPECT_TRUE(has(ok, small)) << "1 KiB is still inline";
  const std::string cmd = reproduction("http://proxy", chat_probe(), large);
  EXPECT_FALSE(has(cmd, "bbbb")) << cmd;
  EXPECT_TRUE(has(cmd, "@body.json")) << cmd;
  EXPECT_TRUE(has(cmd, "1025 bytes")) << cmd;
  EXPECT_TRUE(has(cmd, "'http://proxy/api/chat'")) << cmd;
}

TEST(Reproduction, MethodsAndHttp10) {
  probe_spec get = chat_probe();
  get.method = "GET";
  get.path = "/api/tags";
  const std::string g = reproduction("http://proxy", get, "");
  EXPECT_FALSE(has(g, "-X ")) << g;
  EXPECT_FALSE(has(g, "--data")) << g;
  EXPECT_TRUE(has(g, "'http://proxy/api/tags'")) << g;

  probe_spec options = get;
  options.method = "OPTIONS";
  EXPECT_TRUE(has(reproduction("http://proxy", options, ""), "-X OPTIONS"));

  probe_spec bare_post = chat_probe();
  EXPECT_TRUE(has(reproduction("http://proxy", bare_post, ""), "-X POST"));

  probe_spec old = chat_probe();
  old.http10 = true;
  EXPECT_TRUE(has(reproduction("http://proxy", old, "{}"), "--http1.0"));
}

TEST(Reproduction, QuotesSingleQuotesForTheShell) {
  probe_spec s = chat_probe();
  s.headers = {"X-Note: it's"};
  const std::string cmd = reproduction("http://proxy", s, R"({"content":"don't"})");
  EXPECT_TRUE(has(cmd, R"(-H 'X-Note: it'\''s')")) << cmd;
  EXPECT_TRUE(has(cmd, R"(--data-raw '{"content":"don'\''t"}')")) << cmd;
}

TEST(HttpMode, AutoIsAlpnOnTlsAndHttp11OnCleartext) {
  EXPECT_EQ(client_http_for("auto", "https://proxy.test"), client_http::alpn);
  EXPECT_EQ(client_http_for("auto", "http://127.0.0.1:8080"), client_http::h1);
  EXPECT_EQ(client_http_for("1.1", "https://proxy.test"), client_http::h1);
  EXPECT_EQ(client_http_for("2", "https://proxy.test"), client_http::h2_tls);
  EXPECT_EQ(client_http_for("h2c", "http://127.0.0.1:8080"), client_http::h2c);
}

TEST(HttpMode, BothSuffixesEachCheckWithItsProtocol) {
  EXPECT_EQ(protocol_suffixed("stream.first-token", false), "stream.first-token@h1");
  EXPECT_EQ(protocol_suffixed("stream.first-token", true), "stream.first-token@h2");
}

} // namespace
} // namespace streamcheck::harness
