// Diagnoses from observations: a status the proxy made up itself replaces the check's templated
// cause and fix (never the buffering fix for a 401); timeouts and the upstream's own refusals stay
// with the check. Also the route map (--base-path, prefixed nginx locations), the OpenAI-only
// reshaping of streams, and the exact-size request body.
#include <string>

#include <gtest/gtest.h>

#include "harness/checks/requests.h"
#include "harness/diagnosis.h"
#include "harness/routes.h"
#include "harness/runner.h"

namespace streamcheck::harness {
namespace {

const check &by_id(const std::string &id) {
  for (const auto &c : catalog())
    if (c.id == id) return c;
  ADD_FAILURE() << id;
  return catalog().front();
}

probe_result answered(const std::string &name, long status) {
  probe_result r;
  r.name = name;
  r.started = true;
  r.status = status;
  return r;
}

// stream.first-token with the direct run streaming and the proxy answering `status` itself.
check_result first_token_through(
    long status, bool upstream_saw = false,
    const std::string &transport = "Server returned nothing (no headers, no status code)") {
  const check &c = by_id("stream.first-token");
  const check_context ctx{.prof = *find_profile("quick"), .tol = tolerances{}};
  observations direct, proxied;
  probe_result d = answered("stream", 200);
  for (int i = 0; i < 3; ++i) {
    parsed_event e;
    e.arrival_us = 1000 * (i + 1);
    e.emitted_us = 1000 * (i + 1) - 200;
    e.seq = i;
    d.events.push_back(e);
  }
  direct.probes = {d};
  direct.journal = {{journal_entry{.status = 200}}};
  probe_result p = answered("stream", status);
  if (status == 0) {
    p.curl_code = 52;
    p.curl_error = transport;
  }
  if (status == 308) p.header_lines = {"Location: https://llm.example.test/api/chat"};
  proxied.probes = {p};
  proxied.journal = {
      upstream_saw ? std::vector<journal_entry>{journal_entry{.status = static_cast<int>(status)}}
                   : std::vector<journal_entry>{}};
  return judge_check(c, ctx, direct, proxied, false, "nginx");
}

bool has(const std::string &s, const std::string &part) {
  return s.find(part) != std::string::npos;
}

TEST(Diagnosis, A401IsAnAuthGateNotBuffering) {
  const check_result r = first_token_through(401);
  // The stream never reached the upstream: nothing about the first token was observed.
  EXPECT_EQ(r.result, outcome::inconclusive);
  EXPECT_EQ(r.diverged_status, 401);
  EXPECT_TRUE(has(r.cause, "authentication gate")) << r.cause;
  EXPECT_TRUE(has(r.fix, "--header")) << r.fix;
  EXPECT_FALSE(has(r.fix, "proxy_buffering")) << r.fix;
}

TEST(Diagnosis, ARedirectNamesWhereItPoints) {
  const check_result r = first_token_through(308);
  EXPECT_TRUE(has(r.cause, "redirected")) << r.cause;
  EXPECT_TRUE(has(r.cause, "https://llm.example.test/api/chat")) << r.cause;
  EXPECT_FALSE(has(r.fix, "proxy_buffering"));
}

TEST(Diagnosis, NoResponseAtAll) {
  const check_result r = first_token_through(0);
  EXPECT_EQ(r.diverged_status, -1);
  EXPECT_TRUE(has(r.cause, "no answer")) << r.cause;
  EXPECT_TRUE(has(r.cause, "Server returned nothing")) << r.cause;
}

TEST(Diagnosis, RateLimitSaysTheVerdictIsInconclusive) {
  const check_result r = first_token_through(503);
  EXPECT_TRUE(has(r.cause, "rate or connection limit")) << r.cause;
  EXPECT_TRUE(has(r.cause, "inconclusive")) << r.cause;
}

TEST(Diagnosis, A400TheUpstreamGaveBlamesTheForwardedRequest) {
  const check_result r = first_token_through(400, true);
  EXPECT_TRUE(r.diverged_at_upstream);
  EXPECT_TRUE(has(r.cause, "upstream refused what the proxy forwarded")) << r.cause;
}

TEST(Diagnosis, TheUpstreamsOwnRefusalAndTimeoutsStayWithTheCheck) {
  // Ollama's policy 403 is what upstream.* checks judge; a 504 is a timeout check's subject.
  const check_result refused = first_token_through(403, true);
  EXPECT_FALSE(divergence_explains(refused));
  EXPECT_EQ(refused.result, outcome::fail);
  EXPECT_TRUE(has(refused.fix, "proxy_buffering")); // the check's own template
  // A 504 the proxy gave without ever reaching the upstream: no stream to judge, and no
  // diagnosis that would blame an auth gate or a limit either.
  const check_result timed_out = first_token_through(504, false);
  EXPECT_FALSE(divergence_explains(timed_out));
  EXPECT_EQ(timed_out.result, outcome::inconclusive);
  EXPECT_TRUE(timed_out.fix.empty()) << timed_out.fix;
}

TEST(Diagnosis, NoDivergenceWhenTheProxyAnswersLikeTheUpstream) {
  const check_result r = first_token_through(200);
  EXPECT_EQ(r.diverged_status, 0);
}

TEST(Diagnosis, AProxyThatAnswersNothingButItsOwnStatusIsASetupError) {
  run_report r;
  for (const char *id : {"stream.first-token", "api.endpoints", "cors.single-value"}) {
    check_result c = first_token_through(401);
    c.id = id;
    r.checks.push_back(c);
  }
  r.checks[2].result = outcome::pass; // passed on a 401: observed nothing
  check_result info = first_token_through(200);
  info.severity = level::info;
  r.checks.push_back(info); // INFO checks always pass: not counted
  const auto refused = refused_everything(r);
  ASSERT_TRUE(refused);
  EXPECT_TRUE(has(*refused, "every request through the proxy got HTTP 401 (3 checks)")) << *refused;
  EXPECT_TRUE(has(*refused, "--header")) << *refused;
  // One check that really streamed: a verdict, not a setup error.
  r.checks[1] = first_token_through(200);
  EXPECT_FALSE(refused_everything(r));
  // Two different statuses: not one thing in the way.
  r.checks[1] = first_token_through(308);
  EXPECT_FALSE(refused_everything(r));
}

TEST(Diagnosis, AProxyThatNeverAnswersDiverges) {
  // A GET the proxy forwards with a body announced that never comes: curl's deadline passes.
  const check_result r = first_token_through(0, false, "Timeout was reached");
  EXPECT_EQ(r.diverged_status, -1);
  EXPECT_TRUE(has(r.cause, "Timeout was reached")) << r.cause;
}

TEST(RouteMap, BasePathPrefixesEveryPath) {
  std::string problem;
  route_map m;
  m.base_path = *normalize_base_path("ollama", problem);
  EXPECT_EQ(m.base_path, "/ollama/");
  EXPECT_EQ(m.find("/api/chat?a=b")->client_path, "/ollama/api/chat?a=b");
  EXPECT_EQ(m.find("/")->client_path, "/ollama/");
  EXPECT_EQ(*normalize_base_path("/", problem), "");
  EXPECT_FALSE(normalize_base_path("http://x/", problem));
}

TEST(RouteMap, RestrictedMapsReachOnlyTheirPaths) {
  route_map m;
  m.restricted = true;
  m.exact["/v1/chat/completions"] = route{"/llm/v1/chat/completions", "location /llm/"};
  EXPECT_EQ(m.find("/v1/chat/completions")->via, "location /llm/");
  EXPECT_FALSE(m.find("/api/chat"));
}

TEST(RouteMap, ProbedPathsCoverBothApis) {
  const auto paths = probed_paths();
  for (const char *p : {"/", "/api/chat", "/api/tags", "/v1/chat/completions", "/v1/models"})
    EXPECT_NE(std::find(paths.begin(), paths.end(), p), paths.end()) << p;
}

TEST(OpenAiUpstream, ChatStreamsBecomeSseStreamsWithTheSameScenario) {
  probe_spec p = chat_stream("s", {.tokens = 3});
  p.headers.push_back("Origin: https://app.example.test");
  const probe_spec v = for_openai_upstream(p);
  EXPECT_EQ(v.path, "/v1/chat/completions");
  EXPECT_EQ(v.body["streamcheck"]["tokens"], 3);
  EXPECT_NE(std::find(v.headers.begin(), v.headers.end(), "Origin: https://app.example.test"),
            v.headers.end());
  EXPECT_EQ(std::count_if(v.headers.begin(), v.headers.end(),
                          [](const std::string &h) { return h.rfind("Authorization:", 0) == 0; }),
            1);
  EXPECT_EQ(for_openai_upstream(plain("t", "GET", "/api/tags")).path, "/api/tags");
}

TEST(OpenAiUpstream, OllamaRouteChecksAreNotApplicable) {
  EXPECT_TRUE(by_id("stream.no-coalescing.ndjson").ollama_routes);
  check_context ctx{.prof = *find_profile("quick"), .tol = tolerances{}};
  ctx.openai_only = true;
  for (const auto &spec : by_id("api.endpoints").probes(ctx))
    EXPECT_EQ(spec.path.rfind("/v1/", 0), 0u) << spec.path;
}

TEST(ExactBody, TheWholeBodyIsExactlyTheSize) {
  probe_spec p = chat_stream("upload", {.tokens = 2, .id = "sc12345678.body.upload.p"});
  p.body["messages"][0]["images"] = json::array({std::string(5000, 'A')});
  for (std::size_t want : {4000u, 5100u, 20u << 20})
    EXPECT_EQ(fit_body(p.body, want).size(), want);
}

} // namespace
} // namespace streamcheck::harness
