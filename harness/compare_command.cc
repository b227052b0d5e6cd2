#include "harness/compare_command.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>

#include "harness/cli.h"
#include "harness/commands.h"
#include "harness/compare.h"
#include "harness/managed/targets.h"

namespace streamcheck::harness {
namespace {

// One compare target's run, as its own command would do it (without writing reports).
result<run_report> compare_run(const cli_options &o, const compare_target &t) {
  cli_options sub = o;
  sub.command = t.command;
  sub.conf = t.file;
  sub.exec_argv = t.argv;
  sub.run.target_label.clear();
  if (managed::takes_config(t.command)) return managed::config_run(sub);
  if (t.command == "url") { // a proxy the user runs, in front of the user's mock (--mock-control)
    sub.run.proxy_url = t.url;
    return run_with_progress(sub);
  }
  if (!managed::listens_somewhere(t.argv))
    return error{"the command must say where to listen with {listen} or {port}"};
  return managed::exec_run(sub);
}

} // namespace

int compare_command(const cli_options &o) {
  if (o.compare_targets.empty())
    return usage_error("compare needs targets: streamcheck compare haproxy:FILE caddy:FILE ...");
  std::vector<compare_target> targets;
  for (const auto &spec : o.compare_targets) {
    auto t = parse_compare_target(spec);
    if (!t) return usage_error(t.message());
    targets.push_back(*t);
  }
  label_targets(targets);
  if (auto problem = compare_usage_problem(targets, o.run)) return usage_error(*problem);
  for (const auto &r : o.reports)
    if (r.format != "console" && r.format != "markdown" && r.format != "json")
      return usage_error("compare writes console, markdown or json reports, not " + r.format);
  std::vector<compare_column> columns;
  for (const auto &t : targets) {
    std::fprintf(stderr, "streamcheck: compare: %s\n", t.spec.c_str());
    auto r = compare_run(o, t);
    if (!r) std::fprintf(stderr, "streamcheck: %s: %s\n", t.spec.c_str(), r.message().c_str());
    columns.push_back({t.label, r ? std::optional<run_report>(std::move(*r)) : std::nullopt,
                       r ? "" : r.message(), t.spec, t.command});
  }
  bool written = true;
  for (const auto &t : o.reports) {
    // compare_json_text replaces invalid UTF-8 quoted from a proxy instead of throwing.
    const std::string text = t.format == "json" ? compare_json_text(columns)
                             : t.format == "markdown"
                                 ? compare_markdown(columns)
                                 : compare_console(columns, o.color, console_width());
    if (t.file.empty() || t.file == "-") {
      std::cout << text << std::flush;
      continue;
    }
    std::ofstream f(t.file);
    f << text;
    f.close();
    if (!f) {
      std::fprintf(stderr, "streamcheck: cannot write %s\n", t.file.c_str());
      written = false;
    }
  }
  return written ? compare_exit_code(columns) : exit_setup_error;
}

} // namespace streamcheck::harness
