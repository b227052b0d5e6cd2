// GitHub Actions workflow commands: an ::error or ::warning annotation per failing or warning
// check (::notice for an inconclusive one), on the config line the analysis located (managed
// configs), else unattached. The runner shows them on the job and, with a file and line, in the
// pull request's diff.
#include "harness/report/report.h"
#include "harness/report/text.h"

namespace streamcheck::harness {
namespace {

// Workflow-command escaping (actions/toolkit, command.ts): data escapes %, CR and LF; property
// values also ':' and ','.
std::string escape_data(std::string_view s) {
  std::string out;
  for (const char c : text::clean(s, "\r\n")) {
    switch (c) {
    case '%': out += "%25"; break;
    case '\r': out += "%0D"; break;
    case '\n': out += "%0A"; break;
    default: out += c;
    }
  }
  return out;
}

std::string escape_property(std::string_view s) {
  std::string out;
  for (const char c : escape_data(s)) {
    switch (c) {
    case ':': out += "%3A"; break;
    case ',': out += "%2C"; break;
    default: out += c;
    }
  }
  return out;
}

const char *command_of(outcome o) {
  switch (o) {
  case outcome::fail: return "error";
  case outcome::warn: return "warning";
  case outcome::inconclusive: return "notice";
  case outcome::pass:
  case outcome::skip:
  case outcome::error: return nullptr;
  }
  return nullptr;
}

std::string message_of(const check_result &c) {
  std::string m = c.actual.empty() ? c.measured : c.actual;
  if (!c.expected.empty()) m += " (expected " + c.expected + ")";
  if (!c.fix.empty()) m += "\nfix: " + c.fix;
  return m;
}

void annotate(std::ostream &out, const char *command, const check_result &c,
              const config_location *at) {
  out << "::" << command;
  const std::string title = c.id + " " + to_string(c.severity);
  if (at)
    out << " file=" << escape_property(at->file) << ",line=" << at->line
        << ",title=" << escape_property(title);
  else
    out << " title=" << escape_property(title);
  out << "::" << escape_data(message_of(c)) << '\n';
}

} // namespace

void write_github(std::ostream &out, const run_report &r) {
  for (const check_result &c : r.checks) {
    if (c.result == outcome::error) {
      out << "::error title=" << escape_property(c.id + " harness error")
          << "::" << escape_data(c.actual + " (" + c.cause + ")") << '\n';
      continue;
    }
    const char *command = command_of(c.result);
    if (!command) continue;
    // One annotation per check, on the first located line: GitHub shows at most 10 errors and
    // 10 warnings per step, and the fix text already quotes every directive involved.
    const config_location *at = nullptr;
    for (const config_location &l : c.locations)
      if (!at && !l.file.empty() && l.line > 0) at = &l;
    annotate(out, command, c, at);
  }
  out << "::notice title=streamcheck::" << escape_data(summary_line(r.summary())) << '\n';
}

} // namespace streamcheck::harness
