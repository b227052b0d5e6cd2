// streamcheck compare TARGET...: one matrix of several runs, rows checks, columns targets, each
// cell the verdict and its headline figure, then each target's failures with the fix. Console,
// Markdown, JSON. A target that could not run is a column of "setup" errors saying why.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "harness/report/report.h"

namespace streamcheck::harness {

// What a TARGET string names: a managed config ("haproxy:deploy/haproxy.cfg"), a command line
// ("exec:streamcheck-proxy --listen {listen} --upstream http://{upstream}", split on spaces).
struct compare_target {
  std::string spec;              // as given
  std::string label;             // short, for the matrix column: "haproxy:stock.cfg"
  std::string command;           // nginx, haproxy, caddy, lighttpd, exec
  std::string file;              // the config (managed targets)
  std::vector<std::string> argv; // exec
};
result<compare_target> parse_compare_target(const std::string &spec);
// Every target's short label, made unique (the full spec where two would read the same).
void label_targets(std::vector<compare_target> &targets);

struct compare_column {
  std::string label;                // the target's short label
  std::optional<run_report> report; // none when it could not run
  std::string setup_error;          // why, when it could not
};

std::string compare_console(const std::vector<compare_column> &columns, bool color);
std::string compare_markdown(const std::vector<compare_column> &columns);
nlohmann::json compare_json(const std::vector<compare_column> &columns);
// The worst of the targets' exit codes (2 for a target that could not run).
int compare_exit_code(const std::vector<compare_column> &columns);

} // namespace streamcheck::harness
