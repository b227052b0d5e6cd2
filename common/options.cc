#include "common/options.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace streamcheck::options {
namespace {

constexpr char glue = '\x1f'; // a space the wrapper must not break at

std::size_t find_row(const std::vector<flag_spec> &flags, const std::string &name) {
  for (std::size_t i = 0; i < flags.size(); ++i) {
    const auto names = split_names(*flags[i].names);
    if (std::find(names.begin(), names.end(), name) != names.end()) return i;
  }
  return scanned_arg::positional;
}

// Words of at most `width` columns; a word longer than that gets a line of its own.
std::vector<std::string> wrap_paragraph(const std::string &text, std::size_t width) {
  std::vector<std::string> lines;
  std::string line;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = std::min(text.find(' ', at), text.size());
    const std::string word = text.substr(at, end - at);
    at = end + 1;
    if (word.empty()) continue;
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      lines.push_back(line);
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty()) lines.push_back(line);
  for (auto &l : lines)
    std::replace(l.begin(), l.end(), glue, ' ');
  return lines;
}

// A '\n' in a help text starts a new paragraph, its leading spaces kept (an example command).
std::vector<std::string> wrap(const std::string &text, std::size_t width) {
  std::vector<std::string> lines;
  for (std::size_t at = 0; at <= text.size();) {
    const std::size_t end = std::min(text.find('\n', at), text.size());
    const std::string piece = text.substr(at, end - at);
    at = end + 1;
    const std::size_t lead = std::min(piece.find_first_not_of(' '), piece.size());
    const std::string indent(lead, ' ');
    for (const auto &l : wrap_paragraph(piece.substr(lead), width > lead ? width - lead : 1))
      lines.push_back(indent + l);
  }
  return lines;
}

} // namespace

result<scan_result> scan(const std::vector<flag_spec> &flags,
                         const std::vector<std::string> &args) {
  scan_result out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string &arg = args[i];
    if (arg == "--help" || arg == "-h") {
      out.help = true;
      return out;
    }
    if (arg == "--") {
      out.rest.emplace(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      return out;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      out.args.push_back({scanned_arg::positional, arg, arg});
      continue;
    }
    const std::size_t eq = arg.find('=');
    const bool dashes = arg.rfind("--", 0) == 0;
    const std::string name = dashes ? arg.substr(2, eq == std::string::npos ? eq : eq - 2) : "";
    const std::size_t row = find_row(flags, name);
    if (row == scanned_arg::positional)
      return error{"unknown option '" + (eq == std::string::npos ? arg : arg.substr(0, eq)) + "'"};
    const std::string flag = "--" + name;
    scanned_arg a{row, arg, ""};
    switch (flags[row].kind) {
    case takes::nothing:
      if (eq != std::string::npos) return error{flag + " takes no value"};
      break;
    case takes::optional_value:
      if (eq != std::string::npos) a.value = arg.substr(eq + 1);
      break;
    case takes::value:
      if (eq != std::string::npos)
        a.value = arg.substr(eq + 1);
      else if (i + 1 < args.size())
        a.value = args[++i];
      else
        return error{flag + " needs a value"};
      break;
    }
    out.args.push_back(std::move(a));
  }
  return out;
}

std::vector<std::string> split_names(const std::string &names) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at <= names.size();) {
    const std::size_t bar = std::min(names.find('|', at), names.size());
    out.push_back(names.substr(at, bar - at));
    at = bar + 1;
  }
  return out;
}

std::string unbreakable(std::string text) {
  std::replace(text.begin(), text.end(), ' ', glue);
  return text;
}

std::string bad_value(const std::string &spelled, const std::string &why) {
  return spelled + ": " + why;
}

std::string expected(const std::string &what, const std::string &value) {
  return "expected " + what + ", got '" + value + "'";
}

std::optional<long long> parse_integer(std::string_view text, long long lo, long long hi) {
  long long v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || v < lo || v > hi)
    return std::nullopt;
  return v;
}

std::optional<double> parse_number(std::string_view text, double lo, double hi) {
  const std::string copy(text); // strtod needs a terminator
  char *end = nullptr;
  const double v = std::strtod(copy.c_str(), &end);
  if (copy.empty() || *end != '\0' || !std::isfinite(v) || v < lo || v > hi) return std::nullopt;
  return v;
}

bool one_of(const std::string &value, std::initializer_list<std::string_view> allowed) {
  return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

bool is_http_url(const std::string &text) {
  return (text.rfind("http://", 0) == 0 && text.size() > 7) ||
         (text.rfind("https://", 0) == 0 && text.size() > 8);
}

std::string format_rows(const std::vector<help_row> &rows, std::size_t column, std::size_t width) {
  std::string out;
  const std::string indent(column, ' ');
  for (const auto &r : rows) {
    std::string left = "  " + r.left;
    const bool own_line = left.size() + 1 > column;
    const auto lines = wrap(r.help, width > column ? width - column : 20);
    if (own_line) out += left + "\n";
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (i == 0 && !own_line) {
        left.resize(column, ' ');
        out += left;
      } else {
        out += indent;
      }
      out += lines[i] + "\n";
    }
    if (lines.empty() && !own_line) out += left + "\n";
  }
  return out;
}

} // namespace streamcheck::options
