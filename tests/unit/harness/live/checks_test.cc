// The live judges on synthetic observations: what a real server's streams look like through a
// proxy that streams and through one that buffers, with and without --direct. No sockets, no
// stamps (a real server sends none): every verdict here reads arrivals, headers and bodies only.
#include "harness/live/checks.h"

#include <algorithm>
#include <set>

#include <gtest/gtest.h>

namespace streamcheck::harness::live {
namespace {

const check_context &ctx() {
  static const check_context c{.prof = *find_profile("quick"), .tol = {}};
  return c;
}

const check &live(const std::string &id) {
  for (const auto &lc : catalog())
    if (lc.c.id == id) return lc.c;
  ADD_FAILURE() << "no live check " << id;
  return catalog().front().c;
}

constexpr std::int64_t ms = 1000; // µs

struct timeline {
  int tokens = 24;
  std::int64_t first_us = 200 * ms; // prefill
  std::int64_t gap_us = 20 * ms;
  bool buffered = false;     // every event released in one read when the answer is done
  bool sse = false;          // OpenAI chunks and [DONE] instead of Ollama's NDJSON
  bool eval_known = true;    // Ollama's final object reports eval_duration
  std::int64_t hold_at = -1; // token index held back...
  std::int64_t hold_us = 0;  // ... this long (a burst)
};

json token_value(bool sse) {
  if (sse)
    return {
        {"choices",
         json::array({{{"index", 0}, {"delta", {{"content", "1"}}}, {"finish_reason", nullptr}}})}};
  return {{"message", {{"role", "assistant"}, {"content", "1"}}}, {"done", false}};
}

// A 200 stream as the client saw it: one read per event, or one read for all (buffered).
probe_result stream(const std::string &name, const timeline &t) {
  probe_result r;
  r.name = name;
  r.started = true;
  r.status = 200;
  r.framing = body_framing::chunked;
  r.header_lines = {std::string("Content-Type: ") +
                    (t.sse ? "text/event-stream" : "application/x-ndjson")};
  std::vector<parsed_event> events;
  std::int64_t at = t.first_us;
  for (int i = 0; i < t.tokens; ++i) {
    if (i == t.hold_at) at += t.hold_us;
    events.push_back({.arrival_us = at, .write_index = 0, .text = "", .value = token_value(t.sse)});
    at += t.gap_us;
  }
  const std::int64_t generation_us = at - t.gap_us - t.first_us;
  if (t.sse) {
    events.push_back({.arrival_us = at,
                      .write_index = 0,
                      .text = "",
                      .value = {{"choices", json::array({{{"finish_reason", "stop"}}})}}});
    events.push_back({.arrival_us = at, .write_index = 0, .text = "[DONE]", .value = nullptr});
  } else {
    json last = {{"done", true}, {"eval_count", t.tokens}};
    if (t.eval_known) last["eval_duration"] = generation_us * 1000; // ns
    events.push_back({.arrival_us = at, .write_index = 0, .text = "", .value = last});
  }
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (t.buffered) events[i].arrival_us = at;
    events[i].write_index = t.buffered ? 0 : i;
  }
  r.events = events;
  r.first_byte_us = r.headers_us = events.front().arrival_us;
  r.finished_us = at + 1 * ms;
  return r;
}

probe_result answer(const std::string &name, long status, const std::string &content_type,
                    const std::string &body) {
  probe_result r;
  r.name = name;
  r.started = true;
  r.status = status;
  r.header_lines = {"Content-Type: " + content_type};
  r.body = body;
  r.finished_us = 2 * ms;
  return r;
}

// Every probe of a live run against a correct path (Ollama API), `t` for the token streams.
observations run(const timeline &t = {}) {
  observations o;
  for (const char *name : {"stream", "stream-1", "stream-2", "compressed", "first", "second"})
    o.probes.push_back(stream(name, t));
  timeline sse = t;
  sse.sse = true;
  o.probes.push_back(stream("sse", sse));
  for (auto &p : o.probes) // keep-alive: the pair shares one connection
    if (p.name == "second") p.reused_connection = true;
  const std::string json_type = "application/json; charset=utf-8";
  o.probes.push_back(answer("route:/api/tags", 200, json_type, R"({"models":[]})"));
  o.probes.push_back(answer("route:/api/version", 200, json_type, R"({"version":"0.12.0"})"));
  o.probes.push_back(answer("route:/v1/models", 200, json_type, R"({"object":"list"})"));
  o.probes.push_back(answer("unknown-model", 404, json_type, R"({"error":"model not found"})"));
  return o;
}

probe_result &in(observations &o, const std::string &name) {
  for (auto &p : o.probes)
    if (p.name == name) return p;
  o.probes.emplace_back().name = name;
  return o.probes.back();
}

verdict judge(const std::string &id, observations &proxied, const observations *direct = nullptr,
              const check_context &c = ctx()) {
  proxied.baseline = direct;
  return live(id).judge(proxied, c);
}

enum class result { pass, fail, inconclusive, skip };

result of(const verdict &v) {
  if (v.skipped) return result::skip;
  if (v.inconclusive) return result::inconclusive;
  return v.passed ? result::pass : result::fail;
}

// --- buffering ----------------------------------------------------------------------------------

TEST(LiveNoBuffering, WithoutDirectAStreamSpreadOverEvalDurationPasses) {
  observations o = run();
  EXPECT_EQ(of(judge("live.no-buffering", o)), result::pass);
}

TEST(LiveNoBuffering, WithoutDirectTheWholeAnswerAtOnceFailsAgainstEvalDuration) {
  observations o = run({.buffered = true});
  const verdict v = judge("live.no-buffering", o);
  EXPECT_EQ(of(v), result::fail);
  EXPECT_NE(v.expected.find("eval_duration"), std::string::npos) << v.expected;
  EXPECT_NE(v.cause.find("fake streaming"), std::string::npos) << v.cause;
}

TEST(LiveNoBuffering, WithoutDirectOrEvalDurationSseIsJudgedAgainstTheLastByte) {
  const timeline streamed{.sse = true, .eval_known = false};
  observations good = run(streamed);
  EXPECT_EQ(of(judge("live.no-buffering", good)), result::pass);
  timeline held = streamed;
  held.buffered = true;
  observations bad = run(held);
  const verdict v = judge("live.no-buffering", bad);
  EXPECT_EQ(of(v), result::fail);
  EXPECT_NE(v.expected.find("last byte"), std::string::npos) << v.expected;
}

TEST(LiveNoBuffering, WithDirectAStreamAsSpreadAsTheServersPasses) {
  observations direct = run();
  observations o = run();
  EXPECT_EQ(of(judge("live.no-buffering", o, &direct)), result::pass);
}

TEST(LiveNoBuffering, WithDirectABufferedAnswerFailsAgainstTheDirectSpread) {
  observations direct = run();
  observations o = run({.buffered = true});
  const verdict v = judge("live.no-buffering", o, &direct);
  EXPECT_EQ(of(v), result::fail);
  EXPECT_NE(v.expected.find("direct stream"), std::string::npos) << v.expected;
}

TEST(LiveNoBuffering, WithDirectTokensHeldBackInABurstFail) {
  observations direct = run();
  // The spread stays long, but 600 ms of tokens are held and released together.
  observations o = run({.hold_at = 10, .hold_us = 600 * ms});
  const verdict v = judge("live.no-buffering", o, &direct);
  EXPECT_EQ(of(v), result::fail);
  EXPECT_NE(v.cause.find("bursts"), std::string::npos) << v.cause;
}

TEST(LiveNoBuffering, AGenerationTooShortToShowBufferingIsInconclusive) {
  observations o = run({.tokens = 3, .gap_us = 5 * ms});
  const verdict v = judge("live.no-buffering", o);
  EXPECT_EQ(of(v), result::inconclusive);
  EXPECT_NE(v.cause.find("--max-tokens"), std::string::npos) << v.cause;
}

TEST(LiveNoBuffering, AFailedStreamIsInconclusiveBlockedByStreamCompletes) {
  observations o = run();
  in(o, "stream-1") = answer("stream-1", 502, "text/html", "<html>Bad Gateway</html>");
  const verdict v = judge("live.no-buffering", o);
  EXPECT_EQ(of(v), result::inconclusive);
  EXPECT_EQ(v.blocked_by, "live.stream-completes");
  EXPECT_EQ(of(judge("live.stream-completes", o)), result::fail);
}

TEST(LiveFirstToken, NeedsDirect) {
  observations o = run();
  EXPECT_EQ(of(judge("live.first-token", o)), result::skip);
}

TEST(LiveFirstToken, PassesWithinTheBoundOfTheDirectMedianAndFailsWhenHeld) {
  observations direct = run();
  observations close = run({.first_us = 205 * ms});
  EXPECT_EQ(of(judge("live.first-token", close, &direct)), result::pass);
  observations held = run({.buffered = true});
  const verdict v = judge("live.first-token", held, &direct);
  EXPECT_EQ(of(v), result::fail);
  EXPECT_GT(v.measurements["added_ms"].get<double>(), 400);
}

// --- compressed-client --------------------------------------------------------------------------

TEST(LiveCompressedClient, PassesStreamedAndFailsHeldByTheCompressor) {
  observations good = run();
  EXPECT_EQ(of(judge("live.compressed-client", good)), result::pass);
  observations bad = run();
  timeline held;
  held.buffered = true;
  in(bad, "compressed") = stream("compressed", held);
  in(bad, "compressed").header_lines.push_back("Content-Encoding: gzip");
  const verdict v = judge("live.compressed-client", bad);
  EXPECT_EQ(of(v), result::fail);
  EXPECT_NE(v.measured.find("Content-Encoding: gzip"), std::string::npos) << v.measured;
  // Only the compressed stream is held: the plain ones still pass.
  EXPECT_EQ(of(judge("live.no-buffering", bad)), result::pass);
}

// --- content-type -------------------------------------------------------------------------------

TEST(LiveContentType, PassesNdjsonAndSse) {
  observations o = run();
  EXPECT_EQ(of(judge("live.content-type", o)), result::pass);
}

TEST(LiveContentType, FailsARewrittenType) {
  observations o = run();
  in(o, "stream").header_lines = {"Content-Type: application/octet-stream"};
  const verdict v = judge("live.content-type", o);
  EXPECT_EQ(of(v), result::fail);
  EXPECT_EQ(v.expected, "application/x-ndjson");
}

TEST(LiveContentType, WithDirectTheServersOwnTypeIsExpected) {
  observations direct = run();
  in(direct, "stream").header_lines = {"Content-Type: application/json"};
  observations same = run();
  in(same, "stream").header_lines = {"Content-Type: application/json; charset=utf-8"};
  EXPECT_EQ(of(judge("live.content-type", same, &direct)), result::pass);
  observations other = run();
  EXPECT_EQ(of(judge("live.content-type", other, &direct)), result::fail);
}

// --- keepalive ----------------------------------------------------------------------------------

TEST(LiveKeepalive, PassesReusedFailsANewConnectionInconclusiveOnAFailedStream) {
  observations o = run();
  EXPECT_EQ(of(judge("live.keepalive", o)), result::pass);
  in(o, "second").reused_connection = false;
  EXPECT_EQ(of(judge("live.keepalive", o)), result::fail);
  in(o, "first") = answer("first", 504, "text/html", "");
  const verdict v = judge("live.keepalive", o);
  EXPECT_EQ(of(v), result::inconclusive);
  EXPECT_EQ(v.blocked_by, "live.stream-completes");
}

// --- routes -------------------------------------------------------------------------------------

TEST(LiveRoutes, PassesJsonFailsAPageOrAnotherBody) {
  observations o = run();
  EXPECT_EQ(of(judge("live.routes", o)), result::pass);
  in(o, "route:/api/version") = answer("route:/api/version", 200, "text/html", "<html>hi</html>");
  EXPECT_EQ(of(judge("live.routes", o)), result::fail);

  observations direct = run();
  observations rewritten = run();
  in(rewritten, "route:/api/tags").body = R"({"models":[{"name":"other"}]})";
  const verdict v = judge("live.routes", rewritten, &direct);
  EXPECT_EQ(of(v), result::fail);
  EXPECT_NE(v.actual.find("differs"), std::string::npos) << v.actual;
}

// --- error passthrough --------------------------------------------------------------------------

TEST(LiveErrorPassthrough, PassesTheServersJsonErrorFailsAnErrorPage) {
  observations o = run();
  EXPECT_EQ(of(judge("live.error-passthrough", o)), result::pass);
  in(o, "unknown-model") = answer("unknown-model", 404, "text/html", "<html>404</html>");
  EXPECT_EQ(of(judge("live.error-passthrough", o)), result::fail);
}

TEST(LiveErrorPassthrough, WithDirectTheStatusMustBeTheServers) {
  observations direct = run();
  observations o = run();
  in(o, "unknown-model").status = 400;
  EXPECT_EQ(of(judge("live.error-passthrough", o, &direct)), result::fail);
}

// --- cors, on the server's own policy ------------------------------------------------------------

probe_result with_headers(probe_result r, std::vector<std::string> headers) {
  for (auto &h : headers)
    r.header_lines.push_back(std::move(h));
  return r;
}

// The cors probes as a proxy answering CORS in one layer leaves them (the recommended nginx).
void add_cors(observations &o, const std::vector<std::string> &extra = {}) {
  const std::string origin = "Access-Control-Allow-Origin: " + ctx().origin;
  std::vector<std::string> cors = {origin, "Vary: Origin",
                                   "Access-Control-Allow-Methods: GET, POST, OPTIONS",
                                   "Access-Control-Allow-Headers: authorization, content-type, "
                                   "x-stainless-os"};
  cors.insert(cors.end(), extra.begin(), extra.end());
  in(o, "cors:preflight") = with_headers(answer("cors:preflight", 204, "text/plain", ""), cors);
  in(o, "cors:stream") = with_headers(stream("cors:stream", {}), cors);
  in(o, "cors:unknown-model") = with_headers(
      answer("cors:unknown-model", 404, "application/json", R"({"error":"not found"})"), cors);
}

// Ollama with its default origins, straight through: a bare 403 to the foreign origin.
void add_refused(observations &o) {
  for (const char *name : {"cors:preflight", "cors:stream", "cors:unknown-model"})
    in(o, name) = answer(name, 403, "text/plain", "");
}

TEST(LiveCors, OneLayerOfCorsPassesEveryCheck) {
  observations o = run();
  add_cors(o);
  for (const char *id :
       {"live.cors.preflight", "live.cors.stream-response", "live.cors.single-value",
        "live.cors.credentials", "live.cors.vary-origin"})
    EXPECT_EQ(of(judge(id, o)), result::pass) << id;
}

TEST(LiveCors, ADoubledHeaderFailsSingleValueAndTheStream) {
  observations o = run();
  add_cors(o, {"Access-Control-Allow-Origin: *"}); // the upstream's own, not hidden
  const verdict v = judge("live.cors.single-value", o);
  EXPECT_EQ(of(v), result::fail);
  EXPECT_NE(v.actual.find("Access-Control-Allow-Origin"), std::string::npos) << v.actual;
  EXPECT_NE(v.cause.find("--direct"), std::string::npos) << v.cause;
  EXPECT_EQ(of(judge("live.cors.stream-response", o)), result::fail);
}

TEST(LiveCors, WithDirectAFailureTheServerHasTooIsTheServersAnswerPassedOn) {
  observations direct = run();
  add_refused(direct);
  observations o = run();
  add_refused(o);
  const verdict v = judge("live.cors.preflight", o, &direct);
  EXPECT_EQ(of(v), result::fail); // a browser still cannot call it
  EXPECT_NE(v.cause.find("the server answers so itself"), std::string::npos) << v.cause;
}

TEST(LiveCors, WithDirectAFailureOnlyThroughTheProxyBlamesTheProxy) {
  observations direct = run();
  add_cors(direct);
  observations o = run();
  add_cors(o, {"Access-Control-Allow-Origin: " + ctx().origin});
  const verdict v = judge("live.cors.single-value", o, &direct);
  EXPECT_EQ(of(v), result::fail);
  EXPECT_NE(v.cause.find("the proxy is the cause"), std::string::npos) << v.cause;
}

TEST(LiveCors, NoCorsAtAllLeavesVaryInconclusiveBlockedByTheLiveStreamCheck) {
  observations o = run();
  add_refused(o);
  const verdict v = judge("live.cors.vary-origin", o);
  EXPECT_EQ(of(v), result::inconclusive);
  EXPECT_EQ(v.blocked_by, "live.cors.stream-response");
  EXPECT_EQ(of(judge("live.cors.single-value", o)), result::pass);
}

TEST(LiveCors, AWildcardWithCredentialsFails) {
  observations o = run();
  add_cors(o);
  for (const char *name : {"cors:preflight", "cors:stream"})
    in(o, name).header_lines = {"Access-Control-Allow-Origin: *",
                                "Access-Control-Allow-Credentials: true"};
  EXPECT_EQ(of(judge("live.cors.credentials", o)), result::fail);
}

TEST(LiveCors, AnEchoedOriginWithoutVaryFails) {
  observations o = run();
  add_cors(o);
  for (const char *name : {"cors:preflight", "cors:stream"})
    std::erase(in(o, name).header_lines, std::string("Vary: Origin"));
  EXPECT_EQ(of(judge("live.cors.vary-origin", o)), result::fail);
}

TEST(LiveCors, AnUnansweredPreflightFailsAndNeverPasses) {
  observations o = run();
  add_cors(o);
  probe_result &unsent = in(o, "cors:preflight");
  unsent = probe_result{};
  unsent.name = "cors:preflight";
  for (const char *id : {"live.cors.preflight", "live.cors.single-value", "live.cors.vary-origin"})
    EXPECT_EQ(of(judge(id, o)), result::fail) << id;
}

// --- the catalog and its scripted twins
// -----------------------------------------------------------

TEST(LiveCatalog, EveryTwinIsAScriptedCheckAndNoneIsAlsoListedAsNotRun) {
  std::set<std::string> scripted, twins, ids;
  for (const auto &c : harness::catalog())
    scripted.insert(c.id);
  for (const auto &lc : catalog()) {
    EXPECT_TRUE(ids.insert(lc.c.id).second) << "duplicate " << lc.c.id;
    for (const std::string *twin : {&lc.scripted, &lc.scripted_sse})
      if (!twin->empty()) {
        EXPECT_TRUE(scripted.count(*twin)) << lc.c.id << " -> " << *twin;
        twins.insert(*twin);
      }
  }
  for (const auto &r : not_run())
    EXPECT_FALSE(twins.count(r.id)) << r.id << " is judged by a live check";
  // Every scripted check is either judged live or listed as not run.
  EXPECT_EQ(twins.size() + not_run().size(), scripted.size());
}

TEST(LiveCatalog, TheSseTwinIsUsedForAnOpenAiRun) {
  for (const auto &lc : catalog())
    if (lc.c.id == "live.no-buffering") {
      EXPECT_EQ(lc.twin(false), "stream.no-coalescing.ndjson");
      EXPECT_EQ(lc.twin(true), "stream.no-coalescing.sse");
    }
}

TEST(LiveCatalog, TheCorsProbesCarryTheOriginAndThePlanCountsTheirGeneration) {
  check_context c{.prof = *find_profile("quick"), .tol = {}, .origin = "https://mine.test"};
  const request_plan plan{.model = "llama3.2"};
  const auto specs = probes(plan, c);
  int streamed = 0;
  for (const auto &s : specs) {
    const bool has_origin = std::find(s.headers.begin(), s.headers.end(),
                                      "Origin: https://mine.test") != s.headers.end();
    EXPECT_EQ(has_origin, s.name.rfind("cors:", 0) == 0) << s.name;
    if (s.body.is_object() && s.body.value("model", "") == "llama3.2") ++streamed;
  }
  EXPECT_EQ(streamed, generations(plan));
}

} // namespace
} // namespace streamcheck::harness::live
