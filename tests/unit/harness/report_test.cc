// Pins every report format: exact console and summary lines, exit-code ranking, JSON against the
// published schema, JUnit well-formedness and escaping, and the Markdown table.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "harness/report/report.h"
#include "harness/report/text.h"
#include "tests/unit/harness/mini_schema.h"
#include "tests/unit/harness/mini_xml.h"

namespace streamcheck::harness {
namespace {

using test::xml_node;

check_result make(std::string id, level l, outcome o, std::string measured) {
  check_result c;
  c.id = std::move(id);
  c.title = "title of " + c.id;
  c.severity = l;
  c.result = o;
  c.measured = std::move(measured);
  c.requirement = "the requirement of " + c.id;
  c.seconds = 0.25;
  if (o == outcome::warn || o == outcome::fail || o == outcome::error) {
    c.expected = "expected value";
    c.actual = "actual value";
    c.cause = "the cause";
    c.fix = "fix line 1;\nfix line 2;";
    c.reproduce = "curl -N http://127.0.0.1:8080/api/chat";
  }
  return c;
}

run_report sample() {
  run_report r;
  r.tool_version = "0.1.0";
  r.target = "proxy http://127.0.0.1:8080 (nginx)";
  r.proxy_kind = "nginx";
  r.proxy_kind_source = "Server: nginx/1.22.1";
  r.profile = "quick";
  r.upstream = "http://127.0.0.1:9000";
  r.started_at = "2025-01-02T03:04:05Z";
  r.seconds = 12.5;
  r.checks = {make("stream.first-token", level::must, outcome::pass, "first event +3.1 ms"),
              make("cors.vary-origin", level::should, outcome::warn, "no Vary: Origin"),
              make("stream.no-coalescing.ndjson", level::must, outcome::fail, "p95 added 812 ms"),
              make("conn.keepalive", level::should, outcome::skip, "HTTP/1.0 client"),
              make("timeout.idle-gap", level::must, outcome::error, "mock unreachable"),
              make("abort.cancel-during-pause", level::should, outcome::inconclusive,
                   "inconclusive: never paused")};
  r.checks[5].actual = "never paused";
  r.checks[5].cause = "the proxy held the stream back";
  r.checks[5].blocked_by = "stream.first-token";
  r.checks[0].measurements = {{"added_ms", {{"p95", 3.1}, {"max", 7.9}}}, {"events", 40}};
  // A buffering proxy: three events emitted 40 ms apart all arrive at 812 ms; direct at once.
  probe_timeline t;
  t.probe = "stream";
  t.direct = {true, 200, 0.4, 121.0, -1, 121.0, "completed", "complete", {}};
  t.proxied = {true, 200, 811.0, 812.5, -1, 121.2, "completed", "complete", {}};
  for (int seq = 0; seq < 3; ++seq) {
    const double emitted = 40.0 * seq + 0.25;
    t.direct.events.push_back({seq, emitted, emitted + 0.5});
    t.proxied.events.push_back({seq, emitted, 812.0});
  }
  r.checks[2].timelines = {t};
  r.checks[2].locations = {{"deploy/nginx.conf", 12, "proxy_buffering on"}};
  r.checks[1].locations = {{"deploy/nginx.conf", 7, "location / { ... }"}};
  return r;
}

// A proxy's bytes quoted in a finding: markup, a terminal escape, a C0 control, invalid UTF-8.
const std::string hostile = "<b>&\"'</b>]]> \x1b[2J\x01 \xff end";

// Every byte value, plus UTF-8 that is malformed or names a code point XML forbids.
std::string every_byte() {
  std::string s;
  for (int b = 0; b < 256; ++b)
    s += static_cast<char>(b);
  return s + "\xED\xA0\x80 \xEF\xBF\xBE \xF4\x90\x80\x80 \xC0\xAF \xC2\x9B \xE2\x82";
}

std::vector<std::string> lines_of(const std::string &s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

template <class F> std::string render(F write, const run_report &r) {
  std::ostringstream out;
  write(out, r);
  return out.str();
}

// ---- data model ----------------------------------------------------------------------------

TEST(Report, NamesLevelsAndOutcomes) {
  EXPECT_STREQ(to_string(level::must), "MUST");
  EXPECT_STREQ(to_string(level::should), "SHOULD");
  EXPECT_STREQ(to_string(level::info), "INFO");
  EXPECT_STREQ(to_string(outcome::pass), "pass");
  EXPECT_STREQ(to_string(outcome::warn), "warn");
  EXPECT_STREQ(to_string(outcome::fail), "fail");
  EXPECT_STREQ(to_string(outcome::inconclusive), "inconclusive");
  EXPECT_STREQ(to_string(outcome::skip), "skip");
  EXPECT_STREQ(to_string(outcome::error), "error");
}

TEST(Report, SummaryCountsEachOutcome) {
  const run_summary s = sample().summary();
  EXPECT_EQ(s.checks, 6);
  EXPECT_EQ(s.passed, 1);
  EXPECT_EQ(s.warned, 1);
  EXPECT_EQ(s.failed, 1);
  EXPECT_EQ(s.inconclusive, 1);
  EXPECT_EQ(s.skipped, 1);
  EXPECT_EQ(s.errors, 1);
}

int exit_code_of(std::initializer_list<outcome> outcomes, bool strict = false) {
  run_report r;
  r.strict = strict;
  for (const outcome o : outcomes)
    r.checks.push_back(make("x.y", level::must, o, ""));
  return r.exit_code();
}

TEST(Report, ExitCodeRanksErrorOverFailOverRest) {
  EXPECT_EQ(exit_code_of({}), 0);
  EXPECT_EQ(exit_code_of({outcome::pass}), 0);
  EXPECT_EQ(exit_code_of({outcome::pass, outcome::warn, outcome::skip}), 0);
  EXPECT_EQ(exit_code_of({outcome::skip}), 0);
  EXPECT_EQ(exit_code_of({outcome::pass, outcome::fail}), 1);
  EXPECT_EQ(exit_code_of({outcome::warn, outcome::fail, outcome::skip}), 1);
  EXPECT_EQ(exit_code_of({outcome::error}), 2);
  EXPECT_EQ(exit_code_of({outcome::fail, outcome::error, outcome::pass}), 2);
}

TEST(Report, InconclusiveMustFailsTheRunAnInconclusiveShouldOnlyUnderStrict) {
  // A gate cannot certify what it could not observe.
  EXPECT_EQ(exit_code_of({outcome::pass, outcome::inconclusive}), 1);
  run_report r;
  r.checks.push_back(make("abort.cancel-during-pause", level::should, outcome::inconclusive, ""));
  EXPECT_EQ(r.exit_code(), 0);
  r.strict = true;
  EXPECT_EQ(r.exit_code(), 1);
  r.checks.push_back(make("x.y", level::must, outcome::error, ""));
  EXPECT_EQ(r.exit_code(), 2);
}

TEST(Report, ExitCodeTrustsTheRunnersStrictVerdict) {
  // Under --strict the runner already reports a SHOULD miss as fail; a warn stays a warn.
  EXPECT_EQ(exit_code_of({outcome::warn}, true), 0);
  EXPECT_EQ(exit_code_of({outcome::fail}, true), 1);
}

TEST(Report, SummaryLineIsExact) {
  EXPECT_EQ(summary_line(sample().summary()),
            "6 checks, 1 passed, 1 warned, 1 failed, 1 inconclusive, 1 skipped, 1 errors");
  EXPECT_EQ(summary_line({3, 1, 1, 1, 0, 0, 0}),
            "3 checks, 1 passed, 1 warned, 1 failed, 0 inconclusive, 0 skipped");
  EXPECT_EQ(summary_line({}), "0 checks, 0 passed, 0 warned, 0 failed, 0 inconclusive, 0 skipped");
}

// ---- console --------------------------------------------------------------------------------

TEST(Console, PassLineIsOneLineWithPaddedIdAndLevel) {
  const check_result c = make("stream.first-token", level::must, outcome::pass, "+3.1 ms");
  EXPECT_EQ(console_line(c, false), "\u2714 stream.first-token              MUST   +3.1 ms");
}

TEST(Console, GlyphPerOutcome) {
  const std::pair<outcome, std::string> glyphs[] = {{outcome::pass, "\u2714 "},
                                                    {outcome::warn, "\u26A0 "},
                                                    {outcome::fail, "\u2718 "},
                                                    {outcome::skip, "\u2013 "},
                                                    {outcome::error, "! "}};
  for (const auto &[o, glyph] : glyphs)
    EXPECT_EQ(console_line(make("a.b", level::should, o, "m"), false).rfind(glyph, 0), 0u)
        << to_string(o);
}

TEST(Console, SkipWithoutMeasurementHasNoTrailingSpace) {
  EXPECT_EQ(console_line(make("a.b", level::info, outcome::skip, ""), false),
            "\u2013 a.b                             INFO");
}

TEST(Console, FailureAddsIndentedExplanation) {
  const check_result c =
      make("stream.no-coalescing.sse", level::must, outcome::fail, "p95 +812 ms");
  EXPECT_EQ(console_line(c, false), "\u2718 stream.no-coalescing.sse        MUST   p95 +812 ms\n"
                                    "    requirement: the requirement of stream.no-coalescing.sse\n"
                                    "    expected:    expected value\n"
                                    "    actual:      actual value\n"
                                    "    cause:       the cause\n"
                                    "    fix:         fix line 1;\n"
                                    "                 fix line 2;\n"
                                    "    reproduce:   curl -N http://127.0.0.1:8080/api/chat");
}

TEST(Console, EmptyExplanationFieldsAreLeftOut) {
  check_result c = make("a.b", level::must, outcome::error, "boom");
  c.requirement = c.cause = c.fix = c.reproduce = c.expected = "";
  EXPECT_EQ(console_line(c, false), "! a.b                             MUST   boom\n"
                                    "    actual:      actual value");
}

TEST(Console, ColorWrapsGlyphAndId) {
  const std::string line = console_line(make("a.b", level::must, outcome::fail, "m"), true);
  EXPECT_EQ(line.rfind("\033[31m\u2718 a.b", 0), 0u);
  EXPECT_NE(line.find("\033[0m"), std::string::npos);
  EXPECT_EQ(console_line(make("a.b", level::must, outcome::pass, "m"), false).find('\033'),
            std::string::npos);
}

TEST(Console, ProxyBytesCannotDriveTheTerminal) {
  check_result c = make("a.b", level::must, outcome::fail, hostile);
  c.actual = hostile;
  const std::string line = console_line(c, false);
  EXPECT_EQ(line.find('\033'), std::string::npos);
  EXPECT_EQ(line.find('\x01'), std::string::npos);
  EXPECT_NE(line.find("\u241B[2J\u2401"), std::string::npos); // visible as Control Pictures
  EXPECT_NE(line.find("\uFFFD end"), std::string::npos);      // invalid UTF-8 replaced
}

// Tab and newline are layout; any other control byte could drive a terminal or a renderer.
bool only_layout_controls(const std::string &s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    const auto b = static_cast<unsigned char>(c);
    return (b < 0x20 && c != '\n' && c != '\t') || b == 0x7F;
  });
}

TEST(Console, AnyBytesPrintInert) {
  run_report r = sample();
  r.target = every_byte();
  r.checks[2].measured = every_byte();
  r.checks[2].actual = every_byte();
  EXPECT_TRUE(
      only_layout_controls(render([](auto &o, auto &rr) { write_console(o, rr, false); }, r)));
  EXPECT_TRUE(only_layout_controls(render(write_markdown, r)));
}

TEST(Console, ReportHasHeaderChecksDetailsAndSummaryLast) {
  const auto lines =
      lines_of(render([](auto &o, auto &r) { write_console(o, r, false); }, sample()));
  ASSERT_GE(lines.size(), 10u);
  EXPECT_EQ(lines[0], "streamcheck 0.1.0: proxy http://127.0.0.1:8080 (nginx), profile quick");
  EXPECT_EQ(lines[1], "upstream: http://127.0.0.1:9000");
  EXPECT_EQ(lines[2], "proxy kind: nginx (Server: nginx/1.22.1)");
  EXPECT_EQ(lines[3], "");
  EXPECT_EQ(lines[4].rfind("\u2714 stream.first-token", 0), 0u);
  EXPECT_EQ(lines[8].rfind("! timeout.idle-gap", 0), 0u);
  EXPECT_EQ(lines[9].rfind("? abort.cancel-during-pause", 0), 0u);
  EXPECT_EQ(lines[10], "");
  EXPECT_EQ(lines[11], "Details:");
  EXPECT_EQ(lines.back(),
            "6 checks, 1 passed, 1 warned, 1 failed, 1 inconclusive, 1 skipped, 1 errors");
  const auto at = [&](const std::string &s) { return std::find(lines.begin(), lines.end(), s); };
  EXPECT_NE(at("failed: stream.no-coalescing.ndjson"), lines.end());
  EXPECT_NE(at("warned: cors.vary-origin"), lines.end());
  EXPECT_NE(at("errors: timeout.idle-gap"), lines.end());
  EXPECT_NE(at("inconclusive: abort.cancel-during-pause"), lines.end());
  EXPECT_NE(at("    blocked by:  stream.first-token"), lines.end());
  EXPECT_EQ(lines[lines.size() - 2], "finished in 12.5 s, exit code 2");
}

TEST(Console, CleanRunHasNoDetailsSection) {
  run_report r = sample();
  r.checks.resize(1);
  r.strict = true;
  const std::string out = render([](auto &o, auto &rr) { write_console(o, rr, false); }, r);
  EXPECT_NE(out.find("profile quick, strict\n"), std::string::npos);
  EXPECT_EQ(out.find("Details:"), std::string::npos);
  EXPECT_EQ(out.find("failed:"), std::string::npos);
  EXPECT_EQ(lines_of(out).back(),
            "1 checks, 1 passed, 0 warned, 0 failed, 0 inconclusive, 0 skipped");
}

// ---- JSON -----------------------------------------------------------------------------------

nlohmann::json schema() {
  std::ifstream in(STREAMCHECK_REPORT_SCHEMA);
  return nlohmann::json::parse(in, nullptr, false);
}

nlohmann::json json_of(const run_report &r) {
  return nlohmann::json::parse(render(write_json, r), nullptr, false);
}

TEST(Json, CarriesRunFieldsSummaryAndExitCode) {
  const nlohmann::json doc = json_of(sample());
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["schema_version"], 1);
  EXPECT_EQ(doc["tool_version"], "0.1.0");
  EXPECT_EQ(doc["target"], "proxy http://127.0.0.1:8080 (nginx)");
  EXPECT_EQ(doc["proxy_kind"], "nginx");
  EXPECT_EQ(doc["profile"], "quick");
  EXPECT_EQ(doc["upstream"], "http://127.0.0.1:9000");
  EXPECT_EQ(doc["strict"], false);
  EXPECT_EQ(doc["started_at"], "2025-01-02T03:04:05Z");
  EXPECT_EQ(doc["seconds"], 12.5);
  EXPECT_EQ(doc["exit_code"], 2);
  EXPECT_EQ(doc["proxy_kind_source"], "Server: nginx/1.22.1");
  const nlohmann::json summary = {{"checks", 6},       {"passed", 1},  {"warned", 1}, {"failed", 1},
                                  {"inconclusive", 1}, {"skipped", 1}, {"errors", 1}};
  EXPECT_EQ(doc["summary"], summary);
  EXPECT_EQ(doc["checks"][5]["result"], "inconclusive");
  EXPECT_EQ(doc["checks"][5]["blocked_by"], "stream.first-token");
}

TEST(Json, EveryCheckHasEveryField) {
  const nlohmann::json doc = json_of(sample());
  ASSERT_EQ(doc["checks"].size(), 6u);
  const nlohmann::json &fail = doc["checks"][2];
  EXPECT_EQ(fail["id"], "stream.no-coalescing.ndjson");
  EXPECT_EQ(fail["title"], "title of stream.no-coalescing.ndjson");
  EXPECT_EQ(fail["level"], "MUST");
  EXPECT_EQ(fail["result"], "fail");
  EXPECT_EQ(fail["measured"], "p95 added 812 ms");
  EXPECT_EQ(fail["expected"], "expected value");
  EXPECT_EQ(fail["actual"], "actual value");
  EXPECT_EQ(fail["cause"], "the cause");
  EXPECT_EQ(fail["fix"], "fix line 1;\nfix line 2;");
  EXPECT_EQ(fail["reproduce"], "curl -N http://127.0.0.1:8080/api/chat");
  EXPECT_EQ(fail["seconds"], 0.25);
  EXPECT_EQ(fail["measurements"], nlohmann::json::object());
  EXPECT_EQ(doc["checks"][0]["measurements"]["added_ms"]["p95"], 3.1);
  EXPECT_EQ(doc["checks"][0]["expected"], ""); // present even when empty
}

TEST(Json, SaysWhatProtocolTheRunAndEachCheckSpoke) {
  run_report r = sample();
  r.protocol = "HTTP/2 (--http auto: TLS, ALPN offered h2 and http/1.1)";
  r.checks[2].protocol = "HTTP/2";
  const nlohmann::json doc = json_of(r);
  EXPECT_EQ(doc["protocol"], r.protocol);
  EXPECT_EQ(doc["checks"][2]["protocol"], "HTTP/2");
  EXPECT_EQ(doc["checks"][0]["protocol"], ""); // present even when unknown
  test::mini_schema checker(schema());
  for (const auto &err : checker.validate(doc))
    ADD_FAILURE() << err;
  EXPECT_NE(render(write_junit, r).find("<property name=\"protocol\" value=\"HTTP/2 (--http auto"),
            std::string::npos);
  const std::string console =
      render([](std::ostream &o, const run_report &x) { write_console(o, x, false); }, r);
  EXPECT_NE(console.find("\nprotocol: HTTP/2 (--http auto"), std::string::npos) << console;
  EXPECT_NE(console.find("    protocol:    HTTP/2\n"), std::string::npos) << console;
}

TEST(Json, ValidatesAgainstPublishedSchema) {
  test::mini_schema checker(schema());
  for (const auto &err : checker.validate(json_of(sample())))
    ADD_FAILURE() << err;
  run_report empty;
  empty.started_at = "2026-12-01T18:00:00Z";
  for (const auto &err : checker.validate(json_of(empty)))
    ADD_FAILURE() << "empty report: " << err;
}

TEST(Json, ALiveChecksScriptedTwinIsWrittenAndSchemaValid) {
  // streamcheck live: the twin the live_agreement test compares with; absent when there is none.
  run_report r = sample();
  r.checks[0].scripted = "stream.first-token";
  const nlohmann::json doc = json_of(r);
  EXPECT_EQ(doc["checks"][0]["scripted"], "stream.first-token");
  EXPECT_FALSE(doc["checks"][1].contains("scripted"));
  test::mini_schema checker(schema());
  for (const auto &err : checker.validate(doc))
    ADD_FAILURE() << err;
}

TEST(Json, SchemaChecksTheStartTimeFormat) {
  // Guards the checker: "format": "date-time" is evaluated, not just accepted.
  test::mini_schema checker(schema());
  nlohmann::json doc = json_of(sample());
  for (const char *good : {"2025-01-02T03:04:05Z", "2025-01-02T03:04:05.123+01:00"}) {
    doc["started_at"] = good;
    EXPECT_TRUE(checker.validate(doc).empty()) << good;
  }
  for (const char *bad : {"", "2025-01-02 03:04:05", "2025-01-02T03:04:05", "yesterday"}) {
    doc["started_at"] = bad;
    EXPECT_EQ(checker.validate(doc).size(), 1u) << bad;
  }
}

TEST(Json, SchemaRejectsDrift) {
  // Guards the checker itself: a missing field, an unknown field, and a bad enum are all caught.
  test::mini_schema checker(schema());
  nlohmann::json doc = json_of(sample());
  doc.erase("exit_code");
  doc["extra"] = true;
  doc["checks"][0]["result"] = "passed";
  EXPECT_EQ(checker.validate(doc).size(), 3u);
}

TEST(Json, OddValuesStaySchemaValid) {
  run_report r = sample();
  r.seconds = std::nan("");
  r.checks[1].seconds = -1;
  r.checks[1].actual = hostile;         // invalid UTF-8 must not throw
  r.checks[2].measurements = {1, 2, 3}; // not an object: wrapped
  const nlohmann::json doc = json_of(r);
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["seconds"], 0);
  EXPECT_EQ(doc["checks"][1]["seconds"], 0);
  EXPECT_NE(doc["checks"][1]["actual"].get<std::string>().find("\uFFFD"), std::string::npos);
  EXPECT_EQ(doc["checks"][2]["measurements"], (nlohmann::json{{"value", {1, 2, 3}}}));
  EXPECT_TRUE(test::mini_schema(schema()).validate(doc).empty());
}

TEST(Json, AnyBytesStayParseable) {
  run_report r = sample();
  r.checks[1].actual = every_byte();
  r.checks[1].measurements = {{"raw", every_byte()}};
  const nlohmann::json doc = json_of(r);
  ASSERT_TRUE(doc.is_object());
  EXPECT_TRUE(test::mini_schema(schema()).validate(doc).empty());
}

// ---- JUnit ----------------------------------------------------------------------------------

xml_node junit_of(const run_report &r) {
  const std::string xml = render(write_junit, r);
  xml_node root;
  const std::string err = test::xml_parser(xml).parse(root);
  EXPECT_EQ(err, "") << xml;
  return root;
}

const xml_node *child(const xml_node &n, const std::string &name) {
  for (const xml_node &c : n.children)
    if (c.name == name) return &c;
  return nullptr;
}

TEST(Junit, SuiteCountsAndAttributes) {
  const xml_node root = junit_of(sample());
  EXPECT_EQ(root.name, "testsuites");
  EXPECT_EQ(root.attrs.at("tests"), "6");
  EXPECT_EQ(root.attrs.at("failures"), "1");
  EXPECT_EQ(root.attrs.at("errors"), "1");
  EXPECT_EQ(root.attrs.at("time"), "12.500");
  ASSERT_EQ(root.children.size(), 1u);
  const xml_node &suite = root.children[0];
  const std::map<std::string, std::string> expected = {{"name", "streamcheck"},
                                                       {"tests", "6"},
                                                       {"failures", "1"},
                                                       {"errors", "1"},
                                                       {"skipped", "2"},
                                                       {"time", "12.500"},
                                                       {"timestamp", "2025-01-02T03:04:05"}};
  EXPECT_EQ(suite.attrs, expected);
  ASSERT_NE(child(suite, "properties"), nullptr);
  EXPECT_EQ(suite.children.size(), 7u); // properties + 6 testcases
}

// "S.SSS": what surefire writes and its schema's SUREFIRE_TIME accepts. (No std::regex: g++ 12
// warns inside it under ASan, which -Werror turns into a build failure.)
bool seconds_with_millis(const std::string &s) {
  const auto dot = s.find('.');
  const auto digits = [](std::string_view d) {
    return !d.empty() && d.find_first_not_of("0123456789") == std::string_view::npos;
  };
  return dot != std::string::npos && digits(std::string_view(s).substr(0, dot)) &&
         s.size() - dot == 4 && digits(std::string_view(s).substr(dot + 1));
}

TEST(Junit, EveryTestcaseHasNameClassnameAndTime) {
  const xml_node suite = junit_of(sample()).children.at(0);
  for (const xml_node &tc : suite.children) {
    if (tc.name != "testcase") continue;
    EXPECT_FALSE(tc.attrs.at("name").empty());
    EXPECT_TRUE(seconds_with_millis(tc.attrs.at("time"))) << tc.attrs.at("time");
    const std::string group = tc.attrs.at("name").substr(0, tc.attrs.at("name").find('.'));
    EXPECT_EQ(tc.attrs.at("classname"), "streamcheck." + group);
  }
}

TEST(Junit, OutcomeElements) {
  const xml_node suite = junit_of(sample()).children.at(0);
  const auto &cases = suite.children;                // [0] is properties
  EXPECT_TRUE(cases[1].children.empty());            // pass
  ASSERT_NE(child(cases[2], "system-out"), nullptr); // warn passes
  EXPECT_EQ(child(cases[2], "failure"), nullptr);
  EXPECT_EQ(child(cases[2], "system-out")->text.rfind("warning: SHOULD check not met\n", 0), 0u);
  const xml_node *failure = child(cases[3], "failure");
  ASSERT_NE(failure, nullptr);
  EXPECT_EQ(failure->attrs.at("type"), "MUST");
  EXPECT_EQ(failure->attrs.at("message"), "p95 added 812 ms");
  EXPECT_EQ(failure->text, "requirement: the requirement of stream.no-coalescing.ndjson\n"
                           "expected: expected value\n"
                           "actual: actual value\n"
                           "cause: the cause\n"
                           "fix: fix line 1;\nfix line 2;\n"
                           "reproduce: curl -N http://127.0.0.1:8080/api/chat\n");
  ASSERT_NE(child(cases[4], "skipped"), nullptr);
  EXPECT_EQ(child(cases[4], "skipped")->attrs.at("message"), "HTTP/1.0 client");
  ASSERT_NE(child(cases[5], "error"), nullptr);
  EXPECT_EQ(child(cases[5], "error")->attrs.at("type"), "harness");
  // Inconclusive is never a pass: CI shows it skipped, with what could not be observed.
  const xml_node *inconclusive = child(cases[6], "skipped");
  ASSERT_NE(inconclusive, nullptr);
  EXPECT_EQ(inconclusive->attrs.at("message"), "inconclusive: inconclusive: never paused");
}

TEST(Junit, ShouldFailureUnderStrictIsTypedShould) {
  run_report r;
  r.strict = true;
  r.checks = {make("cors.vary-origin", level::should, outcome::fail, "no Vary")};
  const xml_node root = junit_of(r);
  const xml_node *failure = child(root.children.at(0).children.at(1), "failure");
  ASSERT_NE(failure, nullptr);
  EXPECT_EQ(failure->attrs.at("type"), "SHOULD");
}

TEST(Junit, EscapesMarkupQuotesAndControls) {
  run_report r = sample();
  r.target = hostile;
  r.checks[2].measured = "line1\nline2\t<&\">";
  r.checks[2].actual = hostile;
  const std::string xml = render(write_junit, r);
  EXPECT_EQ(xml.find('\x1b'), std::string::npos);
  EXPECT_EQ(xml.find('\x01'), std::string::npos);
  EXPECT_EQ(xml.find("<b>"), std::string::npos);
  EXPECT_NE(xml.find("&lt;b&gt;&amp;&quot;&apos;&lt;/b&gt;]]&gt;"), std::string::npos);
  const xml_node root = junit_of(r);
  const xml_node &failure = *child(root.children.at(0).children.at(3), "failure");
  // Attribute newlines and tabs survive as references instead of being normalised to spaces.
  EXPECT_EQ(failure.attrs.at("message"), "line1\nline2\t<&\">");
  EXPECT_NE(failure.text.find("actual: <b>&\"'</b>]]> \u241B[2J\u2401 \uFFFD end\n"),
            std::string::npos);
}

TEST(Junit, AnyBytesStayWellFormed) {
  run_report r = sample();
  r.target = every_byte();
  r.checks[2].id = every_byte();
  r.checks[2].measured = every_byte();
  r.checks[2].fix = every_byte();
  junit_of(r); // fails inside on any well-formedness error
}

TEST(Junit, TimestampIsZoneLessOrAbsent) {
  run_report r = sample();
  r.started_at = "2025-01-02T03:04:05.123Z";
  EXPECT_EQ(junit_of(r).children.at(0).attrs.at("timestamp"), "2025-01-02T03:04:05");
  r.started_at = "";
  EXPECT_EQ(junit_of(r).children.at(0).attrs.count("timestamp"), 0u);
}

TEST(Junit, TimeFormatChecker) {
  EXPECT_TRUE(seconds_with_millis("0.250"));
  EXPECT_FALSE(seconds_with_millis("0.25"));
  EXPECT_FALSE(seconds_with_millis("0,250"));
  EXPECT_FALSE(seconds_with_millis(".250"));
}

TEST(Junit, EmptyRunIsWellFormed) {
  const xml_node root = junit_of(run_report{});
  EXPECT_EQ(root.attrs.at("tests"), "0");
  EXPECT_EQ(root.attrs.at("time"), "0.000");
}

// ---- Markdown -------------------------------------------------------------------------------

TEST(Markdown, SummaryThenTable) {
  const auto lines = lines_of(render(write_markdown, sample()));
  ASSERT_GE(lines.size(), 13u);
  EXPECT_EQ(lines[0], "### streamcheck 0.1.0: proxy http://127.0.0.1:8080 (nginx)");
  EXPECT_EQ(lines[2], "Profile `quick`, 12.5 s, exit code 2. Proxy kind `nginx` (Server: "
                      "nginx/1.22.1).");
  EXPECT_EQ(lines[4],
            "**6 checks, 1 passed, 1 warned, 1 failed, 1 inconclusive, 1 skipped, 1 errors**");
  EXPECT_EQ(lines[6], "| | check | level | result | measured |");
  EXPECT_EQ(lines[7], "|---|---|---|---|---|");
  EXPECT_EQ(lines[8], "| \u2705 | `stream.first-token` | MUST | pass | first event +3.1 ms |");
  EXPECT_EQ(lines[9], "| \u26A0\uFE0F | `cors.vary-origin` | SHOULD | warn | no Vary: Origin |");
  EXPECT_EQ(lines[10],
            "| \u274C | `stream.no-coalescing.ndjson` | MUST | fail | p95 added 812 ms |");
  EXPECT_EQ(lines[11], "| \u23ED\uFE0F | `conn.keepalive` | SHOULD | skip | HTTP/1.0 client |");
  EXPECT_EQ(lines[12], "| \u2757 | `timeout.idle-gap` | MUST | error | mock unreachable |");
  EXPECT_EQ(lines[13], "| \u2754 | `abort.cancel-during-pause` | SHOULD | inconclusive | "
                       "inconclusive: never paused |");
}

TEST(Markdown, DetailsPerProblemWithFixAndReproductionInCode) {
  const std::string md = render(write_markdown, sample());
  EXPECT_NE(md.find("\n### Details\n"), std::string::npos);
  EXPECT_EQ(md.find("#### \u2705"), std::string::npos); // passes have no details
  EXPECT_NE(md.find("#### \u274C `stream.no-coalescing.ndjson` (MUST, fail): title of "
                    "stream.no-coalescing.ndjson\n\n"
                    "**Requirement:** the requirement of stream.no-coalescing.ndjson\n\n"
                    "**Expected:** expected value\n\n"
                    "**Actual:** actual value\n\n"
                    "**Likely cause:** the cause\n\n"
                    "**Fix**\n\n```\nfix line 1;\nfix line 2;\n```\n\n"
                    "**Reproduce**\n\n```sh\ncurl -N http://127.0.0.1:8080/api/chat\n```\n"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("#### \u26A0\uFE0F `cors.vary-origin`"), std::string::npos);
  EXPECT_NE(md.find("#### \u2757 `timeout.idle-gap`"), std::string::npos);
  EXPECT_NE(md.find("#### \u2754 `abort.cancel-during-pause` (SHOULD, inconclusive)"),
            std::string::npos);
  EXPECT_NE(md.find("**Blocked by:** stream.first-token"), std::string::npos);
}

TEST(Markdown, CellsAndFencesCannotBreakOut) {
  run_report r = sample();
  r.checks[2].measured = "a|b\nc <script>";
  r.checks[2].reproduce = "echo ```\ncurl -N x";
  const std::string md = render(write_markdown, r);
  EXPECT_NE(md.find("| fail | a\\|b<br>c &lt;script&gt; |\n"), std::string::npos);
  EXPECT_NE(md.find("````sh\necho ```\ncurl -N x\n````\n"), std::string::npos);
}

TEST(Markdown, CleanRunHasNoDetails) {
  run_report r = sample();
  r.checks.resize(1);
  const std::string md = render(write_markdown, r);
  EXPECT_EQ(md.find("Details"), std::string::npos);
  EXPECT_NE(md.find("**1 checks, 1 passed, 0 warned, 0 failed, 0 inconclusive, 0 skipped**"),
            std::string::npos);
}

// ---- HTML, SARIF, GitHub ----------------------------------------------------------------------

std::size_t count(const std::string &hay, const std::string &needle) {
  std::size_t n = 0;
  for (auto at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1))
    ++n;
  return n;
}

TEST(Json, CarriesTimelinesAndLocations) {
  const nlohmann::json doc = json_of(sample());
  const nlohmann::json &t = doc["checks"][2]["timelines"][0];
  EXPECT_EQ(t["probe"], "stream");
  EXPECT_EQ(t["proxied"]["events"].size(), 3u);
  EXPECT_EQ(t["proxied"]["events"][1], (nlohmann::json{1, 40.25, 812.0}));
  EXPECT_EQ(t["direct"]["events"][2], (nlohmann::json{2, 80.25, 80.75}));
  EXPECT_EQ(t["proxied"]["client_closed_ms"], -1);
  EXPECT_EQ(t["proxied"]["upstream_outcome"], "completed");
  EXPECT_EQ(doc["checks"][2]["locations"][0],
            (nlohmann::json{
                {"file", "deploy/nginx.conf"}, {"line", 12}, {"note", "proxy_buffering on"}}));
  EXPECT_EQ(doc["checks"][0]["timelines"], nlohmann::json::array());
}

TEST(Html, SelfContainedWithoutScriptOrExternalResource) {
  const std::string html = render(write_html, sample());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\""),
            std::string::npos);
  // URLs appear only as quoted text (the target, a curl line), never as a resource.
  for (const char *banned :
       {"<script", "<link", "<img", "src=", "url(", "@import", "=\"http", "=\"//"})
    EXPECT_EQ(html.find(banned), std::string::npos) << banned;
}

TEST(Html, SummaryAndEveryVerdictWithItsExplanation) {
  const std::string html = render(write_html, sample());
  EXPECT_NE(html.find(text::xml_escape(summary_line(sample().summary()), false)),
            std::string::npos);
  EXPECT_EQ(count(html, "<tr><td class=\"r "), 6u);
  EXPECT_NE(html.find("<dt>expected</dt><dd>expected value</dd>"), std::string::npos);
  EXPECT_NE(html.find("<pre>fix line 1;\nfix line 2;</pre>"), std::string::npos);
  EXPECT_NE(html.find("<pre>curl -N http://127.0.0.1:8080/api/chat</pre>"), std::string::npos);
}

TEST(Html, ProblemsComeFirstInTheVerdictTable) {
  const std::string html = render(write_html, sample());
  const auto at = [&](const char *id) { return html.find("<code>" + std::string(id) + "</code>"); };
  EXPECT_LT(at("stream.no-coalescing.ndjson"), at("timeout.idle-gap")); // fail, error
  EXPECT_LT(at("timeout.idle-gap"), at("cors.vary-origin"));            // error, warn
  EXPECT_LT(at("cors.vary-origin"), at("abort.cancel-during-pause"));   // warn, inconclusive
  EXPECT_LT(at("abort.cancel-during-pause"), at("stream.first-token")); // inconclusive, pass
  EXPECT_LT(at("stream.first-token"), at("conn.keepalive"));            // pass, skip
}

TEST(Html, OneTimelinePerProbeWithExactFiguresOnHover) {
  const std::string html = render(write_html, sample());
  EXPECT_EQ(count(html, "<svg class=\"timeline\""), 1u);
  // One hover title per event, with emission, both arrivals and the added delay.
  EXPECT_NE(html.find("<title>event 1: emitted 40.2 ms; directly 40.8 ms; through the proxy "
                      "812.0 ms (771.2 ms later than direct)</title>"),
            std::string::npos);
  EXPECT_EQ(count(html, "<g><title>event "), 3u);
  // The fan: one grey line per proxied event from its emission to its arrival.
  EXPECT_EQ(count(html, "<line x1="),
            3u + 1u /* axis */ + 3u /* row rules */ + 5u /* ticks: 0..800 ms by 200 */);
  EXPECT_NE(html.find("href=\"#t-stream.no-coalescing.ndjson\""), std::string::npos);
}

TEST(Html, CancellationShowsClientLeavingAndUpstreamClosing) {
  run_report r = sample();
  timeline_track &p = r.checks[2].timelines[0].proxied;
  p.client_closed_ms = 300;
  p.upstream_closed_ms = 1800;
  p.upstream_outcome = "peer_closed";
  p.ended = "closed by the client";
  const std::string html = render(write_html, r);
  EXPECT_NE(html.find("the client closed the connection at 300.0 ms"), std::string::npos);
  EXPECT_NE(html.find("the upstream connection ended at 1800.0 ms (peer_closed), 1500.0 ms after "
                      "the client left"),
            std::string::npos);
}

TEST(Html, CutStreamIsMarked) {
  run_report r = sample();
  r.checks[2].timelines[0].proxied.ended = "Transferred a partial file";
  const std::string html = render(write_html, r);
  EXPECT_NE(html.find("cut at 812.5 ms: Transferred a partial file"), std::string::npos);
}

TEST(Html, ProxyBytesAreEscaped) {
  run_report r = sample();
  r.checks[2].actual = hostile;
  r.checks[2].timelines[0].probe = "<script>";
  const std::string html = render(write_html, r);
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;&amp;"), std::string::npos);
}

nlohmann::json sarif_of(const run_report &r) {
  return nlohmann::json::parse(render(write_sarif, r), nullptr, false);
}

TEST(Sarif, CatalogAsRulesOneResultPerFailureWithLocation) {
  const nlohmann::json doc = sarif_of(sample());
  ASSERT_FALSE(doc.is_discarded());
  EXPECT_EQ(doc["version"], "2.1.0");
  const nlohmann::json &run = doc["runs"][0];
  EXPECT_EQ(run["tool"]["driver"]["name"], "streamcheck");
  ASSERT_EQ(run["tool"]["driver"]["rules"].size(), 6u);
  EXPECT_EQ(run["tool"]["driver"]["rules"][1]["fullDescription"]["text"],
            "the requirement of cors.vary-origin");
  EXPECT_NE(run["tool"]["driver"]["rules"][1]["helpUri"].get<std::string>().find("#the-checks"),
            std::string::npos);
  // The warn, the fail and (as a note) the inconclusive one; not pass, skip or error.
  ASSERT_EQ(run["results"].size(), 3u);
  EXPECT_EQ(run["results"][2]["level"], "note");
  EXPECT_NE(run["results"][2]["message"]["text"].get<std::string>().find(
                "Inconclusive because stream.first-token failed"),
            std::string::npos);
  const nlohmann::json &fail = run["results"][1];
  EXPECT_EQ(fail["ruleId"], "stream.no-coalescing.ndjson");
  EXPECT_EQ(fail["ruleIndex"], 2);
  EXPECT_EQ(fail["level"], "error");
  EXPECT_EQ(run["results"][0]["level"], "warning");
  const nlohmann::json &loc = fail["locations"][0]["physicalLocation"];
  EXPECT_EQ(loc["artifactLocation"]["uri"], "deploy/nginx.conf");
  EXPECT_EQ(loc["region"]["startLine"], 12);
  EXPECT_NE(fail["message"]["text"].get<std::string>().find("Fix: fix line 1;"), std::string::npos);
  // The harness error is a notification, and the run did not succeed (exit 2).
  EXPECT_EQ(run["invocations"][0]["executionSuccessful"], false);
  EXPECT_EQ(run["invocations"][0]["toolExecutionNotifications"].size(), 1u);
}

TEST(Sarif, AbsolutePathsBecomeFileUris) {
  run_report r = sample();
  r.checks[2].locations = {{"/etc/nginx/sites enabled/llm.conf", 3, "x"}};
  const nlohmann::json doc = sarif_of(r);
  EXPECT_EQ(
      doc["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
      "file:///etc/nginx/sites%20enabled/llm.conf");
}

TEST(Sarif, AnyBytesStayParseable) {
  run_report r = sample();
  r.checks[2].actual = every_byte();
  EXPECT_FALSE(sarif_of(r).is_discarded());
}

TEST(Github, AnnotationsOnTheLocatedLineWithEscapedData) {
  const auto lines = lines_of(render(write_github, sample()));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0], "::warning file=deploy/nginx.conf,line=7,title=cors.vary-origin SHOULD::"
                      "actual value (expected expected value)%0Afix: fix line 1;%0Afix line 2;");
  EXPECT_EQ(lines[1].rfind("::error file=deploy/nginx.conf,line=12,title=stream.no-coalescing."
                           "ndjson MUST::actual value",
                           0),
            0u);
  EXPECT_EQ(lines[2], "::error title=timeout.idle-gap harness error::actual value (the cause)");
  EXPECT_EQ(lines[3].rfind("::notice title=abort.cancel-during-pause SHOULD::never paused", 0), 0u);
  EXPECT_EQ(lines[4], "::notice title=streamcheck::" + summary_line(sample().summary()));
}

TEST(Github, PropertiesEscapeColonsAndCommas) {
  run_report r = sample();
  r.checks[2].locations = {{"a,b:c%.conf", 1, ""}};
  r.checks[2].actual = "50% late\r\nnext";
  const auto lines = lines_of(render(write_github, r));
  EXPECT_EQ(lines[1].rfind("::error file=a%2Cb%3Ac%25.conf,line=1,", 0), 0u);
  EXPECT_NE(lines[1].find("::50%25 late%0D%0Anext"), std::string::npos);
}

TEST(Github, UnlocatedFailureIsAnnotatedWithoutFile) {
  run_report r = sample();
  r.checks[2].locations.clear();
  const auto lines = lines_of(render(write_github, r));
  EXPECT_EQ(lines[1].rfind("::error title=stream.no-coalescing.ndjson MUST::", 0), 0u);
}

} // namespace
} // namespace streamcheck::harness
