// Console report: one line per check, then the explanations, then the summary line last, so the
// verdict is what stays on screen (h2spec buried it under the failures, summerwind/h2spec#62).
#include <algorithm>

#include "harness/report/report.h"
#include "harness/report/text.h"

namespace streamcheck::harness {
namespace {

// Wide enough for the longest catalog id (abort.cancel-before-first-token) plus a space.
constexpr std::size_t id_width = 32;
constexpr std::size_t level_width = 6;
// Detail values start after the indent and the longest label ("requirement: ").
const std::string detail_indent(4, ' ');
constexpr std::size_t label_width = 13;

struct look {
  const char *glyph;
  const char *ansi;
};

look look_of(outcome o) {
  switch (o) {
  case outcome::pass: return {"\u2714", "\033[32m"};    // ✔ green
  case outcome::warn: return {"\u26A0", "\033[33m"};    // ⚠ yellow
  case outcome::fail: return {"\u2718", "\033[31m"};    // ✘ red
  case outcome::inconclusive: return {"?", "\033[36m"}; // ? cyan: not observed, never a pass
  case outcome::skip: return {"\u2013", "\033[2m"};     // – dim
  case outcome::error: return {"!", "\033[35m"};        // ! magenta: the harness, not the proxy
  }
  return {"!", "\033[35m"};
}

std::string paint(const std::string &s, outcome o, bool color) {
  return color ? look_of(o).ansi + s + "\033[0m" : s;
}

std::string pad(std::string s, std::size_t width) {
  s.resize(std::max(width, s.size() + 1), ' ');
  return s;
}

std::string headline(const check_result &c, bool color) {
  std::string line = paint(look_of(c.result).glyph + (" " + pad(text::clean(c.id, ""), id_width)),
                           c.result, color);
  line += pad(to_string(c.severity), level_width + 1);
  line += text::clean(c.measured, "\t");
  while (!line.empty() && line.back() == ' ')
    line.pop_back();
  return line;
}

// Continuation lines of a multi-line value (a config snippet, a script) keep the value's column.
std::string detail_line(std::string_view label, std::string_view value) {
  std::string out = "\n" + detail_indent + pad(std::string(label) + ":", label_width);
  for (const char c : text::clean(value, "\t\n"))
    out += c == '\n' ? "\n" + detail_indent + std::string(label_width, ' ') : std::string(1, c);
  return out;
}

std::string joined_ids(const run_report &r, outcome o) {
  std::string ids;
  for (const check_result &c : r.checks)
    if (c.result == o) ids += (ids.empty() ? "" : ", ") + text::clean(c.id, "");
  return ids;
}

void write_header(std::ostream &out, const run_report &r) {
  out << "streamcheck " << text::clean(r.tool_version, "") << ": " << text::clean(r.target, "")
      << ", profile " << text::clean(r.profile, "") << (r.strict ? ", strict" : "") << '\n';
  if (!r.upstream.empty()) out << "upstream: " << text::clean(r.upstream, "") << '\n';
  if (!r.proxy_kind_source.empty())
    out << "proxy kind: " << text::clean(r.proxy_kind, "") << " ("
        << text::clean(r.proxy_kind_source, "") << ")\n";
  if (!r.protocol.empty()) out << "protocol: " << text::clean(r.protocol, "") << '\n';
  for (const auto &n : r.notes)
    out << "note: " << text::clean(n, "") << '\n';
}

void write_details(std::ostream &out, const run_report &r, bool color) {
  bool first = true;
  for (const check_result &c : r.checks) {
    if (!text::has_details(c.result)) continue;
    out << (first ? "\nDetails:\n" : "\n") << console_line(c, color) << '\n';
    first = false;
  }
}

void write_roll_call(std::ostream &out, const run_report &r) {
  const std::pair<const char *, outcome> lists[] = {{"failed", outcome::fail},
                                                    {"warned", outcome::warn},
                                                    {"inconclusive", outcome::inconclusive},
                                                    {"errors", outcome::error}};
  out << '\n';
  for (const auto &[label, o] : lists)
    if (const std::string ids = joined_ids(r, o); !ids.empty()) out << label << ": " << ids << '\n';
  out << "finished in " << text::fixed(r.seconds, 1) << " s, exit code " << r.exit_code() << '\n';
}

} // namespace

const char *glyph_of(outcome o) {
  return look_of(o).glyph;
}

std::string console_line(const check_result &c, bool color) {
  std::string out = headline(c, color);
  if (!text::has_details(c.result)) return out;
  for (const auto &[label, value] : text::detail_fields(c))
    out += detail_line(label, value);
  return out;
}

void write_console(std::ostream &out, const run_report &r, bool color) {
  write_header(out, r);
  out << '\n';
  for (const check_result &c : r.checks)
    out << headline(c, color) << '\n';
  write_details(out, r, color);
  write_roll_call(out, r);
  out << summary_line(r.summary()) << '\n';
}

} // namespace streamcheck::harness
