// cors.*: a browser on another origin can call the API, streams and errors included.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness/runner.h"
#include "tests/unit/harness/checks/synthetic.h"

namespace streamcheck::harness {
namespace {

using namespace synthetic;

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

TEST(CorsSingleValue, NoCorsAnywhereSaysSo) {
  // Stock proxies in front of a default Ollama: every response a bare 403, no CORS to double.
  run r("cors.single-value");
  for (auto &p : r.proxied.probes)
    std::erase_if(p.header_lines, [](const std::string &l) {
      return l.rfind("Access-Control-", 0) == 0 || l.rfind("access-control-", 0) == 0;
    });
  const verdict v = r.judge();
  EXPECT_TRUE(v.passed) << v.actual;
  EXPECT_EQ(v.measured, "no Access-Control-* header on any of 4 responses, so none doubled");
}

TEST(CorsErrorResponses, OriginPolicyRefusalIsNotBlamedOnSuccessOnlyHeaders) {
  run r("cors.error-responses");
  const auto spec = spec_named(specs_of("cors.error-responses"), "upstream-404");
  r.probe("upstream-404") = answered(spec, 403, "");
  journal_in(r.proxied, "upstream-404") = {upstream_saw(spec, body_of(spec), false, 403, 1)};
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.cause, "the upstream refused the request by its origin policy "
                     "(upstream.origin-accepted), and the proxy adds no CORS headers to upstream "
                     "errors");
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

TEST(CorsProxyErrors, NothingProvokedIsInconclusiveNeverAPass) {
  // The proxy closed the connection on the reset and accepted the big body: no error page of the
  // proxy's own was seen, so nothing about its CORS was observed.
  run r("cors.proxy-errors");
  r.probe("upstream-reset") = probe_in(r.direct, "upstream-reset"); // no response at all
  ASSERT_TRUE(r.probe("upstream-reset").started);
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_TRUE(v.inconclusive);
  EXPECT_EQ(v.actual, "no proxy error to judge: the upstream reset the connection and the client "
                      "got curl: Server returned nothing (no headers, no data) (no error "
                      "response of the proxy's own), and the large body was accepted");
  EXPECT_EQ(v.blocked_by, "");
  EXPECT_EQ(judge_check(r.c, ctx(), r.direct, r.proxied, false, "haproxy").result,
            outcome::inconclusive);
  r.probe("large-body").started = false;
  const verdict unsent = r.judge();
  EXPECT_FALSE(unsent.passed);
  EXPECT_EQ(unsent.actual, "large-body: not sent");
}

TEST(CorsProxyErrors, AnyServerErrorAfterAHeadlessResetIsTheProxys) {
  // lighttpd answers the upstream's reset with its own 500: judged like a 502.
  run r("cors.proxy-errors");
  auto &reset = r.probe("upstream-reset");
  reset = answered(spec_named(specs_of("cors.proxy-errors"), "upstream-reset"), 500, "text/html");
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_FALSE(v.inconclusive);
  EXPECT_EQ(v.expected, "valid CORS headers on the proxy's HTTP 500");
  add_cors(reset, true);
  EXPECT_TRUE(r.judge().passed);
  // A 500 the upstream sent itself is cors.error-responses' subject, not this check's.
  journal_in(r.proxied, "upstream-reset").back().head_sent_us = 1'000;
  EXPECT_TRUE(r.judge().inconclusive);
}

TEST(CorsProxyErrors, UpstreamPolicyRefusalIsBlockedByTheAcceptCheck) {
  // Stock HAProxy/Caddy/Apache/lighttpd forward the browser's Origin to a default Ollama: its 403
  // comes before the reset, so the proxy never fails and its error pages are never seen.
  run r("cors.proxy-errors");
  const auto spec = spec_named(specs_of("cors.proxy-errors"), "upstream-reset");
  r.probe("upstream-reset") = answered(spec, 403, "");
  auto &seen = journal_in(r.proxied, "upstream-reset");
  seen = {upstream_saw(spec, body_of(spec), false, 403, 1)}; // Origin forwarded as sent
  verdict v = r.judge();
  EXPECT_TRUE(v.inconclusive) << v.measured;
  EXPECT_EQ(v.blocked_by, "upstream.origin-accepted");
  EXPECT_EQ(v.cause, "the upstream refuses the Origin the proxy forwards, so the proxy never saw "
                     "an upstream failure");
  seen = {upstream_saw(spec, body_of(spec), true, 403, 1)}; // Origin stripped: the Host it was
  v = r.judge();
  EXPECT_EQ(v.blocked_by, "upstream.host-accepted");
  // The 413 for the big body is the proxy's own: judged even so.
  auto &big = r.probe("large-body");
  big = answered(spec_named(specs_of("cors.proxy-errors"), "large-body"), 413, "text/html");
  EXPECT_FALSE(r.judge().inconclusive);
}

TEST(CorsProxyErrors, AnsweredWithoutForwardingIsInconclusive) {
  run r("cors.proxy-errors");
  r.probe("upstream-reset") =
      answered(spec_named(specs_of("cors.proxy-errors"), "upstream-reset"), 401, "text/html");
  journal_in(r.proxied, "upstream-reset").clear();
  const verdict v = r.judge();
  EXPECT_TRUE(v.inconclusive);
  EXPECT_EQ(v.actual, "no proxy error to judge: the reset probe never reached the upstream (the "
                      "client got HTTP 401) and the large body was accepted");
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

} // namespace
} // namespace streamcheck::harness
