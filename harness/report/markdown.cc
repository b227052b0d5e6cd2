// Markdown for a pull-request comment (GitHub-flavoured). Unlike the console the summary comes
// first: a comment is read top-down, and the table and details can be long.
#include <algorithm>

#include "harness/report/report.h"
#include "harness/report/text.h"

namespace streamcheck::harness {
namespace {

const char *emoji_of(outcome o) {
  switch (o) {
  case outcome::pass: return "\u2705";         // ✅
  case outcome::warn: return "\u26A0\uFE0F";   // ⚠️
  case outcome::fail: return "\u274C";         // ❌
  case outcome::inconclusive: return "\u2754"; // ❔
  case outcome::skip: return "\u23ED\uFE0F";   // ⏭️
  case outcome::error: return "\u2757";        // ❗
  }
  return "\u2757";
}

// Table cells: one line, no column breaks, and no raw HTML from a proxy's bytes.
std::string cell(std::string_view s) {
  std::string out;
  for (const char c : text::clean(s, "\n")) {
    switch (c) {
    case '|': out += "\\|"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '&': out += "&amp;"; break;
    case '\n': out += "<br>"; break;
    default: out += c;
    }
  }
  return out;
}

// Prose outside the table: the same escaping, but line breaks stay line breaks.
std::string prose(std::string_view s) {
  std::string out = cell(s);
  for (std::size_t at = 0; (at = out.find("<br>", at)) != std::string::npos;)
    out.replace(at, 4, "  \n");
  return out;
}

// A fence one backtick longer than any run inside, so quoted text cannot close it early.
std::string fence_for(std::string_view body) {
  std::size_t longest = 0, run = 0;
  for (const char c : body) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return std::string(std::max<std::size_t>(3, longest + 1), '`');
}

void write_block(std::ostream &out, std::string_view label, std::string_view body,
                 std::string_view lang) {
  const std::string code = text::clean(body, "\t\n");
  const std::string fence = fence_for(code);
  out << "**" << label << "**\n\n" << fence << lang << '\n' << code << '\n' << fence << "\n\n";
}

void write_detail(std::ostream &out, const check_result &c) {
  out << "#### " << emoji_of(c.result) << " `" << text::clean(c.id, "") << "` ("
      << to_string(c.severity) << ", " << to_string(c.result) << ")";
  out << (c.title.empty() ? "" : ": " + prose(c.title)) << "\n\n";
  const std::pair<const char *, const std::string *> lines[] = {{"Requirement", &c.requirement},
                                                                {"Expected", &c.expected},
                                                                {"Actual", &c.actual},
                                                                {"Likely cause", &c.cause},
                                                                {"Blocked by", &c.blocked_by}};
  for (const auto &[label, value] : lines)
    if (!value->empty()) out << "**" << label << ":** " << prose(*value) << "\n\n";
  if (!c.fix.empty()) write_block(out, "Fix", c.fix, "");
  if (!c.reproduce.empty()) write_block(out, "Reproduce", c.reproduce, "sh");
}

} // namespace

void write_markdown(std::ostream &out, const run_report &r) {
  out << "### streamcheck " << cell(r.tool_version) << ": " << cell(r.target) << "\n\n";
  out << "Profile `" << text::clean(r.profile, "") << "`" << (r.strict ? ", strict" : "") << ", "
      << text::fixed(r.seconds, 1) << " s, exit code " << r.exit_code() << ".";
  if (!r.proxy_kind_source.empty())
    out << " Proxy kind `" << text::clean(r.proxy_kind, "") << "` (" << cell(r.proxy_kind_source)
        << ").";
  if (!r.protocol.empty()) out << " Protocol " << cell(r.protocol) << ".";
  out << "\n\n";
  out << "**" << summary_line(r.summary()) << "**\n\n";
  out << "| | check | level | result | measured |\n|---|---|---|---|---|\n";
  for (const check_result &c : r.checks)
    out << "| " << emoji_of(c.result) << " | `" << cell(c.id) << "` | " << to_string(c.severity)
        << " | " << to_string(c.result) << " | " << cell(c.measured) << " |\n";
  bool first = true;
  for (const check_result &c : r.checks) {
    if (!text::has_details(c.result)) continue;
    out << (first ? "\n### Details\n\n" : "");
    first = false;
    write_detail(out, c);
  }
}

} // namespace streamcheck::harness
