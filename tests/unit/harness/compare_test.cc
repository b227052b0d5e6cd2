// streamcheck compare's pure parts: target strings, labels, the matrix in console, Markdown and
// JSON, the worst exit code. No processes.
#include <gtest/gtest.h>

#include "harness/compare.h"

namespace streamcheck::harness {
namespace {

check_result result_of(const std::string &id, outcome o, const std::string &measured,
                       const std::string &fix = "") {
  check_result c;
  c.id = id;
  c.result = o;
  c.measured = measured;
  c.fix = fix;
  return c;
}

std::vector<compare_column> two_targets() {
  run_report stock, fixed;
  stock.checks = {result_of("stream.first-token", outcome::fail, "first event 201.2 ms late",
                            "option http-no-delay"),
                  result_of("cors.vary-origin", outcome::inconclusive, "inconclusive: no echo")};
  fixed.checks = {result_of("stream.first-token", outcome::pass, "first event +6.8 ms"),
                  result_of("cors.vary-origin", outcome::pass, "Vary: Origin")};
  return {{"haproxy:stock.cfg", stock, ""},
          {"haproxy:ollama.cfg", fixed, ""},
          {"caddy:Caddyfile", std::nullopt, "caddy not found"}};
}

TEST(Compare, TargetStrings) {
  auto h = parse_compare_target("haproxy:deploy/haproxy.cfg");
  ASSERT_TRUE(h) << h.message();
  EXPECT_EQ(h->command, "haproxy");
  EXPECT_EQ(h->file, "deploy/haproxy.cfg");
  auto e = parse_compare_target("exec:socat TCP-LISTEN:{port},fork TCP:{upstream}");
  ASSERT_TRUE(e) << e.message();
  EXPECT_EQ(e->argv,
            (std::vector<std::string>{"socat", "TCP-LISTEN:{port},fork", "TCP:{upstream}"}));
  for (const char *bad : {"deploy/haproxy.cfg", "traefik:x.yml", "exec:", "haproxy:", ":x"})
    EXPECT_FALSE(parse_compare_target(bad)) << bad;
  EXPECT_NE(parse_compare_target("traefik:x.yml").message().find("unknown target kind"),
            std::string::npos);
}

TEST(Compare, LabelsShortAndUnique) {
  std::vector<compare_target> t = {*parse_compare_target("haproxy:a/stock.cfg"),
                                   *parse_compare_target("haproxy:b/stock.cfg"),
                                   *parse_compare_target("caddy:deploy/Caddyfile")};
  label_targets(t);
  EXPECT_EQ(t[0].label, "haproxy:a/stock.cfg"); // two stock.cfg: the full spec
  EXPECT_EQ(t[1].label, "haproxy:b/stock.cfg");
  EXPECT_EQ(t[2].label, "caddy:Caddyfile");
}

TEST(Compare, ConsoleMatrixCellsAndFixes) {
  const std::string out = compare_console(two_targets(), false);
  EXPECT_NE(out.find("haproxy:stock.cfg"), std::string::npos);
  EXPECT_NE(out.find("✘ first event 201.2 ms late"), std::string::npos) << out;
  EXPECT_NE(out.find("✔ first event +6.8 ms"), std::string::npos);
  EXPECT_NE(out.find("! setup error"), std::string::npos);
  EXPECT_NE(out.find("fix: option http-no-delay"), std::string::npos);
  EXPECT_NE(out.find("could not run: caddy not found"), std::string::npos);
  EXPECT_NE(out.find("exit code 2"), std::string::npos);
}

TEST(Compare, MarkdownTable) {
  const std::string md = compare_markdown(two_targets());
  EXPECT_NE(md.find("| check | level | `haproxy:stock.cfg` | `haproxy:ollama.cfg` |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| `stream.first-token` | MUST | ✘ first event 201.2 ms late |"),
            std::string::npos)
      << md;
}

TEST(Compare, JsonCellsPerCheckAndTarget) {
  const auto j = compare_json(two_targets());
  EXPECT_EQ(j["exit_code"], 2);
  ASSERT_EQ(j["targets"].size(), 3u);
  EXPECT_EQ(j["targets"][2]["setup_error"], "caddy not found");
  ASSERT_EQ(j["checks"].size(), 2u);
  EXPECT_EQ(j["checks"][0]["id"], "stream.first-token");
  EXPECT_EQ(j["checks"][0]["cells"][0]["result"], "fail");
  EXPECT_EQ(j["checks"][0]["cells"][0]["fix"], "option http-no-delay");
  EXPECT_EQ(j["checks"][0]["cells"][1]["result"], "pass");
  EXPECT_EQ(j["checks"][0]["cells"][2]["result"], "error");
}

TEST(Compare, ExitCodeIsTheWorst) {
  auto cols = two_targets();
  EXPECT_EQ(compare_exit_code(cols), 2);
  cols.pop_back();
  EXPECT_EQ(compare_exit_code(cols), 1);
  cols.erase(cols.begin());
  EXPECT_EQ(compare_exit_code(cols), 0);
}

} // namespace
} // namespace streamcheck::harness
