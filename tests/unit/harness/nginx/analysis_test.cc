// The static analysis: for each fixture's fault, the finding quotes the user's directive with
// file:line under the check that fails; nginx's inheritance rules decide what applies.
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "harness/nginx/analysis.h"
#include "harness/nginx/config.h"

namespace streamcheck::harness::nginx {
namespace {

struct analysed {
  std::vector<finding> findings;
  // What a failing check is told; `status`: for a check the proxy answered with that status
  // itself (diagnosis.h), which only the status findings explain.
  std::string for_check(const std::string &id, long status = 0) const {
    std::string out;
    for (const auto &f : findings)
      if (matches(f, id) && f.status == status) out += f.text + "\n";
    return out;
  }
};

source_loc first_server(const std::vector<directive> &top) {
  for (const auto &d : top)
    if (d.name == "http")
      for (const auto &s : d.children)
        if (s.name == "server") return s.loc;
  return {};
}

analysed of_text(const std::string &text, int silence_ms = 4000) {
  auto top = parse_text(text, "n.conf");
  EXPECT_TRUE(top) << top.message();
  analysis_options o;
  o.server = first_server(*top);
  o.silence_ms = silence_ms;
  return {analyse(*top, o)};
}

analysed of_fixture(const std::string &name, int silence_ms = 4000) {
  auto c = load(STREAMCHECK_SOURCE_DIR "/fixtures/nginx/" + name + ".conf");
  EXPECT_TRUE(c) << c.message();
  analysis_options o;
  o.server = first_server(c->top);
  o.silence_ms = silence_ms;
  return {analyse(c->top, o)};
}

bool has(const std::string &text, const std::string &needle) {
  return text.find(needle) != std::string::npos;
}

TEST(NginxAnalysis, TimesAndSizes) {
  EXPECT_EQ(parse_time_ms("90"), 90'000);
  EXPECT_EQ(parse_time_ms("3600s"), 3'600'000);
  EXPECT_EQ(parse_time_ms("1m30s"), 90'000);
  EXPECT_EQ(parse_time_ms("500ms"), 500);
  EXPECT_EQ(parse_time_ms("1h"), 3'600'000);
  EXPECT_EQ(parse_time_ms("soon"), -1);
  EXPECT_EQ(parse_size("1m"), 1 << 20);
  EXPECT_EQ(parse_size("100M"), 100 << 20);
  EXPECT_EQ(parse_size("512k"), 512 << 10);
  EXPECT_EQ(parse_size("0"), 0);
  EXPECT_EQ(parse_size("lots"), -1);
}

TEST(NginxAnalysis, RecommendedConfigHasNothingToBlame) {
  const auto a = of_fixture("recommended", 130'000);
  for (const char *id :
       {"stream.first-token", "stream.no-coalescing.sse", "timeout.idle-gap", "cors.preflight",
        "cors.error-responses", "upstream.origin-accepted", "upstream.host-accepted",
        "headers.forwarded", "headers.authorization", "body.large-request",
        "abort.truncation-visible", "abort.cancel-propagates", "api.error-passthrough",
        "cors.single-value", "cors.credentials", "cors.vary-origin", "stream.content-type",
        "abort.no-replay"})
    EXPECT_EQ(a.for_check(id), "") << id;
}

TEST(NginxAnalysis, EachFixtureFaultIsQuotedWithFileLine) {
  const std::string dir = STREAMCHECK_SOURCE_DIR "/fixtures/nginx/";
  struct expectation {
    const char *fixture, *check, *quote;
  } cases[] = {
      {"chunked-off", "abort.truncation-visible", "`chunked_transfer_encoding off` at "},
      {"chunked-off", "conn.keepalive", "`chunked_transfer_encoding off` at "},
      {"short-read-timeout", "timeout.idle-gap", "`proxy_read_timeout "},
      {"ignore-client-abort", "abort.cancel-before-first-token", "`proxy_ignore_client_abort on`"},
      {"ignore-client-abort", "abort.cancel-during-pause", "`proxy_ignore_client_abort on`"},
      {"ignore-client-abort-defaults", "abort.cancel-propagates", "`proxy_ignore_client_abort on`"},
      {"intercept-errors", "api.error-passthrough", "`proxy_intercept_errors on`"},
      {"gzip-stream-types", "stream.compressed-client", "`gzip on` at "},
      {"cors-no-always", "cors.error-responses", "has no `always`"},
      {"host-passthrough", "upstream.host-accepted", "`proxy_set_header Host $host` at "},
      {"origin-forwarded", "upstream.origin-accepted", "`proxy_set_header Origin"},
      {"auth-stripped", "headers.authorization", "`proxy_set_header Authorization"},
      {"no-forwarded-headers", "headers.forwarded", "no `proxy_set_header X-Forwarded-For`"},
      {"small-worker-connections", "conn.concurrent-streams", "`worker_connections 40` at "},
      {"cors-if-trap", "cors.preflight", "`add_header Access-Control-Max-Age 86400` at "},
      {"defaults", "stream.first-token", "no `proxy_http_version 1.1`"},
      {"defaults", "stream.no-coalescing.ndjson", "no `proxy_buffering off`"},
  };
  for (const auto &c : cases) {
    const std::string got = of_fixture(c.fixture).for_check(c.check);
    EXPECT_TRUE(has(got, c.quote)) << c.fixture << " / " << c.check << ":\n" << got;
    EXPECT_TRUE(has(got, dir + c.fixture + ".conf:")) << c.fixture << ": " << got;
  }
}

TEST(NginxAnalysis, IfBlockWithItsOwnCorsHeadersIsQuoted) {
  const std::string got = of_fixture("seed").for_check("cors.preflight");
  EXPECT_TRUE(has(got, "answers with its own CORS headers only: `add_header "
                       "'Access-Control-Allow-Origin' '*'` at "))
      << got;
  EXPECT_FALSE(has(got, "carry none of the CORS headers")) << got;
}

TEST(NginxAnalysis, BufferingIsNotBlamedForCancellation) {
  // Measured: buffered nginx watches the client and closes the upstream at once
  // (fixtures/nginx/defaults.conf passes abort.cancel-propagates).
  EXPECT_EQ(of_fixture("defaults").for_check("abort.cancel-propagates"), "");
}

TEST(NginxAnalysis, PlentyOfWorkerConnectionsIsNotBlamed) {
  const auto a = of_fixture("defaults");
  const std::string got = a.for_check("conn.concurrent-streams");
  EXPECT_FALSE(has(got, "worker_connections")) << got; // 1024: it is the buffering
  EXPECT_TRUE(has(got, "proxy_buffering")) << got;
  EXPECT_TRUE(has(a.for_check("cors.preflight"), "no `add_header Access-Control-Allow-Origin"));
}

TEST(NginxAnalysis, ArrayDirectivesReplaceInheritedOnes) {
  // The location's own proxy_set_header drops the server's X-Forwarded-For.
  const auto a = of_text("http {\n"
                         "  server {\n"
                         "    proxy_set_header X-Forwarded-For $remote_addr;\n"
                         "    location / {\n"
                         "      proxy_set_header Connection \"\";\n"
                         "      proxy_pass http://u;\n"
                         "    }\n"
                         "    location /other/ { proxy_pass http://u; }\n"
                         "  }\n"
                         "}\n");
  EXPECT_TRUE(has(a.for_check("headers.forwarded"), "`location /` at n.conf:4"))
      << a.for_check("headers.forwarded");
  // Plain directives inherit: the server's proxy_read_timeout applies to the location.
  const auto b = of_text("http {\n  proxy_read_timeout 2s;\n  server {\n"
                         "    location / { proxy_pass http://u; }\n  }\n}\n");
  EXPECT_TRUE(has(b.for_check("timeout.slow-first-token"), "`proxy_read_timeout 2s` at n.conf:2"));
  const auto c =
      of_text("http {\n  proxy_read_timeout 2s;\n  server {\n"
              "    location / { proxy_read_timeout 1h; proxy_pass http://u; }\n  }\n}\n");
  EXPECT_EQ(c.for_check("timeout.slow-first-token"), "");
}

TEST(NginxAnalysis, LocationChoiceFollowsNginx) {
  const auto a = of_text("http { server {\n"
                         "  location / { proxy_buffering on; }\n"
                         "  location /api/ { proxy_buffering off; proxy_http_version 1.1; }\n"
                         "  location ~ ^/v1/ { proxy_buffering on; }\n"
                         "} }\n");
  EXPECT_EQ(a.for_check("stream.first-token"), ""); // /api/chat -> location /api/
}

TEST(NginxAnalysis, AnnotateAppendsToFailingChecksOnly) {
  run_report r;
  check_result pass, fail;
  pass.id = "conn.keepalive";
  pass.result = outcome::pass;
  fail.id = "abort.truncation-visible";
  fail.result = outcome::warn;
  fail.fix = "chunked_transfer_encoding on";
  r.checks = {pass, fail};
  annotate(r, {{"abort.truncation-visible",
                "`chunked_transfer_encoding off` at nginx.conf:22 x",
                {},
                "",
                {}},
               {"conn.keepalive", "unrelated", {}, "", {}}});
  EXPECT_EQ(r.checks[0].fix, "");
  EXPECT_EQ(r.checks[1].fix, "chunked_transfer_encoding on | in your config: "
                             "`chunked_transfer_encoding off` at nginx.conf:22 x");
}

TEST(NginxAnalysis, NewRulesQuoteTheirFixturesFault) {
  EXPECT_TRUE(has(of_fixture("cors-wildcard-credentials").for_check("cors.credentials"),
                  "`add_header Access-Control-Allow-Credentials true always`"));
  EXPECT_TRUE(has(of_fixture("no-vary-origin").for_check("cors.vary-origin"),
                  "without `add_header Vary Origin always`"));
  EXPECT_TRUE(has(of_fixture("content-type-overridden").for_check("stream.content-type"),
                  "replaces the stream's Content-Type"));
  EXPECT_TRUE(has(of_fixture("replay-post").for_check("abort.no-replay"), "non_idempotent"));
  EXPECT_TRUE(has(of_fixture("cors-doubled").for_check("cors.single-value"),
                  "no `proxy_hide_header Access-Control-Allow-Origin`"));
  EXPECT_TRUE(has(of_fixture("preflight-forwarded").for_check("cors.preflight"),
                  "the preflight goes to the upstream"));
}

TEST(NginxAnalysis, FindingsCarryTheirLocationAndRemedy) {
  const auto a = of_text("http {\n server {\n  listen 80;\n  location / {\n"
                         "   proxy_pass http://u;\n   proxy_buffering on;\n  }\n }\n}\n");
  bool buffering = false, body = false;
  for (const auto &f : a.findings) {
    if (f.check_id == "stream." && f.subject == "proxy_buffering on") {
      buffering = true;
      EXPECT_EQ(f.loc.line, 6);
      ASSERT_EQ(f.edits.size(), 1u);
      EXPECT_EQ(f.edits[0].what, edit::kind::set);
      EXPECT_EQ(f.edits[0].directive, "proxy_buffering off");
    }
    if (f.status == 413) { // the body limit: a status finding (nginx answers 413 itself)
      body = true;
      EXPECT_EQ(f.loc.line, 4); // no directive: the location block
      ASSERT_EQ(f.edits.size(), 1u);
      EXPECT_EQ(f.edits[0].what, edit::kind::add);
      EXPECT_EQ(f.edits[0].at.line, 4);
    }
  }
  EXPECT_TRUE(buffering);
  EXPECT_TRUE(body);
}

TEST(NginxAnalysis, AnnotateRecordsLocationsOrTheServerBlock) {
  run_report r;
  check_result located, unlocated;
  located.id = "abort.truncation-visible";
  located.result = outcome::warn;
  unlocated.id = "api.endpoints";
  unlocated.result = outcome::fail;
  r.checks = {located, unlocated};
  annotate(
      r,
      {{"abort.truncation-visible", "x", 0, {"n.conf", 22}, "chunked_transfer_encoding off", {}}});
  locate_unexplained(r, {"n.conf", 5, "the server block under test"});
  ASSERT_EQ(r.checks[0].locations.size(), 1u);
  EXPECT_EQ(r.checks[0].locations[0].line, 22);
  EXPECT_EQ(r.checks[0].locations[0].note, "chunked_transfer_encoding off");
  ASSERT_EQ(r.checks[1].locations.size(), 1u);
  EXPECT_EQ(r.checks[1].locations[0].line, 5);
}

// The remedies, applied to each fixture's text for the checks its .expect says fail, leave the
// analysis nothing to blame for those checks (the run-time proof is nginx_fix_fixtures).
TEST(NginxAnalysis, RemediesAppliedLeaveNothingToBlame) {
  for (const char *name : {"defaults",
                           "seed",
                           "chunked-off",
                           "cors-doubled",
                           "cors-if-trap",
                           "cors-no-always",
                           "cors-wildcard-credentials",
                           "default-body-size",
                           "gzip-stream-types",
                           "host-passthrough",
                           "ignore-client-abort",
                           "intercept-errors",
                           "no-forwarded-headers",
                           "no-vary-origin",
                           "origin-forwarded",
                           "preflight-forwarded",
                           "replay-post",
                           "short-read-timeout",
                           "small-worker-connections",
                           "content-type-overridden"}) {
    const std::string path = STREAMCHECK_SOURCE_DIR "/fixtures/nginx/" + std::string(name);
    std::ifstream expect(path + ".expect"), conf(path + ".conf");
    std::stringstream text;
    text << conf.rdbuf();
    std::vector<std::string> ids;
    for (std::string line; std::getline(expect, line);)
      if (line.rfind("fail ", 0) == 0 || line.rfind("warn ", 0) == 0) ids.push_back(line.substr(5));
    const auto before = of_text(text.str());
    std::vector<edit> edits;
    for (const auto &id : ids)
      for (const auto &f : before.findings)
        if (matches(f, id))
          for (auto e : f.edits) {
            e.at.file = "n.conf";
            edits.push_back(e);
          }
    auto patched = apply_edits(text.str(), "n.conf", edits);
    ASSERT_TRUE(patched) << name << ": " << patched.message();
    const auto after = of_text(*patched);
    for (const auto &id : ids)
      EXPECT_EQ(after.for_check(id), "") << name << " " << id << "\n" << *patched;
  }
}

} // namespace
} // namespace streamcheck::harness::nginx

namespace streamcheck::harness::nginx {
namespace {

TEST(NginxAnalysis, BodyLimitOnlyFor413AndQuotingTheConfiguredValue) {
  const analysed unset = of_fixture("default-body-size");
  EXPECT_TRUE(has(unset.for_check("body.large-request", 413), "client_max_body_size is not set"));
  EXPECT_EQ(unset.for_check("body.large-request", 503), "");
  EXPECT_EQ(unset.for_check("body.large-request"), "");
  const analysed set = of_text("http { server { client_max_body_size 10M;\n"
                               "location / { proxy_pass http://o; } } }");
  const std::string got = set.for_check("body.large-request", 413);
  EXPECT_TRUE(has(got, "`client_max_body_size 10M` at n.conf:1 (10485760 bytes)")) << got;
  EXPECT_FALSE(has(got, "default is 1m")) << got;
  // 20M holds the suite's 20 MiB body exactly: nothing to say.
  EXPECT_EQ(of_text("http { server { client_max_body_size 20M; location / { proxy_pass http://o; "
                    "} } }")
                .for_check("body.large-request", 413),
            "");
}

TEST(NginxAnalysis, StatusFindingsNameTheDirectiveThatAnswered) {
  const analysed gate =
      of_text("http { server { location / {\n if ($http_authorization != \"Bearer k\") {\n"
              " return 401; }\n proxy_pass http://o; } } }");
  EXPECT_TRUE(has(gate.for_check("stream.first-token", 401), "answers `return 401` at n.conf:3"));
  EXPECT_FALSE(has(gate.for_check("stream.first-token", 401), "proxy_buffering"));
  const analysed basic =
      of_text("http { server { location / { auth_basic \"x\"; proxy_pass http://o; } } }");
  EXPECT_TRUE(has(basic.for_check("api.endpoints", 401), "`auth_basic \"x\"`"));
  const analysed te = of_text("http { server { location / { proxy_pass http://o;\n"
                              "proxy_set_header Transfer-Encoding chunked; } } }");
  EXPECT_TRUE(has(te.for_check("stream.first-token", 400),
                  "`proxy_set_header Transfer-Encoding chunked` at n.conf:2"));
  // A body-less request announced as chunked: the upstream waits, nothing answers.
  EXPECT_TRUE(has(te.for_check("api.endpoints", -1), "remove it"));
  const analysed redirect = of_text("http { server { if ($scheme = http) { return 308 "
                                    "https://$host$request_uri; } location / { proxy_pass "
                                    "http://o; } } }");
  EXPECT_TRUE(has(redirect.for_check("stream.first-token", 308), "`return 308"));
  const analysed loop = of_text("http { server { location / { try_files $uri /index.html;\n"
                                "proxy_pass http://o; } } }");
  EXPECT_TRUE(has(loop.for_check("stream.first-token", 500), "`try_files $uri /index.html`"));
  const analysed limited =
      of_text("http { limit_req_zone $binary_remote_addr zone=llm:10m rate=2r/s;\n"
              "server { location / { limit_req zone=llm burst=5; proxy_pass http://o; } } }");
  const std::string got = limited.for_check("conn.concurrent-streams", 503);
  EXPECT_TRUE(has(got, "`limit_req zone=llm burst=5`")) << got;
  EXPECT_TRUE(has(got, "zone defined by `limit_req_zone")) << got;
  EXPECT_EQ(limited.for_check("conn.concurrent-streams", 401), "");
}

TEST(NginxAnalysis, ALocationThatDoesNotProxyIsNeverJudged) {
  // /api/chat lands in a static location: no buffering or http_version finding from it.
  const analysed a = of_text("http { server { location / { root /srv; }\n"
                             "location /ollama/ { proxy_pass http://o/; } } }");
  EXPECT_EQ(a.for_check("stream.first-token"), "");
  EXPECT_EQ(a.for_check("cors.preflight"), "");
}

TEST(NginxAnalysis, TheProbedLocationIsTheOneJudged) {
  auto top = parse_text("http { server { location / { root /srv; }\n"
                        "location /ollama/ { proxy_pass http://o/; proxy_http_version 1.1; "
                        "proxy_buffering off; } } }",
                        "n.conf");
  ASSERT_TRUE(top);
  analysis_options o;
  o.server = first_server(*top);
  o.path = "/ollama/api/chat";
  analysed a{analyse(*top, o)};
  EXPECT_FALSE(has(a.for_check("stream.first-token"), "proxy_http_version"))
      << a.for_check("stream.first-token");
  EXPECT_FALSE(has(a.for_check("stream.first-token"), "proxy_buffering"));
}

TEST(NginxAnalysis, AnnotateUsesStatusFindingsForDivergedChecksOnly) {
  run_report r;
  check_result gated;
  gated.id = "stream.first-token";
  gated.result = outcome::fail;
  gated.path = "/api/chat";
  gated.diverged_status = 401;
  gated.fix = "give the suite the gate's credentials";
  check_result plain = gated;
  plain.id = "stream.no-coalescing.sse";
  plain.diverged_status = 0;
  plain.fix = "proxy_buffering off;";
  r.checks = {gated, plain};
  const std::vector<finding> f = {{"*", "`return 401` at n.conf:3", 401},
                                  {"stream.", "no `proxy_buffering off` applies", 0}};
  annotate(r, f, "/api/chat");
  EXPECT_TRUE(has(r.checks[0].fix, "`return 401`"));
  EXPECT_FALSE(has(r.checks[0].fix, "proxy_buffering"));
  EXPECT_TRUE(has(r.checks[1].fix, "no `proxy_buffering off` applies"));
  EXPECT_FALSE(has(r.checks[1].fix, "return 401"));
}

TEST(NginxAnalysis, ARateLimitTheSuiteTrippedIsNoted) {
  run_report r;
  check_result c;
  c.id = "conn.concurrent-streams";
  c.result = outcome::fail;
  c.diverged_status = 503;
  r.checks = {c};
  annotate(r, {{"*", "`limit_req zone=llm` at n.conf:4", 503}}, "",
           {"2026/12/01 [error] 7#7: *9 limiting requests, excess: 8.5 by zone \"llm\", client"});
  note_rate_limits(r);
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_TRUE(has(r.notes[0], "tripped a rate limit")) << r.notes[0];
  EXPECT_TRUE(has(r.notes[0], "conn.concurrent-streams")) << r.notes[0];
  EXPECT_TRUE(has(r.checks[0].cause, "limiting requests, excess")) << r.checks[0].cause;
}

} // namespace
} // namespace streamcheck::harness::nginx
