// streamcheck compare TARGET...: one matrix of several runs, rows checks, columns targets, each
// cell the verdict and its headline figure, then each target's failures with the fix. Console,
// Markdown, JSON (docs/compare-schema.json). A target that could not run is a column of "setup"
// errors saying why.
#pragma once
#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "harness/report/report.h"
#include "harness/runner.h"

namespace streamcheck::harness {

// What a TARGET string names: a managed config ("haproxy:deploy/haproxy.cfg"), a command line
// ("exec:streamcheck-proxy --listen {listen} --upstream http://{upstream}", split on spaces), or
// a proxy the user runs in front of a streamcheck-mock they started ("url:http://127.0.0.1:8080";
// the mock's control URL, --mock-control, is given once for every url target, as for `run`).
struct compare_target {
  std::string spec;              // as given
  std::string label;             // short, for the matrix column: "haproxy:stock.cfg"
  std::string command;           // nginx, haproxy, caddy, lighttpd, exec, url
  std::string file;              // the config (managed targets)
  std::vector<std::string> argv; // exec
  std::string url;               // url: the running proxy
};
result<compare_target> parse_compare_target(const std::string &spec);
// Every target's short label, made unique (the full spec where two would read the same).
void label_targets(std::vector<compare_target> &targets);

// Why these targets cannot run with these options (a usage error, exit 3): url targets need
// --mock-control, which nothing else uses; --proxy names no column (url:URL does).
std::optional<std::string> compare_usage_problem(const std::vector<compare_target> &targets,
                                                 const run_options &run);

struct compare_column {
  std::string label;                // the target's short label
  std::optional<run_report> report; // none when it could not run
  std::string setup_error;          // why, when it could not
  std::string spec = {};            // the TARGET string as given ("" = the label)
  std::string kind = {};            // nginx, haproxy, caddy, lighttpd, exec, url
};

// The console matrix is cut into blocks of as many targets as fit in `width` characters, each
// block with the check ids again, so that ten targets stay readable in a terminal.
std::string compare_console(const std::vector<compare_column> &columns, bool color,
                            std::size_t width = 160);
std::string compare_markdown(const std::vector<compare_column> &columns);
// The document docs/compare-schema.json describes: each target with its whole run report
// (docs/report-schema.json) and the matrix of cells.
nlohmann::ordered_json compare_json(const std::vector<compare_column> &columns);
// compare_json as text: strings quote what the proxies sent, so invalid UTF-8 is replaced.
std::string compare_json_text(const std::vector<compare_column> &columns);
// The worst of the targets' exit codes: 2 for a target that could not run, or whose every
// request the proxy refused itself (nothing about streaming measured, as for one target).
int compare_exit_code(const std::vector<compare_column> &columns);
// The terminal's width (COLUMNS, else the tty's), 160 when neither says.
std::size_t console_width();

} // namespace streamcheck::harness
