// JUnit XML for CI test tabs. Shape: the testsuites/testsuite/testcase subset that Jenkins'
// junit-10.xsd and surefire's report schema both accept; every testcase has name, classname and
// time, whose absence broke consumers of h2spec's report (summerwind/h2spec#123).
#include "harness/report/report.h"
#include "harness/report/text.h"

namespace streamcheck::harness {
namespace {

std::string attr(std::string_view name, std::string_view value) {
  return " " + std::string(name) + "=\"" + text::xml_escape(value, true) + "\"";
}

std::string attr(std::string_view name, int value) {
  return attr(name, std::to_string(value));
}

// Jenkins' older JUnit schema takes xs:dateTime without a zone, so "2025-01-02T03:04:05Z" is
// cut to its first 19 characters; the value is UTC by construction (report.h: started_at).
std::string junit_timestamp(const std::string &rfc3339) {
  const bool shaped = rfc3339.size() >= 19 && rfc3339[4] == '-' && rfc3339[10] == 'T';
  return shaped ? rfc3339.substr(0, 19) : std::string();
}

std::string explanation(const check_result &c) {
  std::string body;
  for (const auto &[label, value] : text::detail_fields(c))
    body += std::string(label) + ": " + std::string(value) + "\n";
  return body;
}

// The one-line message CI shows next to the test name: the figure, else the finding.
std::string_view message_of(const check_result &c) {
  if (!c.measured.empty()) return c.measured;
  return !c.actual.empty() ? std::string_view(c.actual) : std::string_view(c.title);
}

void write_outcome(std::ostream &out, const check_result &c) {
  const std::string body = text::xml_escape(explanation(c), false);
  switch (c.result) {
  case outcome::pass: return;
  case outcome::skip: out << "      <skipped" << attr("message", c.measured) << "/>\n"; return;
  case outcome::inconclusive:
    // Not observed is not passed: CI consumers show skipped tests with their message.
    out << "      <skipped" << attr("message", "inconclusive: " + std::string(message_of(c))) << ">"
        << body << "</skipped>\n";
    return;
  case outcome::fail:
    out << "      <failure" << attr("message", message_of(c)) << attr("type", to_string(c.severity))
        << ">" << body << "</failure>\n";
    return;
  case outcome::error:
    out << "      <error" << attr("message", message_of(c)) << attr("type", "harness") << ">"
        << body << "</error>\n";
    return;
  case outcome::warn:
    // A SHOULD miss outside --strict passes; CI still shows why in the captured output.
    out << "      <system-out>warning: " << text::xml_escape(to_string(c.severity), false)
        << " check not met\n"
        << body << "</system-out>\n";
    return;
  }
}

void write_testcase(std::ostream &out, const check_result &c) {
  out << "    <testcase" << attr("name", c.id)
      << attr("classname", "streamcheck." + std::string(text::group_of(c.id)))
      << attr("time", text::fixed(c.seconds, 3));
  if (c.result == outcome::pass) {
    out << "/>\n";
    return;
  }
  out << ">\n";
  write_outcome(out, c);
  out << "    </testcase>\n";
}

void write_properties(std::ostream &out, const run_report &r) {
  const std::pair<const char *, std::string> props[] = {{"tool_version", r.tool_version},
                                                        {"target", r.target},
                                                        {"proxy_kind", r.proxy_kind},
                                                        {"profile", r.profile},
                                                        {"upstream", r.upstream},
                                                        {"protocol", r.protocol},
                                                        {"strict", r.strict ? "true" : "false"},
                                                        {"started_at", r.started_at}};
  out << "    <properties>\n";
  for (const auto &[name, value] : props)
    out << "      <property" << attr("name", name) << attr("value", value) << "/>\n";
  out << "    </properties>\n";
}

} // namespace

void write_junit(std::ostream &out, const run_report &r) {
  const run_summary s = r.summary();
  const std::string time = text::fixed(r.seconds, 3);
  const std::string stamp = junit_timestamp(r.started_at);
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out << "<testsuites" << attr("name", "streamcheck") << attr("tests", s.checks)
      << attr("failures", s.failed) << attr("errors", s.errors) << attr("time", time) << ">\n";
  out << "  <testsuite" << attr("name", "streamcheck") << attr("tests", s.checks)
      << attr("failures", s.failed) << attr("errors", s.errors)
      << attr("skipped", s.skipped + s.inconclusive) << attr("time", time)
      << (stamp.empty() ? "" : attr("timestamp", stamp)) << ">\n";
  write_properties(out, r);
  for (const check_result &c : r.checks)
    write_testcase(out, c);
  out << "  </testsuite>\n</testsuites>\n";
}

} // namespace streamcheck::harness
