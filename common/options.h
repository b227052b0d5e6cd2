// One way to declare a command line: each flag is one table row (its names, the value it takes,
// its help, its validation and where the value goes), from which the parser, the --help text and
// the error messages all come (nginx's ngx_command_t idea). Used by streamcheck,
// streamcheck-mock, streamcheck-proxy and the benches, so a flag is never stated twice.
//
// Errors are values, in one shape for every program: "--flag: expected ..., got '...'",
// "--flag needs a value", "unknown option '--flag'". The program adds its name and its hint.
#pragma once
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/result.h"

namespace streamcheck::options {

// What a setter returns: std::nullopt when the value was taken, else why not ("expected ...").
using problem = std::optional<std::string>;

enum class takes {
  value,          // --flag VALUE or --flag=VALUE
  nothing,        // --flag (a switch); --flag=x is an error
  optional_value, // --flag or --flag=VALUE, never --flag VALUE (the next word stays an argument)
};

template <class Target> struct option {
  std::string names;      // without "--": "policy|profile", the first shown, the others aliases
  std::string value_name; // in --help: "URL", "N", "quick|standard|thorough"
  std::string help;       // one paragraph; --help wraps it
  std::function<problem(Target &, const std::string &)> set; // a switch gets ""
  std::string default_text = {}; // in --help as "(default ...)" when not empty
  takes kind = takes::value;
  std::string section = {}; // which help section lists it (a program may have several)
};

// The type-free half of a row: what the scanner and the help generator need.
struct flag_spec {
  const std::string *names;
  takes kind;
};

// One recognised word of the command line: the row it matched (or a positional argument).
struct scanned_arg {
  static constexpr std::size_t positional = static_cast<std::size_t>(-1);
  std::size_t row = positional;
  std::string spelled; // as typed: "--profile" (an alias), "--fix=out.conf", "nginx.conf"
  std::string value;   // the option's value ("" for a switch), or the positional word
};

struct scan_result {
  std::vector<scanned_arg> args;
  bool help = false;                            // --help or -h was seen (scanning stopped there)
  std::optional<std::vector<std::string>> rest; // the words after "--", when "--" was given
};

// Splits args into options and positionals, in order. Errors: an unknown --flag, a missing
// value, a value given to a switch. A flag given twice is scanned twice: its setter decides
// whether the second use adds (--check) or replaces (--profile).
result<scan_result> scan(const std::vector<flag_spec> &flags, const std::vector<std::string> &args);

// The message for a setter's refusal: "--NAME: WHY".
std::string bad_value(const std::string &spelled, const std::string &why);

// "expected WHAT, got 'VALUE'", the usual problem text.
std::string expected(const std::string &what, const std::string &value);

// Value parsers for setters. Whole-string only: "12x" is no number.
std::optional<long long> parse_integer(std::string_view text, long long lo, long long hi);
std::optional<double> parse_number(std::string_view text, double lo, double hi);
bool one_of(const std::string &value, std::initializer_list<std::string_view> allowed);
bool is_http_url(const std::string &text); // http:// or https:// with something after it

// Text the help wrapper keeps on one line ("(default 600s)" is never split).
std::string unbreakable(std::string text);

struct help_row {
  std::string left; // "--policy NAME"
  std::string help; // the paragraph, with "(default ...)" and aliases added
};

// Rows laid out as an option list: the left column padded to `column`, the help wrapped at
// `width` (a left column too wide for it puts the help on the next line).
std::string format_rows(const std::vector<help_row> &rows, std::size_t column,
                        std::size_t width = 100);

// "policy|profile" as {"policy", "profile"}.
std::vector<std::string> split_names(const std::string &names);

template <class Target> help_row row_of(const option<Target> &o) {
  const auto names = split_names(o.names);
  help_row r;
  r.left = "--" + names.front();
  if (o.kind == takes::value) r.left += " " + o.value_name;
  if (o.kind == takes::optional_value) r.left += "[=" + o.value_name + "]";
  r.help = o.help;
  for (std::size_t i = 1; i < names.size(); ++i)
    r.help += (i == 1 ? " (also --" : ", --") + names[i] + (i + 1 == names.size() ? ")" : "");
  // A short default stays whole on its line: "(default 600s)".
  const std::string default_part = "(default " + o.default_text + ")";
  if (!o.default_text.empty())
    r.help += " " + (default_part.size() <= 32 ? unbreakable(default_part) : default_part);
  return r;
}

// The help of the rows in `section` ("" = every row), in table order.
template <class Target>
std::string help_text(const std::vector<option<Target>> &table, std::size_t column,
                      const std::string &section = {}) {
  std::vector<help_row> rows;
  for (const auto &o : table)
    if (section.empty() || o.section == section) rows.push_back(row_of(o));
  return format_rows(rows, column);
}

template <class Target> std::vector<flag_spec> specs(const std::vector<option<Target>> &table) {
  std::vector<flag_spec> out;
  for (const auto &o : table)
    out.push_back({&o.names, o.kind});
  return out;
}

// Applies one scanned option to target; the error names the flag as it was typed.
template <class Target>
std::optional<std::string> apply(const std::vector<option<Target>> &table, const scanned_arg &a,
                                 Target &target) {
  auto p = table[a.row].set(target, a.value);
  if (!p) return std::nullopt;
  return bad_value(a.spelled.substr(0, a.spelled.find('=')), *p);
}

// What parse() gives back besides the filled target.
struct parsed {
  bool help = false;
  std::optional<std::vector<std::string>> rest; // after "--"
};

// Scans args and applies every option in order. A positional word goes to on_positional (which
// returns a whole error message or nothing); without one a positional is an unknown option.
template <class Target>
result<parsed> parse(const std::vector<option<Target>> &table, const std::vector<std::string> &args,
                     Target &target,
                     const std::function<std::optional<std::string>(Target &, const std::string &)>
                         &on_positional = {}) {
  auto scanned = scan(specs(table), args);
  if (!scanned) return error{scanned.message()};
  for (const scanned_arg &a : scanned->args) {
    std::optional<std::string> e;
    if (a.row != scanned_arg::positional)
      e = apply(table, a, target);
    else if (on_positional)
      e = on_positional(target, a.value);
    else
      e = "unknown option '" + a.value + "'";
    if (e) return error{*e};
  }
  return parsed{scanned->help, std::move(scanned->rest)};
}

// A main()'s whole command line: argv[1..] into target, no positional words, no "--". Returns
// the exit code to stop with: 0 after printing usage() for --help, usage_exit after printing
// "PROGRAM: ERROR (see --help)"; nullopt to go on.
template <class Target>
std::optional<int> parse_main(const char *program, const std::vector<option<Target>> &table,
                              int argc, char **argv, Target &target,
                              const std::function<std::string()> &usage, int usage_exit) {
  auto r = parse(table, std::vector<std::string>(argv + 1, argv + argc), target);
  std::optional<std::string> e;
  if (!r)
    e = r.message();
  else if (r->rest)
    e = "unknown option '--'";
  if (e) {
    std::fprintf(stderr, "%s: %s (see --help)\n", program, e->c_str());
    return usage_exit;
  }
  if (!r->help) return std::nullopt;
  std::fputs(usage().c_str(), stdout);
  return 0;
}

// Setters for the common cases. `field` maps the target to the member: [](T &t) -> auto & {...}.
template <class Field> auto store(Field field) {
  return [field](auto &t, const std::string &v) -> problem {
    field(t) = v;
    return std::nullopt;
  };
}
template <class Field> auto append(Field field) {
  return [field](auto &t, const std::string &v) -> problem {
    field(t).push_back(v);
    return std::nullopt;
  };
}
template <class Field> auto set_true(Field field) {
  return [field](auto &t, const std::string &) -> problem {
    field(t) = true;
    return std::nullopt;
  };
}
// An integer in [lo, hi] stored as the field's type; the refusal says the range.
template <class Field> auto integer_in(Field field, long long lo, long long hi) {
  return [field, lo, hi](auto &t, const std::string &v) -> problem {
    const auto n = parse_integer(v, lo, hi);
    if (!n) return expected(std::to_string(lo) + ".." + std::to_string(hi), v);
    auto &f = field(t);
    f = static_cast<std::remove_reference_t<decltype(f)>>(*n);
    return std::nullopt;
  };
}

} // namespace streamcheck::options
