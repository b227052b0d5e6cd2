#include "harness/commands.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <unistd.h>

#include "harness/cli.h"
#include "harness/diagnosis.h"
#include "harness/runner.h"

namespace streamcheck::harness {
namespace {

bool write_report(const report_target &t, const run_report &r, bool color) {
  auto emit = [&](std::ostream &out, bool use_color) {
    find_report_format(t.format)->write(out, r, use_color); // parse refused unknown formats
  };
  if (t.file.empty() || t.file == "-") {
    emit(std::cout, color);
    std::cout.flush();
    return static_cast<bool>(std::cout);
  }
  std::ofstream f(t.file);
  emit(f, false);
  f.close();
  if (!f) std::fprintf(stderr, "streamcheck: cannot write %s\n", t.file.c_str());
  return static_cast<bool>(f);
}

// --report github: the job summary is the Markdown report, appended as GitHub asks.
void append_step_summary(const report_target &t, const run_report &r) {
  const char *summary = std::getenv("GITHUB_STEP_SUMMARY");
  if (t.format != "github" || !summary || !*summary) return;
  std::ofstream f(summary, std::ios::app);
  write_markdown(f, r);
  if (!f) std::fprintf(stderr, "streamcheck: cannot append to GITHUB_STEP_SUMMARY %s\n", summary);
}

void show_progress(const engine_progress &p) {
  const bool tty = isatty(STDERR_FILENO) != 0;
  static int calls = 0;
  if (!tty && ++calls % 10 != 0) return; // a line every ~10 s in CI logs
  std::fprintf(stderr, "%s  %d/%d probes done, %d running, about %d s left%s", tty ? "\r" : "",
               p.finished, p.total, p.running, (p.remaining_ms + 999) / 1000, tty ? "   " : "\n");
  std::fflush(stderr);
}

} // namespace

int usage_error(const std::string &message) {
  std::fprintf(stderr, "streamcheck: %s (see streamcheck help)\n", message.c_str());
  return exit_usage;
}

std::optional<std::string> unwritable_report(const std::vector<report_target> &reports) {
  namespace fs = std::filesystem;
  std::vector<fs::path> seen;
  for (const auto &t : reports) {
    if (t.file.empty() || t.file == "-") continue;
    const fs::path file = fs::absolute(t.file).lexically_normal();
    std::error_code ec;
    if (fs::is_directory(file, ec)) return t.file + " is a directory";
    const fs::path dir = file.parent_path();
    if (!fs::is_directory(dir, ec))
      return "cannot write " + t.file + ": no directory " + dir.string();
    if (fs::exists(file, ec) ? access(file.c_str(), W_OK) != 0
                             : access(dir.c_str(), W_OK | X_OK) != 0)
      return "cannot write " + t.file + ": permission denied";
    if (std::find(seen.begin(), seen.end(), file) != seen.end())
      return t.file + " is named by two --report options";
    seen.push_back(file);
  }
  return std::nullopt;
}

int report_destination_error(const std::string &problem) {
  std::fprintf(stderr, "streamcheck: --report: %s (checked before the run)\n", problem.c_str());
  return exit_setup_error;
}

result<run_report> run_with_progress(const cli_options &o) {
  std::fprintf(stderr, "streamcheck: %s profile against %s\n", o.run.profile.c_str(),
               o.run.target_label.empty() ? o.run.proxy_url.c_str() : o.run.target_label.c_str());
  run_callbacks cb;
  cb.on_progress = show_progress;
  auto report = run_suite(o.run, cb);
  if (isatty(STDERR_FILENO)) std::fprintf(stderr, "\r%60s\r", "");
  return report;
}

// A report that was asked for and not written makes the run a runtime error, never a pass.
int write_reports(const cli_options &o, const run_report &report) {
  bool all_written = true;
  for (const auto &t : o.reports) {
    all_written = write_report(t, report, o.color) && all_written;
    append_step_summary(t, report);
  }
  // The reports say what answered; the exit code says the run never reached the upstream.
  if (const auto refused = refused_everything(report)) {
    std::fprintf(stderr, "streamcheck: %s\n", refused->c_str());
    return exit_setup_error;
  }
  return all_written ? report.exit_code() : exit_setup_error;
}

int setup_error(const cli_options &o, const std::string &message) {
  std::fprintf(stderr, "streamcheck: %s\n", message.c_str());
  run_report r;
  r.tool_version = "0.1.0";
  r.target =
      o.run.target_label.empty() ? (o.conf.empty() ? o.run.proxy_url : o.conf) : o.run.target_label;
  r.proxy_kind = o.run.proxy_kind;
  r.profile = o.run.profile;
  r.upstream = o.run.mock_control;
  r.strict = o.run.strict;
  r.started_at = utc_now();
  check_result c;
  c.id = "setup";
  c.title = "The run could start";
  c.requirement = "streamcheck can start and reach the proxy and the mock";
  c.result = outcome::error;
  c.actual = message;
  r.checks.push_back(c);
  for (const auto &t : o.reports)
    if (t.format != "console") {
      write_report(t, r, o.color);
      append_step_summary(t, r);
    }
  return exit_setup_error;
}

int reported(const cli_options &o, const result<run_report> &report) {
  if (!report) return setup_error(o, report.message());
  return write_reports(o, report.value());
}

int run_and_report(const cli_options &o) {
  return reported(o, run_with_progress(o));
}

} // namespace streamcheck::harness
