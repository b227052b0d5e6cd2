// A managed HAProxy/Caddy/lighttpd/Apache config's findings in the report: appended to the fix of
// the failing check they explain, with the user's file:line, and nowhere else.
#include <gtest/gtest.h>

#include "harness/proxy_analysis.h"
#include "tests/unit/harness/source_text.h"

namespace streamcheck::harness {
namespace {

check_result with(const std::string &id, outcome o) {
  check_result c;
  c.id = id;
  c.result = o;
  c.fix = "option abortonclose (in defaults or the backend)";
  return c;
}

TEST(ProxyAnalysis, FindingsReachTheFailingChecksOnly) {
  run_report r;
  r.checks = {with("abort.cancel-before-first-token", outcome::fail),
              with("abort.cancel-propagates", outcome::pass),
              with("timeout.slow-first-token", outcome::pass)};
  annotate_proxy_config(r, "haproxy", source_text("fixtures/haproxy/stock.cfg"), "haproxy.cfg",
                        4'000);
  const auto &failed = r.checks[0];
  EXPECT_NE(failed.fix.find(" | in your config: `backend ollama` at haproxy.cfg:30 has no `option "
                            "abortonclose`"),
            std::string::npos)
      << failed.fix;
  ASSERT_EQ(failed.locations.size(), 1u);
  EXPECT_EQ(failed.locations[0].file, "haproxy.cfg");
  EXPECT_EQ(failed.locations[0].line, 30);
  for (std::size_t i = 1; i < r.checks.size(); ++i) {
    EXPECT_EQ(r.checks[i].fix, "option abortonclose (in defaults or the backend)") << i;
    EXPECT_TRUE(r.checks[i].locations.empty()) << i;
  }
}

TEST(ProxyAnalysis, EveryKindHasItsAnalyser) {
  EXPECT_FALSE(
      analyse_proxy_config("haproxy", source_text("fixtures/haproxy/stock.cfg"), "h", 4'000)
          .empty());
  EXPECT_FALSE(
      analyse_proxy_config("caddy", source_text("fixtures/caddy/stock.Caddyfile"), "C", 4'000)
          .empty());
  EXPECT_FALSE(
      analyse_proxy_config("lighttpd", source_text("fixtures/lighttpd/stock.conf"), "l", 4'000)
          .empty());
  EXPECT_FALSE(analyse_proxy_config("apache", source_text("fixtures/apache/stock.conf"), "a", 4'000)
                   .empty());
  // Caddy's JSON has no lines of the user's to quote; an unknown kind has no analyser.
  EXPECT_TRUE(analyse_proxy_config("caddy", R"({"apps":{}})", "c.json", 4'000).empty());
  EXPECT_TRUE(analyse_proxy_config("envoy", "anything", "e", 4'000).empty());
}

} // namespace
} // namespace streamcheck::harness
