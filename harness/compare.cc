#include "harness/compare.h"

#include <algorithm>
#include <sstream>

#include "harness/managed/targets.h"

namespace streamcheck::harness {
namespace {

using nlohmann::json;

constexpr std::size_t cell_width = 30; // characters shown of a cell's headline figure

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

std::string cell_text(const compare_column &c, const std::string &id) {
  if (!c.report) return "! setup error";
  const check_result *r = find_check(c, id);
  if (!r) return "–";
  if (r->result == outcome::skip) return glyph_of(r->result);
  return std::string(glyph_of(r->result)) + " " + cut(r->measured, cell_width);
}

// Each target's failures with the fix, below the matrix.
std::string failures_text(const std::vector<compare_column> &columns, bool markdown) {
  std::ostringstream out;
  for (const auto &c : columns) {
    out << (markdown ? "\n### " : "\n") << c.label << (markdown ? "\n\n" : ":\n");
    if (!c.report) {
      out << (markdown ? "- " : "  ") << "could not run: " << c.setup_error << "\n";
      continue;
    }
    bool any = false;
    for (const auto &r : c.report->checks) {
      if (r.result == outcome::pass || r.result == outcome::skip) continue;
      any = true;
      out << (markdown ? "- " : "  ") << glyph_of(r.result) << " " << r.id << ": " << r.measured
          << "\n";
      if (!r.fix.empty()) out << (markdown ? "  - fix: " : "      fix: ") << r.fix << "\n";
    }
    if (!any) out << (markdown ? "- " : "  ") << "every check passed\n";
  }
  return out.str();
}

// Every target kind with its argument's form: "nginx:FILE, haproxy:FILE, ..., exec:COMMAND".
std::string target_kinds(const std::string &file_form, const std::string &exec_form) {
  std::string text;
  for (const auto &kind : managed::config_kinds())
    text += kind + file_form + ", ";
  return text + "exec" + exec_form;
}

} // namespace

result<compare_target> parse_compare_target(const std::string &spec) {
  compare_target t;
  t.spec = spec;
  const auto colon = spec.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size())
    return error{"compare: '" + spec + "' is not KIND:ARG (" + target_kinds(":FILE", ":COMMAND") +
                 ")"};
  t.command = spec.substr(0, colon);
  const std::string arg = spec.substr(colon + 1);
  if (t.command == "exec") {
    std::istringstream words(arg);
    for (std::string w; words >> w;)
      t.argv.push_back(w);
    if (t.argv.empty()) return error{"compare: '" + spec + "' names no command"};
    return t;
  }
  if (!managed::takes_config(t.command))
    return error{"compare: unknown target kind '" + t.command + "' in '" + spec + "' (" +
                 target_kinds("", "") + ")"};
  t.file = arg;
  return t;
}

void label_targets(std::vector<compare_target> &targets) {
  std::vector<std::string> short_labels;
  for (const auto &t : targets) {
    const std::string &named = t.command == "exec" ? t.argv.front() : t.file;
    short_labels.push_back(t.command + ":" + named.substr(named.find_last_of('/') + 1));
  }
  for (std::size_t i = 0; i < targets.size(); ++i)
    targets[i].label = std::count(short_labels.begin(), short_labels.end(), short_labels[i]) > 1
                           ? targets[i].spec
                           : short_labels[i];
}

std::string compare_console(const std::vector<compare_column> &columns, bool color) {
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
  out << pad("check", id_width + 7);
  for (std::size_t i = 0; i < columns.size(); ++i)
    out << pad(cut(columns[i].label, widths[i] - 2), widths[i]);
  out << "\n";
  for (const auto *r : rows) {
    out << pad(r->id, id_width) << pad(to_string(r->severity), 7);
    for (std::size_t i = 0; i < columns.size(); ++i)
      out << pad(cut(cell_text(columns[i], r->id), widths[i] - 2), widths[i]);
    out << "\n";
  }
  out << failures_text(columns, false);
  out << "\nexit code " << compare_exit_code(columns) << " (the worst of " << columns.size()
      << " targets)\n";
  return out.str();
}

std::string compare_markdown(const std::vector<compare_column> &columns) {
  std::ostringstream out;
  out << "## streamcheck compare\n\n| check | level |";
  for (const auto &c : columns)
    out << " `" << c.label << "` |";
  out << "\n|---|---|";
  for (std::size_t i = 0; i < columns.size(); ++i)
    out << "---|";
  out << "\n";
  for (const auto *r : rows_of(columns)) {
    out << "| `" << r->id << "` | " << to_string(r->severity) << " |";
    for (const auto &c : columns) {
      std::string cell = cell_text(c, r->id);
      std::replace(cell.begin(), cell.end(), '|', '/');
      out << " " << cell << " |";
    }
    out << "\n";
  }
  out << failures_text(columns, true);
  return out.str();
}

json compare_json(const std::vector<compare_column> &columns) {
  json j = {{"tool", "streamcheck"},
            {"exit_code", compare_exit_code(columns)},
            {"targets", json::array()},
            {"checks", json::array()}};
  for (const auto &c : columns) {
    json t = {{"target", c.label}};
    if (c.report) {
      t["description"] = c.report->target;
      t["proxy_kind"] = c.report->proxy_kind;
      t["exit_code"] = c.report->exit_code();
    } else {
      t["setup_error"] = c.setup_error;
      t["exit_code"] = 2;
    }
    j["targets"].push_back(t);
  }
  for (const auto *r : rows_of(columns)) {
    json row = {{"id", r->id}, {"level", to_string(r->severity)}, {"cells", json::array()}};
    for (const auto &c : columns) {
      const check_result *x = find_check(c, r->id);
      if (!c.report || !x) {
        row["cells"].push_back({{"result", c.report ? "skip" : "error"}, {"measured", ""}});
        continue;
      }
      json cell = {{"result", to_string(x->result)}, {"measured", x->measured}};
      if (!x->fix.empty() && x->result != outcome::pass) cell["fix"] = x->fix;
      row["cells"].push_back(cell);
    }
    j["checks"].push_back(row);
  }
  return j;
}

int compare_exit_code(const std::vector<compare_column> &columns) {
  int worst = 0;
  for (const auto &c : columns)
    worst = std::max(worst, c.report ? c.report->exit_code() : 2);
  return worst;
}

} // namespace streamcheck::harness
