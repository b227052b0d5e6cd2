// What every streamcheck command shares once its options are parsed: the usage error, the suite
// run with its progress line, the reports written and the exit code they make, and the setup
// error that still gets its reports.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "harness/cli_options.h"
#include "harness/report/report.h"

namespace streamcheck::harness {

// "streamcheck: MESSAGE (see streamcheck help)" on stderr; exit_usage.
int usage_error(const std::string &message);

// Why a --report FILE cannot be written (a directory, a missing or read-only directory, the
// same file twice), before anything runs: a CI gate must not run for minutes and lose its report.
std::optional<std::string> unwritable_report(const std::vector<report_target> &reports);
// That problem said on stderr; exit_setup_error.
int report_destination_error(const std::string &problem);

// The suite against o.run, with a progress line on stderr; setup problems as an error value.
result<run_report> run_with_progress(const cli_options &o);

// Every --report written; the exit code of the run (exit_setup_error when a report could not be
// written or the proxy refused everything).
int write_reports(const cli_options &o, const run_report &report);

// A run that could not start (nginx -t failed, the proxy unreachable) still gets its reports,
// one "setup" check in error saying why, so a CI dashboard shows the cause instead of nothing.
// Returns exit_setup_error.
int setup_error(const cli_options &o, const std::string &message);

// A run's reports, or its setup error's.
int reported(const cli_options &o, const result<run_report> &report);

// `streamcheck run`: the suite against o.run as given, reported.
int run_and_report(const cli_options &o);

} // namespace streamcheck::harness
