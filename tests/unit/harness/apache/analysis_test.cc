// The Apache analysis on the fixtures that prove each fault (fixtures/apache/): the faulty config
// gets the finding, quoting its own ProxyPass line, and the fixed config none.
#include <gtest/gtest.h>

#include "harness/apache/analysis.h"
#include "tests/unit/harness/source_text.h"

namespace streamcheck::harness::apache {
namespace {

std::vector<nginx::finding> explaining(const std::string &fixture, const std::string &check_id) {
  std::vector<nginx::finding> out;
  for (const auto &f : analyse(source_text("fixtures/apache/" + fixture), fixture))
    if (nginx::matches(f, check_id)) out.push_back(f);
  return out;
}

TEST(ApacheAnalysis, OriginForwardedToOllama) {
  const auto f = explaining("stock.conf", "upstream.origin-accepted");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].loc.line, 60);
  EXPECT_EQ(f[0].text.rfind("`ProxyPass / http://127.0.0.1:11434/` at stock.conf:60 forwards the "
                            "browser's Origin to the upstream: add `RequestHeader unset Origin`",
                            0),
            0u)
      << f[0].text;
  EXPECT_TRUE(explaining("origin.conf", "upstream.origin-accepted").empty());
}

TEST(ApacheAnalysis, NoForwardedProto) {
  EXPECT_EQ(explaining("stock.conf", "headers.forwarded").size(), 1u);
  EXPECT_EQ(explaining("origin.conf", "headers.forwarded").size(), 1u);
  EXPECT_TRUE(explaining("forwarded.conf", "headers.forwarded").empty());
}

TEST(ApacheAnalysis, RecommendedConfigHasNoFinding) {
  for (const auto &f : analyse(source_text("proxies/apache/ollama.conf"), "ollama.conf"))
    ADD_FAILURE() << f.check_id << ": " << f.text;
  EXPECT_TRUE(analyse("Listen 80\n", "a.conf").empty()) << "nothing proxied, nothing said";
}

} // namespace
} // namespace streamcheck::harness::apache
