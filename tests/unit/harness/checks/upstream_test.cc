// upstream.*: what the proxy forwards is acceptable to the upstream's Origin and Host policy.
#include <gtest/gtest.h>

#include "harness/runner.h"
#include "tests/unit/harness/checks/synthetic.h"

namespace streamcheck::harness {
namespace {

using namespace synthetic;

// The upstream's bare policy 403 (Ollama's Origin or Host guard), relayed by the proxy.
void refused_by_upstream(run &r) {
  auto &p = r.probe("stream");
  p = answered(spec_named(specs_of(r.c.id), "stream"), 403, "text/plain");
  p.header_lines.back() = "Content-Length: 0";
  p.framing = body_framing::content_length;
  journal_in(r.proxied, "stream").back().status = 403;
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

} // namespace
} // namespace streamcheck::harness
