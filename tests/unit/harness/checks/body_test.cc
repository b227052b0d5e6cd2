// body.*: a large request (an image) reaches the upstream byte for byte.
#include <gtest/gtest.h>

#include "harness/runner.h"
#include "tests/unit/harness/checks/synthetic.h"

namespace streamcheck::harness {
namespace {

using namespace synthetic;

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
  journal_entry &e = journal_in(r.proxied, "upload").back();
  e.body_bytes = 1u << 20;
  e.body_fnv1a64 = "00000000deadbeef";
  const verdict v = r.judge();
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.expected, std::to_string(sent) + " identical bytes at the upstream");
  EXPECT_EQ(v.actual, "1048576 bytes, hash 00000000deadbeef");
  EXPECT_EQ(v.cause, "the proxy truncated or altered the request body");
  EXPECT_EQ(v.measurements["upstream_bytes"].get<std::uint64_t>(), 1u << 20);
}

TEST(LargeRequest, SameSizeDifferentBytesFails) {
  run r("body.large-request");
  journal_entry &e = journal_in(r.proxied, "upload").back();
  ASSERT_EQ(e.body_fnv1a64, r.probe("upload").request_fnv1a64);
  e.body_fnv1a64 = "0123456789abcdef";
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
