// headers.*: what the upstream needs to know reaches it.
#include <string>

#include <gtest/gtest.h>

#include "harness/runner.h"
#include "tests/unit/harness/checks/synthetic.h"

namespace streamcheck::harness {
namespace {

using namespace synthetic;

// Drops (or, with a value, replaces) a header in what the upstream journaled for `probe`.
void upstream_header(run &r, const std::string &probe, const std::string &name,
                     const std::string &value = "") {
  header_list &headers = journal_in(r.proxied, probe).back().headers;
  std::erase_if(headers, [&](const auto &h) { return same_name(h.first, name); });
  if (!value.empty()) headers.emplace_back(name, value);
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

} // namespace
} // namespace streamcheck::harness
