// The HAProxy analysis on the fixtures that prove each fault (fixtures/haproxy/): the faulty
// config gets the finding, quoting its own line, and the config with the fix gets none.
#include <gtest/gtest.h>

#include "harness/haproxy/analysis.h"
#include "tests/unit/harness/source_text.h"

namespace streamcheck::harness::haproxy {
namespace {

std::vector<nginx::finding> quick(const std::string &name) {
  return analyse(source_text("fixtures/haproxy/" + name), {.file = name, .silence_ms = 4'000});
}

// The findings that explain a check (nginx::matches: exact ids and prefixes).
std::vector<nginx::finding> explaining(const std::vector<nginx::finding> &all,
                                       const std::string &check_id) {
  std::vector<nginx::finding> out;
  for (const auto &f : all)
    if (nginx::matches(f, check_id)) out.push_back(f);
  return out;
}

TEST(HaproxyAnalysis, TimesAreMillisecondsUnlessSuffixed) {
  EXPECT_EQ(parse_time_ms("50000"), 50'000);
  EXPECT_EQ(parse_time_ms("2s"), 2'000);
  EXPECT_EQ(parse_time_ms("500ms"), 500);
  EXPECT_EQ(parse_time_ms("10m"), 600'000);
  EXPECT_EQ(parse_time_ms("1h"), 3'600'000);
  EXPECT_EQ(parse_time_ms("1d"), 86'400'000);
  EXPECT_EQ(parse_time_ms("2500us"), 2);
  EXPECT_EQ(parse_time_ms("s"), -1);
  EXPECT_EQ(parse_time_ms("5x"), -1);
}

TEST(HaproxyAnalysis, StockHoldsSmallWritesOnItsPlainListener) {
  const auto stock = explaining(quick("stock.cfg"), "stream.first-token");
  ASSERT_EQ(stock.size(), 1u);
  EXPECT_EQ(stock[0].loc.line, 27);
  EXPECT_EQ(stock[0].subject, "bind *:8080");
  EXPECT_NE(stock[0].text.find("the plain listener `bind *:8080` at stock.cfg:27 (frontend "
                               "ollama) has no `option http-no-delay`"),
            std::string::npos)
      << stock[0].text;
  EXPECT_NE(stock[0].text.find("add `option http-no-delay`"), std::string::npos);
  EXPECT_TRUE(explaining(quick("http-no-delay.cfg"), "stream.first-token").empty());
}

TEST(HaproxyAnalysis, NoHoldOverTls) {
  const std::string tls = "defaults\n\tmode http\nfrontend f\n\tbind :8443 ssl crt /x.pem\n"
                          "\tdefault_backend b\nbackend b\n\tserver s 127.0.0.1:11434\n";
  EXPECT_TRUE(explaining(analyse(tls, {.file = "h.cfg"}), "stream.first-token").empty());
}

TEST(HaproxyAnalysis, TurnedOffIsQuotedWhereItIs) {
  const std::string off = "defaults\n\tmode http\n\toption http-no-delay\n\toption "
                          "abortonclose\nfrontend f\n\tbind :8080\n\tno option http-no-delay\n"
                          "\tdefault_backend b\nbackend b\n\tno option abortonclose\n"
                          "\tno option http-no-delay\n\tserver s 127.0.0.1:11434\n";
  const auto all = analyse(off, {.file = "h.cfg"});
  const auto hold = explaining(all, "stream.no-coalescing.sse");
  ASSERT_EQ(hold.size(), 1u);
  EXPECT_EQ(hold[0].text.rfind("`no option http-no-delay` at h.cfg:7 turns it off", 0), 0u)
      << hold[0].text;
  const auto abort = explaining(all, "abort.cancel-during-pause");
  ASSERT_EQ(abort.size(), 1u);
  EXPECT_EQ(abort[0].loc.line, 10);
  // HAProxy applies it when the frontend or the backend has it: the backend's defaults suffice.
  std::string backend_inherits = off;
  backend_inherits.erase(backend_inherits.find("\tno option http-no-delay\n\tserver"),
                         std::string("\tno option http-no-delay\n").size());
  EXPECT_TRUE(
      explaining(analyse(backend_inherits, {.file = "h.cfg"}), "stream.first-token").empty());
  // The backend's own setting wins over its defaults' in the other direction too.
  const std::string on = "defaults\n\tmode http\nbackend b\n\toption abortonclose\n"
                         "\tserver s 127.0.0.1:11434\n";
  EXPECT_TRUE(explaining(analyse(on, {.file = "h.cfg"}), "abort.cancel-during-pause").empty());
}

TEST(HaproxyAnalysis, StockNoticesTheClientOnlyAtItsNextWrite) {
  const auto stock = quick("stock.cfg");
  for (const char *id : {"abort.cancel-during-pause", "abort.cancel-before-first-token"}) {
    const auto f = explaining(stock, id);
    ASSERT_EQ(f.size(), 1u) << id;
    EXPECT_EQ(f[0].loc.line, 30);
    EXPECT_NE(f[0].text.find("`backend ollama` at stock.cfg:30 has no `option abortonclose`"),
              std::string::npos)
        << f[0].text;
    EXPECT_TRUE(explaining(quick("abortonclose.cfg"), id).empty()) << id;
  }
  // Stock passes cancel-propagates: the next write comes with the next token.
  EXPECT_TRUE(explaining(stock, "abort.cancel-propagates").empty());
}

TEST(HaproxyAnalysis, ServerTimeoutShorterThanTheSilenceIsQuoted) {
  const auto short_one = quick("short-timeouts.cfg");
  for (const char *id : {"timeout.slow-first-token", "timeout.idle-gap"}) {
    const auto f = explaining(short_one, id);
    ASSERT_EQ(f.size(), 1u) << id;
    EXPECT_EQ(f[0].subject, "timeout server 2s");
    EXPECT_EQ(f[0].text.rfind("`timeout server 2s` at short-timeouts.cfg:17 (defaults) is "
                              "shorter than the 4 s the upstream stays silent",
                              0),
              0u)
        << f[0].text;
    EXPECT_TRUE(explaining(quick("stock.cfg"), id).empty()) << id;
  }
  // The standard profile's 65 s: Debian's 50 s are too short too.
  const auto standard = analyse(source_text("fixtures/haproxy/stock.cfg"),
                                {.file = "stock.cfg", .silence_ms = 65'000});
  EXPECT_EQ(explaining(standard, "timeout.slow-first-token").size(), 1u);
}

TEST(HaproxyAnalysis, OriginAndHostForwardedToOllama) {
  const auto stock = quick("stock.cfg");
  EXPECT_EQ(explaining(stock, "upstream.origin-accepted").size(), 1u);
  EXPECT_EQ(explaining(stock, "upstream.host-accepted").size(), 1u);
  EXPECT_TRUE(explaining(quick("origin.cfg"), "upstream.origin-accepted").empty());
  EXPECT_TRUE(explaining(quick("host.cfg"), "upstream.host-accepted").empty());
}

TEST(HaproxyAnalysis, RecommendedConfigHasNoFinding) {
  const auto all = analyse(source_text("proxies/haproxy/ollama.cfg"),
                           {.file = "ollama.cfg", .silence_ms = 65'000});
  for (const auto &f : all)
    ADD_FAILURE() << f.check_id << ": " << f.text;
}

TEST(HaproxyAnalysis, NamedDefaultsFollowFrom) {
  const std::string named = "defaults slow\n\ttimeout server 2s\ndefaults fast\n\ttimeout server "
                            "1h\nbackend b from slow\n\tserver s 127.0.0.1:11434\n";
  const auto f =
      explaining(analyse(named, {.file = "h.cfg", .silence_ms = 4'000}), "timeout.idle-gap");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].loc.line, 2);
}

} // namespace
} // namespace streamcheck::harness::haproxy
