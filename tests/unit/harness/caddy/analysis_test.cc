// The Caddyfile analysis on the fixtures that prove each fault (fixtures/caddy/): the faulty
// config gets the finding, quoting its own line, and the fixed config none.
#include <gtest/gtest.h>

#include "harness/caddy/analysis.h"
#include "tests/unit/harness/source_text.h"

namespace streamcheck::harness::caddy {
namespace {

std::vector<nginx::finding> explaining(const std::string &fixture, const std::string &check_id) {
  std::vector<nginx::finding> out;
  for (const auto &f : analyse(source_text("fixtures/caddy/" + fixture), fixture))
    if (nginx::matches(f, check_id)) out.push_back(f);
  return out;
}

TEST(CaddyAnalysis, FlushIntervalMinusOneBreaksCancellation) {
  for (const char *id : {"abort.cancel-during-pause", "abort.cancel-before-first-token"}) {
    const auto f = explaining("flush-interval.Caddyfile", id);
    ASSERT_EQ(f.size(), 1u) << id;
    EXPECT_EQ(f[0].loc.line, 7);
    EXPECT_EQ(f[0].text.rfind("`flush_interval -1` at flush-interval.Caddyfile:7 (reverse_proxy at "
                              "flush-interval.Caddyfile:6): with it Caddy does not cancel",
                              0),
              0u)
        << f[0].text;
    EXPECT_NE(f[0].text.find("remove it"), std::string::npos);
    EXPECT_TRUE(explaining("stock.Caddyfile", id).empty()) << id;
  }
  // Its other flush_interval values and the recommended config say nothing.
  EXPECT_TRUE(analyse("x {\n\treverse_proxy a:1 {\n\t\tflush_interval 100ms\n\t\theader_up "
                      "-Origin\n\t\theader_up Host {upstream_hostport}\n\t}\n}\n",
                      "C")
                  .empty());
}

TEST(CaddyAnalysis, OriginAndHostForwardedToOllama) {
  const auto origin = explaining("stock.Caddyfile", "upstream.origin-accepted");
  ASSERT_EQ(origin.size(), 1u);
  EXPECT_EQ(origin[0].text.rfind("`reverse_proxy localhost:11434` at stock.Caddyfile:6 forwards "
                                 "the browser's Origin",
                                 0),
            0u)
      << origin[0].text;
  EXPECT_EQ(explaining("stock.Caddyfile", "upstream.host-accepted").size(), 1u);
  EXPECT_TRUE(explaining("origin.Caddyfile", "upstream.origin-accepted").empty());
  EXPECT_TRUE(explaining("host.Caddyfile", "upstream.host-accepted").empty());
}

TEST(CaddyAnalysis, RecommendedConfigHasNoFinding) {
  for (const auto &f : analyse(source_text("proxies/caddy/Caddyfile"), "Caddyfile"))
    ADD_FAILURE() << f.check_id << ": " << f.text;
}

} // namespace
} // namespace streamcheck::harness::caddy
