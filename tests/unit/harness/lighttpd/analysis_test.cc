// The lighttpd analysis on the fixtures that prove each fault (fixtures/lighttpd/): the faulty
// config gets the finding, quoting its own line where there is one, the fixed config none.
#include <gtest/gtest.h>

#include "harness/lighttpd/analysis.h"
#include "tests/unit/harness/source_text.h"

namespace streamcheck::harness::lighttpd {
namespace {

std::vector<nginx::finding> explaining(const std::string &fixture, const std::string &check_id) {
  std::vector<nginx::finding> out;
  for (const auto &f : analyse(source_text("fixtures/lighttpd/" + fixture), fixture))
    if (nginx::matches(f, check_id)) out.push_back(f);
  return out;
}

TEST(LighttpdAnalysis, DefaultResponseBufferingExplainsEveryCheckItFails) {
  for (const char *id : {"stream.first-token", "stream.large-response", "conn.concurrent-streams",
                         "abort.cancel-propagates", "abort.truncation-visible"}) {
    const auto stock = explaining("stock.conf", id);
    ASSERT_EQ(stock.size(), 1u) << id;
    EXPECT_EQ(stock[0].text.rfind("server.stream-response-body is not set, and its default (0) "
                                  "buffers the whole upstream response",
                                  0),
              0u)
        << stock[0].text;
    EXPECT_NE(stock[0].text.find("`server.stream-response-body = 2`"), std::string::npos);
    EXPECT_TRUE(explaining("stream-response-body.conf", id).empty()) << id;
  }
  // lighttpd does not watch a silent upstream's client either way: nothing to say about it.
  EXPECT_TRUE(explaining("stock.conf", "abort.cancel-before-first-token").empty());
}

TEST(LighttpdAnalysis, ExplicitZeroIsQuoted) {
  const std::string text = "server.modules = ( \"mod_proxy\" )\n"
                           "server.stream-response-body = 0  # buffer\n"
                           "proxy.server = ( \"\" => ( ( \"host\" => \"127.0.0.1\" ) ) )\n";
  const auto all = analyse(text, "l.conf");
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all[0].text.rfind("`server.stream-response-body = 0` at l.conf:2 buffers", 0), 0u)
      << all[0].text;
  EXPECT_EQ(all[0].loc.line, 2);
}

TEST(LighttpdAnalysis, OriginAndHostForwardedToOllama) {
  const auto origin = explaining("stock.conf", "upstream.origin-accepted");
  ASSERT_EQ(origin.size(), 1u);
  EXPECT_EQ(origin[0].loc.line, 43);
  EXPECT_EQ(origin[0].text.rfind("`proxy.server = ( \"\" => ( ( \"host\" => \"127.0.0.1\", "
                                 "\"port\" => 11434 ) ) )` at stock.conf:43 forwards the browser's "
                                 "Origin",
                                 0),
            0u)
      << origin[0].text;
  EXPECT_EQ(explaining("stock.conf", "upstream.host-accepted").size(), 1u);
  EXPECT_TRUE(explaining("origin.conf", "upstream.origin-accepted").empty());
  EXPECT_TRUE(explaining("host.conf", "upstream.host-accepted").empty());
}

TEST(LighttpdAnalysis, RecommendedConfigHasNoFinding) {
  for (const auto &f : analyse(source_text("proxies/lighttpd/ollama.conf"), "ollama.conf"))
    ADD_FAILURE() << f.check_id << ": " << f.text;
}

TEST(LighttpdAnalysis, NothingProxiedNothingSaid) {
  EXPECT_TRUE(analyse("server.port = 80\n", "l.conf").empty());
}

} // namespace
} // namespace streamcheck::harness::lighttpd
