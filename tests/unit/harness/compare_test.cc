// streamcheck compare's pure parts: target strings, labels, the matrix in console, Markdown and
// JSON (against docs/compare-schema.json), the worst exit code. No processes.
#include <cstdlib>
#include <fstream>
#include <gtest/gtest.h>
#include <unistd.h>

#include "harness/compare.h"
#include "tests/unit/harness/mini_schema.h"

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
  stock.target = "haproxy fixtures/haproxy/stock.cfg, frontend ollama (HAProxy 2.6.12)";
  stock.started_at = fixed.started_at = "2026-12-02T01:00:00Z";
  return {{"haproxy:stock.cfg", stock, "", "haproxy:fixtures/haproxy/stock.cfg", "haproxy"},
          {"haproxy:ollama.cfg", fixed, ""},
          {"caddy:Caddyfile", std::nullopt, "caddy not found"}};
}

// Every request answered 401 by the proxy itself: nothing about streaming was measured.
run_report gated() {
  run_report r;
  r.started_at = "2026-12-02T01:00:00Z";
  for (const char *id : {"stream.first-token", "cors.preflight"}) {
    check_result c = result_of(id, outcome::fail, "HTTP 401");
    c.diverged_status = 401;
    r.checks.push_back(c);
  }
  return r;
}

nlohmann::json schema_file(const char *path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in, nullptr, false);
}

test::mini_schema compare_schema() {
  return test::mini_schema(schema_file(STREAMCHECK_COMPARE_SCHEMA),
                           {schema_file(STREAMCHECK_REPORT_SCHEMA)});
}

std::size_t count_of(const std::string &text, const std::string &what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
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

TEST(Compare, UrlTargets) {
  auto u = parse_compare_target("url:http://127.0.0.1:8080");
  ASSERT_TRUE(u) << u.message();
  EXPECT_EQ(u->command, "url");
  EXPECT_EQ(u->url, "http://127.0.0.1:8080");
  EXPECT_TRUE(parse_compare_target("url:https://llm.example.test/ollama/"));
  for (const char *bad : {"url:", "url:127.0.0.1:8080", "url:ftp://x", "url:http://"})
    EXPECT_FALSE(parse_compare_target(bad)) << bad;
  EXPECT_NE(parse_compare_target("url:127.0.0.1:8080").message().find("url:http://HOST:PORT"),
            std::string::npos);
  std::vector<compare_target> t = {*parse_compare_target("url:http://127.0.0.1:8080"),
                                   *parse_compare_target("url:https://127.0.0.1:8443/ollama/")};
  label_targets(t);
  EXPECT_EQ(t[0].label, "url:127.0.0.1:8080");
  EXPECT_EQ(t[1].label, "url:https:127.0.0.1:8443/ollama/");
}

TEST(Compare, UrlTargetsNeedTheMockControlAndNothingElseTakesIt) {
  const std::vector<compare_target> url = {*parse_compare_target("url:http://127.0.0.1:8080")};
  const std::vector<compare_target> managed = {*parse_compare_target("haproxy:a.cfg")};
  run_options run;
  EXPECT_NE(compare_usage_problem(url, run).value_or("").find("--mock-control"), std::string::npos);
  EXPECT_FALSE(compare_usage_problem(managed, run));
  run.mock_control = "http://127.0.0.1:11435";
  EXPECT_FALSE(compare_usage_problem(url, run));
  EXPECT_NE(compare_usage_problem(managed, run).value_or("").find("is for url: targets"),
            std::string::npos);
  run.proxy_url = "http://127.0.0.1:8080";
  EXPECT_NE(compare_usage_problem(url, run).value_or("").find("not --proxy"), std::string::npos);
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
  // The legend says what each short label ran.
  EXPECT_NE(out.find("haproxy:stock.cfg: haproxy fixtures/haproxy/stock.cfg, frontend ollama "
                     "(HAProxy 2.6.12) — 2 checks, 0 passed, 0 warned, 1 failed, 1 inconclusive"),
            std::string::npos)
      << out;
}

TEST(Compare, FailuresNameTheBlockingCheckAndLevel) {
  auto cols = two_targets();
  cols[0].report->checks[1].blocked_by = "stream.first-token";
  const std::string out = compare_console(cols, false);
  EXPECT_NE(out.find("? cors.vary-origin (MUST): inconclusive: no echo\n"
                     "      blocked by: stream.first-token"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("haproxy:ollama.cfg:\n  every check passed"), std::string::npos) << out;
}

TEST(Compare, ConsoleMatrixWrapsIntoBlocksThatFit) {
  std::vector<compare_column> cols;
  for (int i = 0; i < 6; ++i)
    cols.push_back(two_targets()[0]);
  for (std::size_t i = 0; i < cols.size(); ++i)
    cols[i].label = "target-" + std::to_string(i);
  const std::string wide = compare_console(cols, false, 1000);
  EXPECT_EQ(count_of(wide, "\ncheck "), 1u) << wide;
  const std::string narrow = compare_console(cols, false, 100);
  // id column 19 + level 7 + 29 per target: two targets a block, three blocks.
  EXPECT_EQ(count_of(narrow, "\ncheck "), 3u) << narrow;
  for (const auto &line : {std::string("target-0"), std::string("target-5")})
    EXPECT_NE(narrow.find(line), std::string::npos);
  const std::string tiny = compare_console(cols, false, 10); // one target a block, never none
  EXPECT_EQ(count_of(tiny, "\ncheck "), 6u);
}

TEST(Compare, ConsoleWidthFromColumns) {
  const char *saved = std::getenv("COLUMNS");
  const std::string before = saved ? saved : "";
  setenv("COLUMNS", "100", 1);
  EXPECT_EQ(console_width(), 100u);
  for (const char *junk : {"abc", "12", "100x", ""}) { // not a usable width: the tty's, or 160
    setenv("COLUMNS", junk, 1);
    const std::size_t w = console_width();
    EXPECT_TRUE(w == 160u || (w >= 40u && isatty(STDOUT_FILENO))) << junk << ": " << w;
  }
  if (saved)
    setenv("COLUMNS", before.c_str(), 1);
  else
    unsetenv("COLUMNS");
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

TEST(Compare, MarkdownCellsShowMoreOfTheFigureThanTheConsole) {
  auto cols = two_targets();
  cols[0].report->checks[0].measured =
      "upstream connection still in_progress 1000 ms after the client left";
  EXPECT_NE(compare_markdown(cols).find("✘ upstream connection still in_progress 1000 ms after"),
            std::string::npos);
  EXPECT_NE(compare_console(cols, false).find("✘ upstream connection still in_…"),
            std::string::npos);
}

TEST(Compare, JsonCellsPerCheckAndTarget) {
  const auto j = compare_json(two_targets());
  EXPECT_EQ(j["exit_code"], 2);
  ASSERT_EQ(j["targets"].size(), 3u);
  EXPECT_EQ(j["targets"][0]["spec"], "haproxy:fixtures/haproxy/stock.cfg");
  EXPECT_EQ(j["targets"][0]["kind"], "haproxy");
  EXPECT_EQ(j["targets"][0]["exit_code"], 1);
  EXPECT_EQ(j["targets"][0]["report"]["checks"][0]["fix"], "option http-no-delay");
  EXPECT_EQ(j["targets"][2]["setup_error"], "caddy not found");
  EXPECT_FALSE(j["targets"][2].contains("report"));
  ASSERT_EQ(j["checks"].size(), 2u);
  EXPECT_EQ(j["checks"][0]["id"], "stream.first-token");
  EXPECT_EQ(j["checks"][0]["cells"][0]["result"], "fail");
  EXPECT_EQ(j["checks"][0]["cells"][0]["fix"], "option http-no-delay");
  EXPECT_EQ(j["checks"][0]["cells"][1]["result"], "pass");
  EXPECT_EQ(j["checks"][0]["cells"][2]["result"], "error");
}

TEST(Compare, JsonValidatesAgainstPublishedSchema) {
  auto cols = two_targets();
  cols.push_back({"url:127.0.0.1:8080", gated(), "", "url:http://127.0.0.1:8080", "url"});
  cols[0].report->checks[0].measured = "\xff\xfe not UTF-8"; // quoted from a proxy
  const std::string text = compare_json_text(cols);
  const auto doc = nlohmann::json::parse(text, nullptr, false);
  ASSERT_FALSE(doc.is_discarded());
  auto checker = compare_schema();
  for (const auto &err : checker.validate(doc))
    ADD_FAILURE() << err;
  EXPECT_NE(doc["targets"][3]["refused"].get<std::string>().find("HTTP 401"), std::string::npos);
  EXPECT_TRUE(checker.validate(nlohmann::json::parse(compare_json_text({}))).empty());
}

TEST(Compare, SchemaRejectsDrift) {
  // Guards the checker and the schema: a missing target field, an unknown cell field, and a bad
  // verdict inside an embedded run report (reached through the report schema's $id) are caught.
  auto checker = compare_schema();
  auto doc = nlohmann::json::parse(compare_json_text(two_targets()));
  doc["targets"][1].erase("exit_code");
  doc["checks"][0]["cells"][0]["extra"] = true;
  doc["targets"][0]["report"]["checks"][0]["result"] = "passed";
  EXPECT_EQ(checker.validate(doc).size(), 3u);
}

TEST(Compare, ExitCodeIsTheWorst) {
  auto cols = two_targets();
  EXPECT_EQ(compare_exit_code(cols), 2);
  cols.pop_back();
  EXPECT_EQ(compare_exit_code(cols), 1);
  cols.erase(cols.begin());
  EXPECT_EQ(compare_exit_code(cols), 0);
  // A proxy that refused every request itself measured nothing: a setup error, as for one run.
  cols.push_back({"url:127.0.0.1:8080", gated(), ""});
  EXPECT_EQ(compare_exit_code(cols), 2);
  EXPECT_NE(compare_console(cols, false)
                .find("nothing about streaming was measured: every "
                      "request through the proxy got HTTP 401"),
            std::string::npos);
}

} // namespace
} // namespace streamcheck::harness
