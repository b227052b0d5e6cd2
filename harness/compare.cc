#include "harness/compare.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/options.h"
#include "harness/diagnosis.h"
#include "harness/managed/targets.h"

namespace streamcheck::harness {
namespace {

using ordered = nlohmann::ordered_json;

constexpr int schema_version = 1;

// Characters shown of a cell's headline figure: the console's columns must fit side by side;
// a Markdown table wraps its cells, so it shows twice as much of each (the failing figure of
// "upstream connection still in_progress 1000 ms after the client left" comes late).
constexpr std::size_t cell_width = 30;
constexpr std::size_t markdown_cell_width = 60;
constexpr std::size_t level_width = 7; // "SHOULD "

// Characters, not bytes: the marks and figures hold UTF-8 (✔, µ).
std::size_t display_width(const std::string &s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string cut(const std::string &s, std::size_t width) {
  if (display_width(s) <= width) return s;
  std::string out;
  std::size_t shown = 0;
  for (char c : s) {
    if ((c & 0xC0) != 0x80 && ++shown > width - 1) break;
    out += c;
  }
  return out + "…";
}

std::string pad(const std::string &s, std::size_t width) {
  const std::size_t w = display_width(s);
  return w >= width ? s : s + std::string(width - w, ' ');
}

// Every check some target ran (not skipped everywhere), in the order the runs list them.
std::vector<const check_result *> rows_of(const std::vector<compare_column> &columns) {
  std::vector<const check_result *> rows;
  for (const auto &c : columns) {
    if (!c.report) continue;
    for (const auto &r : c.report->checks)
      if (r.result != outcome::skip &&
          std::none_of(rows.begin(), rows.end(), [&](const auto *x) { return x->id == r.id; }))
        rows.push_back(&r);
  }
  return rows;
}

const check_result *find_check(const compare_column &c, const std::string &id) {
  if (!c.report) return nullptr;
  for (const auto &r : c.report->checks)
    if (r.id == id) return &r;
  return nullptr;
}

std::string cell_text(const compare_column &c, const std::string &id,
                      std::size_t width = cell_width) {
  if (!c.report) return "! setup error";
  const check_result *r = find_check(c, id);
  if (!r) return "–";
  if (r->result == outcome::skip) return glyph_of(r->result);
  return std::string(glyph_of(r->result)) + " " + cut(r->measured, width);
}

int column_exit_code(const compare_column &c) {
  if (!c.report) return 2;
  return refused_everything(*c.report) ? 2 : c.report->exit_code();
}

// What each column is: the full description of the run (kind, file, listener, version) and its
// counts, which a short label cannot carry.
std::string legend_text(const std::vector<compare_column> &columns, bool markdown) {
  std::ostringstream out;
  for (const auto &c : columns) {
    out << (markdown ? "- `" : "  ") << c.label << (markdown ? "`: " : ": ");
    if (!c.report)
      out << "could not run";
    else
      out << c.report->target << " — " << summary_line(c.report->summary());
    out << " (exit " << column_exit_code(c) << ")\n";
  }
  return out.str();
}

// Each target's failures with the fix, below the matrix: warn, fail, inconclusive (with the check
// that kept it from observing) and error, in catalog order.
std::string failures_text(const std::vector<compare_column> &columns, bool markdown) {
  std::ostringstream out;
  const char *item = markdown ? "- " : "  ";
  for (const auto &c : columns) {
    out << (markdown ? "\n### " : "\n") << c.label << (markdown ? "\n\n" : ":\n");
    if (!c.report) {
      out << item << "could not run: " << c.setup_error << "\n";
      continue;
    }
    if (const auto refused = refused_everything(*c.report))
      out << item << "nothing about streaming was measured: " << *refused << "\n";
    bool any = false;
    for (const auto &r : c.report->checks) {
      if (r.result == outcome::pass || r.result == outcome::skip) continue;
      any = true;
      out << item << glyph_of(r.result) << " " << r.id << " (" << to_string(r.severity)
          << "): " << r.measured << "\n";
      if (!r.blocked_by.empty())
        out << (markdown ? "  - blocked by: " : "      blocked by: ") << r.blocked_by << "\n";
      if (!r.fix.empty()) out << (markdown ? "  - fix: " : "      fix: ") << r.fix << "\n";
    }
    if (!any) out << item << "every check passed\n";
  }
  return out.str();
}

// The console matrix for columns [first, last): the check ids, then one cell per target.
void matrix_block(std::ostringstream &out, const std::vector<compare_column> &columns,
                  const std::vector<const check_result *> &rows, std::size_t id_width,
                  const std::vector<std::size_t> &widths, std::size_t first, std::size_t last) {
  out << pad("check", id_width + level_width);
  for (std::size_t i = first; i < last; ++i)
    out << pad(cut(columns[i].label, widths[i] - 2), widths[i]);
  out << "\n";
  for (const auto *r : rows) {
    out << pad(r->id, id_width) << pad(to_string(r->severity), level_width);
    for (std::size_t i = first; i < last; ++i)
      out << pad(cut(cell_text(columns[i], r->id), widths[i] - 2), widths[i]);
    out << "\n";
  }
}

ordered cell_json(const compare_column &c, const std::string &id) {
  const check_result *x = find_check(c, id);
  if (!c.report) return {{"result", "error"}, {"measured", "the target could not run"}};
  if (!x) return {{"result", "skip"}, {"measured", "not run on this target"}};
  ordered cell = {{"result", to_string(x->result)}, {"measured", x->measured}};
  if (!x->blocked_by.empty()) cell["blocked_by"] = x->blocked_by;
  if (!x->fix.empty() && x->result != outcome::pass && x->result != outcome::skip)
    cell["fix"] = x->fix;
  return cell;
}

// Every target kind with its argument's form: "nginx:FILE, haproxy:FILE, ..., exec:COMMAND,
// url:URL".
std::string target_kinds(const std::string &file_form, const std::string &exec_form,
                         const std::string &url_form) {
  std::string text;
  for (const auto &kind : managed::config_kinds())
    text += kind + file_form + ", ";
  return text + "exec" + exec_form + ", url" + url_form;
}

} // namespace

result<compare_target> parse_compare_target(const std::string &spec) {
  compare_target t;
  t.spec = spec;
  const auto colon = spec.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size())
    return error{"compare: '" + spec + "' is not KIND:ARG (" +
                 target_kinds(":FILE", ":COMMAND", ":URL") + ")"};
  t.command = spec.substr(0, colon);
  const std::string arg = spec.substr(colon + 1);
  if (t.command == "exec") {
    std::istringstream words(arg);
    for (std::string w; words >> w;)
      t.argv.push_back(w);
    if (t.argv.empty()) return error{"compare: '" + spec + "' names no command"};
    return t;
  }
  if (t.command == "url") {
    if (!options::is_http_url(arg))
      return error{"compare: '" + spec + "' is not url:http://HOST:PORT (or https://)"};
    t.url = arg;
    return t;
  }
  if (!managed::takes_config(t.command))
    return error{"compare: unknown target kind '" + t.command + "' in '" + spec + "' (" +
                 target_kinds("", "", "") + ")"};
  t.file = arg;
  return t;
}

void label_targets(std::vector<compare_target> &targets) {
  std::vector<std::string> short_labels;
  for (const auto &t : targets) {
    if (t.command == "url") {
      // The host and port (and path) tell running proxies apart; the scheme only when https.
      const bool tls = t.url.rfind("https://", 0) == 0;
      short_labels.push_back(std::string(tls ? "url:https:" : "url:") +
                             t.url.substr(t.url.find("//") + 2));
      continue;
    }
    const std::string &named = t.command == "exec" ? t.argv.front() : t.file;
    short_labels.push_back(t.command + ":" + named.substr(named.find_last_of('/') + 1));
  }
  for (std::size_t i = 0; i < targets.size(); ++i)
    targets[i].label = std::count(short_labels.begin(), short_labels.end(), short_labels[i]) > 1
                           ? targets[i].spec
                           : short_labels[i];
}

std::optional<std::string> compare_usage_problem(const std::vector<compare_target> &targets,
                                                 const run_options &run) {
  const bool any_url = std::any_of(targets.begin(), targets.end(),
                                   [](const compare_target &t) { return t.command == "url"; });
  if (!run.proxy_url.empty())
    return "compare takes running proxies as url:URL targets, not --proxy";
  if (any_url && run.mock_control.empty())
    return "url: targets need --mock-control URL: the control API of the streamcheck-mock "
           "those proxies forward to (one for every url target)";
  if (!any_url && !run.mock_control.empty())
    return "--mock-control is for url: targets; the other targets start their own mock";
  return std::nullopt;
}

std::string compare_console(const std::vector<compare_column> &columns, bool color,
                            std::size_t width) {
  (void)color; // the marks carry the verdict; a colored matrix would misalign in most pagers
  const auto rows = rows_of(columns);
  std::size_t id_width = 10;
  for (const auto *r : rows)
    id_width = std::max(id_width, r->id.size() + 1);
  std::vector<std::size_t> widths;
  for (const auto &c : columns) {
    std::size_t w = display_width(c.label);
    for (const auto *r : rows)
      w = std::max(w, display_width(cell_text(c, r->id)));
    widths.push_back(std::min(w, cell_width + 2) + 2);
  }
  std::ostringstream out;
  out << "targets:\n" << legend_text(columns, false) << "\n";
  // At least one target per block, however narrow the terminal.
  for (std::size_t first = 0; first < columns.size();) {
    std::size_t last = first + 1, used = id_width + level_width + widths[first];
    while (last < columns.size() && used + widths[last] <= width)
      used += widths[last++];
    if (first > 0) out << "\n";
    matrix_block(out, columns, rows, id_width, widths, first, last);
    first = last;
  }
  out << failures_text(columns, false);
  out << "\nexit code " << compare_exit_code(columns) << " (the worst of " << columns.size()
      << " targets)\n";
  return out.str();
}

std::string compare_markdown(const std::vector<compare_column> &columns) {
  std::ostringstream out;
  out << "## streamcheck compare\n\n" << legend_text(columns, true) << "\n| check | level |";
  for (const auto &c : columns)
    out << " `" << c.label << "` |";
  out << "\n|---|---|";
  for (std::size_t i = 0; i < columns.size(); ++i)
    out << "---|";
  out << "\n";
  for (const auto *r : rows_of(columns)) {
    out << "| `" << r->id << "` | " << to_string(r->severity) << " |";
    for (const auto &c : columns) {
      std::string cell = cell_text(c, r->id, markdown_cell_width);
      std::replace(cell.begin(), cell.end(), '|', '/');
      out << " " << cell << " |";
    }
    out << "\n";
  }
  out << failures_text(columns, true);
  out << "\nExit code " << compare_exit_code(columns) << " (the worst of " << columns.size()
      << " targets).\n";
  return out.str();
}

ordered compare_json(const std::vector<compare_column> &columns) {
  ordered j = {{"schema_version", schema_version},
               {"tool", "streamcheck"},
               {"exit_code", compare_exit_code(columns)},
               {"targets", ordered::array()},
               {"checks", ordered::array()}};
  for (const auto &c : columns) {
    ordered t = {{"label", c.label},
                 {"spec", c.spec.empty() ? c.label : c.spec},
                 {"kind", c.kind},
                 {"exit_code", column_exit_code(c)}};
    if (c.report) {
      if (const auto refused = refused_everything(*c.report)) t["refused"] = *refused;
      t["report"] = report_json(*c.report);
    } else {
      t["setup_error"] = c.setup_error;
    }
    j["targets"].push_back(std::move(t));
  }
  for (const auto *r : rows_of(columns)) {
    ordered row = {{"id", r->id},
                   {"title", r->title},
                   {"level", to_string(r->severity)},
                   {"cells", ordered::array()}};
    for (const auto &c : columns)
      row["cells"].push_back(cell_json(c, r->id));
    j["checks"].push_back(std::move(row));
  }
  return j;
}

std::string compare_json_text(const std::vector<compare_column> &columns) {
  return compare_json(columns).dump(2, ' ', false, ordered::error_handler_t::replace) + "\n";
}

int compare_exit_code(const std::vector<compare_column> &columns) {
  int worst = 0;
  for (const auto &c : columns)
    worst = std::max(worst, column_exit_code(c));
  return worst;
}

std::size_t console_width() {
  if (const char *env = std::getenv("COLUMNS")) {
    char *end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && n >= 40 && n <= 1000) return static_cast<std::size_t>(n);
  }
  winsize ws{};
  if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
    return ws.ws_col;
  return 160;
}

} // namespace streamcheck::harness
