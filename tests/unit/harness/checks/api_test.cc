// api.*: the non-streaming routes and the errors come through as the upstream sent them.
#include <gtest/gtest.h>

#include "tests/unit/harness/checks/synthetic.h"

namespace streamcheck::harness {
namespace {

using namespace synthetic;

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
