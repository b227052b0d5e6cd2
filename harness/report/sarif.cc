// SARIF 2.1.0 for code-scanning tools (GitHub code scanning, IDE viewers): the catalog as rules,
// one result per failing or warning check (and a note per inconclusive one), located where the
// static analysis of a managed config found its cause (the directive, or the server/location
// block that lacks one). Validated in tests/report with Microsoft's SARIF multitool.
#include "harness/report/report.h"
#include "harness/report/text.h"

namespace streamcheck::harness {
namespace {

using ordered = nlohmann::ordered_json;

// The README's check table: the one place every id is explained.
constexpr const char *help_uri = "https://github.com/streamcheck/streamcheck#the-checks";

const char *sarif_level(outcome o) {
  switch (o) {
  case outcome::fail: return "error";
  case outcome::warn: return "warning";
  case outcome::inconclusive: return "note"; // not observed because of another fault
  case outcome::pass:
  case outcome::skip:
  case outcome::error: return "none";
  }
  return "none";
}

bool reported(outcome o) {
  switch (o) {
  case outcome::fail:
  case outcome::warn:
  case outcome::inconclusive: return true;
  case outcome::pass:
  case outcome::skip:
  case outcome::error: return false; // a harness error is no finding about the config
  }
  return false;
}

// A relative path stays relative (to the working directory, SRCROOT for code scanning); an
// absolute one becomes a file: URI. Characters outside RFC 3986's unreserved set and '/' are
// percent-encoded.
std::string file_uri(const std::string &path) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out = path.rfind('/', 0) == 0 ? "file://" : "";
  for (const unsigned char c : path) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

ordered rule_of(const check_result &c) {
  const char *default_level = c.severity == level::must     ? "error"
                              : c.severity == level::should ? "warning"
                                                            : "note";
  // No "name": SARIF wants it different from the id or absent (multitool SARIF1001).
  return ordered{{"id", c.id},
                 {"shortDescription", {{"text", text::clean(c.title, "")}}},
                 {"fullDescription", {{"text", text::clean(c.requirement, "")}}},
                 {"helpUri", help_uri},
                 {"help", {{"text", text::clean(c.requirement, "")}}},
                 {"defaultConfiguration", {{"level", default_level}}},
                 {"properties", {{"level", to_string(c.severity)}}}};
}

std::string message_of(const check_result &c) {
  std::string m =
      c.id + " (" + to_string(c.severity) + "): " + (c.actual.empty() ? c.measured : c.actual);
  if (!c.blocked_by.empty()) m += ". Inconclusive because " + c.blocked_by + " failed";
  if (!c.expected.empty()) m += ". Expected: " + c.expected;
  if (!c.cause.empty()) m += ". Likely cause: " + c.cause;
  if (!c.fix.empty()) m += ". Fix: " + c.fix;
  return text::clean(m, "\n");
}

ordered location_of(const config_location &l) {
  return ordered{
      {"physicalLocation",
       {{"artifactLocation", {{"uri", file_uri(l.file)}}}, {"region", {{"startLine", l.line}}}}},
      {"message", {{"text", text::clean(l.note, "")}}}};
}

ordered result_of(const check_result &c, std::size_t rule_index) {
  ordered locations = ordered::array();
  for (const config_location &l : c.locations)
    if (!l.file.empty() && l.line > 0) locations.push_back(location_of(l));
  ordered r{{"ruleId", c.id},
            {"ruleIndex", rule_index},
            {"level", sarif_level(c.result)},
            {"message", {{"text", message_of(c)}}}};
  if (!locations.empty()) r["locations"] = std::move(locations);
  r["properties"] = {{"measured", text::clean(c.measured, "")},
                     {"fix", text::clean(c.fix, "\n")},
                     {"reproduce", text::clean(c.reproduce, "\n")}};
  return r;
}

} // namespace

void write_sarif(std::ostream &out, const run_report &r) {
  ordered rules = ordered::array();
  ordered results = ordered::array();
  ordered notifications = ordered::array();
  for (std::size_t k = 0; k < r.checks.size(); ++k) {
    const check_result &c = r.checks[k];
    rules.push_back(rule_of(c));
    if (reported(c.result)) results.push_back(result_of(c, k));
    if (c.result == outcome::error)
      notifications.push_back(
          {{"level", "error"}, {"message", {{"text", text::clean(c.id + ": " + c.actual, "")}}}});
  }
  ordered invocation{{"executionSuccessful", r.exit_code() != 2}};
  if (!notifications.empty()) invocation["toolExecutionNotifications"] = std::move(notifications);
  ordered run{{"tool",
               {{"driver",
                 {{"name", "streamcheck"},
                  {"version", r.tool_version},
                  {"informationUri", help_uri},
                  {"rules", std::move(rules)}}}}},
              {"invocations", ordered::array({std::move(invocation)})},
              {"results", std::move(results)},
              {"properties",
               {{"target", text::clean(r.target, "")},
                {"profile", r.profile},
                {"summary", summary_line(r.summary())}}}};
  ordered doc{{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
              {"version", "2.1.0"},
              {"runs", ordered::array({std::move(run)})}};
  out << doc.dump(2, ' ', false, ordered::error_handler_t::replace) << '\n';
}

} // namespace streamcheck::harness
