// `streamcheck nginx CONF`: DESIGN §1 job 1. The user's file flattened into a private prefix
// (never modified), nginx -t, the suite on every listener of the server under test, the static
// analysis per probed path annotating the report; --fix (fix.h) after it.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "harness/cli_options.h"
#include "harness/nginx/analysis.h"
#include "harness/report/report.h"

namespace streamcheck::harness::nginx {

// One managed nginx run: its merged report, the analysis's findings by client path, and where
// CONF's relative includes resolved (a patched copy's includes resolve the same way).
struct nginx_run {
  run_report report;
  std::vector<std::pair<std::string, std::vector<finding>>> findings; // by client path
  std::string include_base;
};

// Setup problems (no nginx, nginx -t rejecting CONF, the proxy silent) come back as an error
// value: exit 2. after_suite: run --after-suite while nginx still runs.
result<nginx_run> run_nginx_gate(cli_options o, bool after_suite);

// The gate, its reports, then --fix when asked: the exit code.
int nginx_command(const cli_options &o);

} // namespace streamcheck::harness::nginx
