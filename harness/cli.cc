#include "harness/cli.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

#include "harness/caddy/launcher.h"
#include "harness/catalog_listing.h"
#include "harness/cli_options.h"
#include "harness/compare.h"
#include "harness/diagnosis.h"
#include "harness/haproxy/launcher.h"
#include "harness/interrupt.h"
#include "harness/lighttpd/launcher.h"
#include "harness/managed/command.h"
#include "harness/managed/packaged.h"
#include "harness/managed/proxy.h"
#include "harness/nginx/analysis.h"
#include "harness/nginx/config.h"
#include "harness/nginx/launcher.h"
#include "harness/nginx/listeners.h"
#include "harness/nginx/locations.h"
#include "harness/nginx/rewrite.h"
#include "harness/process.h"
#include "harness/runner.h"
#include "mock_upstream/server.h"

namespace streamcheck::harness {
namespace {

int usage_error(const std::string &message) {
  std::fprintf(stderr, "streamcheck: %s (see streamcheck help)\n", message.c_str());
  return exit_usage;
}

// The requirements as a run with these options states them (--profile, --tolerance-mult).
int list_checks(const cli_options &o) {
  const check_context ctx{.prof = *find_profile(o.run.profile),
                          .tol = tolerances{o.run.tolerance_mult}};
  if (o.list_json) {
    std::cout << catalog_listing(ctx).dump(2) << "\n";
    return exit_ok;
  }
  for (const auto &c : catalog())
    std::printf("%-34s %-6s %s\n", c.id.c_str(), to_string(c.severity), c.requirement(ctx).c_str());
  return exit_ok;
}

// Why a --report FILE cannot be written (a directory, a missing or read-only directory, the
// same file twice), before anything runs: a CI gate must not run for minutes and lose its report.
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

// A run that could not start (nginx -t failed, the proxy unreachable) still gets its reports,
// one "setup" check in error saying why, so a CI dashboard shows the cause instead of nothing.
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

// A run's reports, or its setup error's.
int reported(const cli_options &o, const result<run_report> &report) {
  if (!report) return setup_error(o, report.message());
  return write_reports(o, report.value());
}

int run_and_report(const cli_options &o) {
  auto report = run_with_progress(o);
  if (!report) return setup_error(o, report.message());
  return write_reports(o, *report);
}

int live_command(cli_options o) {
  if (o.run.proxy_url.empty()) return usage_error("live needs --proxy URL");
  o.live.proxy_url = o.run.proxy_url;
  o.live.headers = o.run.extra_headers;
  o.live.strict = o.run.strict;
  o.live.tolerance_mult = o.run.tolerance_mult;
  o.live.proxy_kind = o.run.proxy_kind;
  o.run.target_label = "proxy " + o.run.proxy_url + " (live)";
  auto report = live::run(o.live, [](const std::string &line) {
    std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
  });
  if (!report) return setup_error(o, report.message());
  return write_reports(o, *report);
}

// The mock in this process that self-test measures and every managed target (nginx, exec)
// forwards to: a stock Ollama's policy, its journal on a control port.
result<std::unique_ptr<mock::server>> start_embedded_mock() {
  mock::server_options mo;
  mo.control = mo.listen;
  mo.behaviour.request_policy = *mock::policy_for_profile("ollama");
  // Lives for one run, whose checks read back every request they made: keep them all.
  mo.journal_entries = 100'000;
  auto srv = mock::server::start(mo);
  if (!srv) return error{"cannot start the embedded mock: " + srv.message()};
  return std::move(srv.value());
}

int self_test(cli_options o) {
  auto srv = start_embedded_mock();
  if (!srv) return setup_error(o, srv.message());
  o.run.proxy_url = "http://127.0.0.1:" + std::to_string(srv.value()->port());
  o.run.mock_control = "http://127.0.0.1:" + std::to_string(srv.value()->control_port());
  o.run.target_label = "the embedded mock itself (self-test, no proxy)";
  o.run.proxy_kind = "generic";
  o.run.proxy_kind_source = "self-test (no proxy)";
  o.run.upstream_profile = "ollama-open"; // no proxy to satisfy a strict upstream
  o.run.self_test = true;
  return run_and_report(o);
}

// A private directory (0700) under /tmp, removed again unless --keep-temp, on a signal too.
struct temp_prefix {
  std::string path;
  bool keep = false;
  std::string contents; // what it holds, for the --keep-temp message
  std::optional<interrupt_guard> on_interrupt;

  bool create(const std::string &kind) {
    std::string pattern = "/tmp/streamcheck-" + kind + "-XXXXXX";
    if (!mkdtemp(pattern.data())) return false;
    path = pattern;
    on_interrupt.emplace([this] {
      finish();
      if (!keep) std::fprintf(stderr, "streamcheck: removed %s\n", path.c_str());
    });
    return true;
  }
  void finish() const {
    if (path.empty()) return;
    if (keep) {
      std::fprintf(stderr, "streamcheck: kept %s (%s)\n", path.c_str(), contents.c_str());
      return;
    }
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  ~temp_prefix() {
    on_interrupt.reset(); // waits for a signal's cleanup that is under way
    finish();
  }
};

// --after-suite: the user's command, while the proxy still runs.
void run_after_suite(const std::string &command, const std::string &url) {
  if (command.empty()) return;
  const int rc = run_shell(command, {"STREAMCHECK_PROXY_URL=" + url}, std::chrono::seconds(120));
  if (rc != 0)
    std::fprintf(stderr, "streamcheck: --after-suite command %s\n",
                 rc < 0 ? "did not finish within 120 s" : ("exited " + std::to_string(rc)).c_str());
}

// One suite run per listener of the server under test (TLS first), merged: the worst verdict
// of each check, naming the listener where they differ.
result<run_report> run_listeners(cli_options &o, const nginx::rewritten &flat,
                                 const std::string &mock_control) {
  std::vector<nginx::listener_run> runs;
  const std::string target = "nginx " + o.conf + ", " + flat.server_label + ", ";
  std::string labels;
  for (const auto &l : flat.listeners) {
    o.run.proxy_url = l.url();
    o.run.mock_control = mock_control;
    const std::string label =
        l.label + " at " + l.url() +
        (flat.throwaway_certificate && l.tls ? " (throwaway certificate)" : "");
    o.run.target_label = target + label;
    auto report = run_with_progress(o);
    if (!report) return error{label + ": " + report.message()};
    runs.push_back({l.label, std::move(*report)});
    labels += (labels.empty() ? "" : "; ") + label;
  }
  if (runs.size() == 1) return std::move(runs.front().report);
  std::fprintf(stderr, "streamcheck: %zu listeners tested; each check shows its worst verdict\n",
               runs.size());
  run_report merged = nginx::merge_listener_runs(std::move(runs));
  merged.target = target + "listeners: " + labels;
  return merged;
}

// When nginx accepted the suite's first request and never answered it: the directives that make
// the upstream wait (a body announced that never comes, too few connections), if the analysis
// finds any, as text to append to the setup error.
std::string why_silent(const std::vector<nginx::directive> &top, nginx::analysis_options ao,
                       const route_map &routes) {
  const auto version = routes.find("/api/version");
  ao.path = version ? version->client_path : "/api/version";
  std::string out;
  for (const auto &f : nginx::analyse(top, ao))
    if (f.status == -1 && out.find(f.text) == std::string::npos)
      out += (out.empty() ? "" : "; ") + f.text;
  return out.empty() ? "" : "\n  in your config: " + out;
}

// Where the server under test serves each API route (its proxying locations, or --base-path) and
// what upstream it is meant for (or --upstream-profile), said in the report.
void read_routes_and_upstream(cli_options &o, const std::vector<nginx::directive> &top,
                              const nginx::source_loc &server) {
  const auto found = nginx::discover_routes(top, server, probed_paths());
  if (!o.base_path_given) {
    o.run.routes = found.routes;
    std::string prefixed;
    for (const auto &[path, r] : found.routes.exact)
      if (r.client_path != path && prefixed.empty())
        prefixed = path + " through " + r.client_path + " (" + r.via + ")";
    if (!prefixed.empty()) o.run.notes.push_back("the API is served under a prefix: " + prefixed);
    for (const auto &[path, why] : found.routes.unreached)
      if (path == "/api/chat" || path == "/v1/chat/completions")
        o.run.notes.push_back("no proxying location forwards " + path + ": " + why);
  }
  if (o.upstream_profile_given) {
    o.run.notes.push_back("upstream profile " + o.run.upstream_profile + " (--upstream-profile)");
    return;
  }
  const auto guess = nginx::infer_upstream(found);
  o.run.upstream_profile = guess.profile;
  o.run.notes.push_back(guess.note + " (--upstream-profile to override)");
}

// streamcheck nginx CONF: DESIGN §1 job 1. The user's file is only read.
// One managed nginx run: CONF flattened into a private prefix, the suite on every listener, the
// static analysis per probed path. Setup problems come back as an error value (exit 2).
struct nginx_run {
  run_report report;
  std::vector<std::pair<std::string, std::vector<nginx::finding>>> findings; // by client path
  std::string include_base; // where CONF's relative includes resolved
};

result<nginx_run> run_nginx_gate(cli_options o, bool after_suite) {
  namespace ng = nginx;
  using std::chrono::seconds;
  ng::nginx_files files;
  files.binary = ng::find_nginx(o.nginx_binary);
  if (files.binary.empty())
    return error{o.nginx_binary.empty()
                     ? "nginx not found (not on PATH, not /usr/sbin/nginx); use --nginx PATH"
                     : "--nginx " + o.nginx_binary + ": not an executable"};
  temp_prefix tmp;
  tmp.keep = o.keep_temp;
  tmp.contents = "nginx.conf, logs/";
  if (!tmp.create("nginx")) return error{"cannot create a temp directory in /tmp"};
  std::error_code ec;
  std::filesystem::create_directories(tmp.path + "/logs", ec);
  files.prefix = tmp.path;
  files.conf = tmp.path + "/nginx.conf";
  const ng::build_info build =
      ng::query_build(files.binary, tmp.path + "/logs/nginx-V.log", seconds(10));

  ng::load_options lo;
  lo.include_base = o.include_prefix;
  lo.include_root = o.include_root;
  lo.fallback_base = build.conf_dir;
  auto conf = ng::load(o.conf, lo);
  if (!conf) return error{conf.message()};
  if (ng::wrap_snippet(conf->top))
    std::fprintf(stderr,
                 "streamcheck: note: %s has no http { } block: tested as a site snippet "
                 "inside http { } with default events { }\n",
                 o.conf.c_str());

  auto srv = start_embedded_mock();
  if (!srv) return error{srv.message()};

  ng::rewrite_options ro;
  ro.prefix = tmp.path;
  ro.conf_dir = conf->include_base;
  ro.mock_port = srv.value()->port();
  ro.server_name = o.server_name;
  ro.as_root = geteuid() == 0;
  ro.nginx_prefix = build.prefix;
  ro.modules_path = build.modules_path;
  ro.include_root = o.include_root;
  while (ro.include_root.size() > 1 && ro.include_root.back() == '/')
    ro.include_root.pop_back();
  ro.keep_certificates = o.keep_certificates;
  ro.throwaway_cert = tmp.path + "/throwaway.crt";
  ro.throwaway_key = tmp.path + "/throwaway.key";

  // Written, checked (nginx -t, once) and started; retried on a port another process took first.
  ng::flattened_config target(files, build, *conf, ro);
  target.on_note = [](const std::string &n) {
    std::fprintf(stderr, "streamcheck: note: %s\n", n.c_str());
  };
  managed::managed_proxy proc(target);
  managed::launch_options launch;
  launch.listen_port = o.listen_port;
  if (auto started = proc.start(launch); !started) return error{started.message()};
  const ng::rewritten &flat = target.flat();
  for (const auto &l : flat.listeners)
    std::fprintf(stderr, "streamcheck: nginx listening on %s (%s)\n", l.url().c_str(),
                 l.label.c_str());

  if (o.run.proxy_kind.empty()) {
    o.run.proxy_kind = "nginx";
    o.run.proxy_kind_source = "managed nginx target";
  }
  read_routes_and_upstream(o, conf->top, flat.server_loc);
  auto report =
      run_listeners(o, flat, "http://127.0.0.1:" + std::to_string(srv.value()->control_port()));
  const profile *prof = find_profile(o.run.profile);
  ng::analysis_options ao;
  ao.server = flat.server_loc;
  ao.silence_ms = prof->silence_ms;
  ao.large_body = prof->large_body;
  ao.concurrent_streams = prof->concurrent_streams;
  if (!report) {
    proc.stop(seconds(5));
    for (const auto &l : proc.error_log_excerpt())
      std::fprintf(stderr, "  nginx: %s\n", l.c_str());
    return error{report.message() + why_silent(conf->top, ao, o.run.routes)};
  }
  const auto log_lines = ng::relevant_log_lines(files.error_log(), 200);
  std::vector<std::string> paths;
  for (const auto &c : report->checks)
    if (!c.path.empty() && std::find(paths.begin(), paths.end(), c.path) == paths.end())
      paths.push_back(c.path);
  nginx_run run;
  for (const auto &path : paths) {
    ao.path = path;
    run.findings.push_back({path, ng::analyse(conf->top, ao)});
    ng::annotate(*report, run.findings.back().second, path, log_lines);
  }
  ng::locate_unexplained(
      *report, {flat.server_loc.file, flat.server_loc.line, "the server block under test"});
  ng::note_rate_limits(*report);

  const std::string url = flat.listeners.front().url();

  if (after_suite) run_after_suite(o.after_suite, url);
  proc.stop(seconds(5));
  bool trouble = false;
  for (const auto &c : report->checks)
    trouble = trouble || c.result == outcome::fail || c.result == outcome::warn ||
              c.result == outcome::error;
  if (trouble) {
    const auto lines = proc.error_log_excerpt();
    if (!lines.empty()) {
      std::fprintf(stderr, "streamcheck: nginx's error log (last %zu relevant lines):\n",
                   lines.size());
      for (const auto &l : lines)
        std::fprintf(stderr, "  %s\n", l.c_str());
    }
  }
  run.report = std::move(*report);
  run.include_base = conf->include_base;
  return run;
}

// --fix: where the patched copy goes unless --fix=OUT says.
std::string default_fix_path(const std::string &conf) {
  const std::string ext = ".conf";
  if (conf.size() > ext.size() && conf.compare(conf.size() - ext.size(), ext.size(), ext) == 0)
    return conf.substr(0, conf.size() - ext.size()) + ".fixed.conf";
  return conf + ".fixed";
}

bool failing(const check_result &c) {
  return c.result == outcome::fail || c.result == outcome::warn;
}

// The edits the analysis proposes for the failing checks; per check without one, why.
std::vector<nginx::edit> edits_for(const nginx_run &run, std::map<std::string, std::string> &none) {
  std::vector<nginx::edit> edits;
  for (const check_result &c : run.report.checks) {
    if (!failing(c)) continue;
    bool any = false;
    for (const auto &[path, findings] : run.findings) {
      if (path != c.path) continue;
      // As annotate does: a status finding explains only a check nginx answered with it.
      for (const auto &f : findings) {
        if (!nginx::matches(f, c.id) || (f.status != 0 && f.status != c.diverged_status)) continue;
        any = any || !f.edits.empty();
        edits.insert(edits.end(), f.edits.begin(), f.edits.end()); // apply_edits drops repeats
      }
    }
    if (!any)
      none[c.id] = "the analysis located no cause for it in the config (a behaviour of the "
                   "upstream or of nginx itself, or a pattern streamcheck does not know yet)";
  }
  return edits;
}

void print_diff(const std::string &from, const std::string &to) {
  temp_prefix tmp;
  if (!tmp.create("diff")) return;
  child_process diff;
  const std::string log = tmp.path + "/diff.txt";
  if (!diff.start({{"diff", "-u", from, to}, log, {}, {}})) return;
  diff.wait(std::chrono::seconds(10));
  std::fputs(read_file(log).c_str(), stdout);
  std::fflush(stdout);
}

// "the patch makes N of M failing checks pass", and for each other one why. With no edit at all
// a pass on the second run proves nothing (the first failure did not reproduce); a check that
// passes with no edit of its own is counted (another check's remedy fixed it: the Origin edit
// also ends cors.stream-response's 403) and named.
void print_patch_verdict(const std::vector<std::string> &was_failing,
                         const std::map<std::string, std::string> &why_not, bool edited,
                         const run_report &second) {
  int fixed = 0;
  std::string others, notes;
  for (const std::string &id : was_failing) {
    const auto it = std::find_if(second.checks.begin(), second.checks.end(),
                                 [&](const check_result &c) { return c.id == id; });
    const bool passes = it != second.checks.end() && it->result == outcome::pass;
    const auto none = why_not.find(id);
    if (passes && edited) {
      ++fixed;
      if (none != why_not.end())
        notes += "  (" + id + " passes with no edit of its own: another check's remedy fixed it)\n";
      continue;
    }
    std::string reason =
        none != why_not.end() ? none->second : std::string("the patched config still fails it");
    if (passes)
      reason = "no edit at all, and it passed the second run: the first failure did not "
               "reproduce (a timing flake on a loaded machine?)";
    else if (it != second.checks.end())
      reason += " (now " + std::string(to_string(it->result)) + ": " +
                (it->actual.empty() ? it->measured : it->actual) + ")";
    others += "  " + id + ": " + reason + "\n";
  }
  std::printf("streamcheck: the patch makes %d of %zu failing checks pass\n%s%s", fixed,
              was_failing.size(), others.c_str(), notes.c_str());
  std::fflush(stdout);
}

// streamcheck nginx CONF --fix[=OUT]: the remedies the analysis located, written to a copy of
// the user's file (never the file itself), shown as a diff, and proven by a second run.
void fix_and_verify(const cli_options &o, const nginx_run &first) {
  std::vector<std::string> was_failing;
  for (const check_result &c : first.report.checks)
    if (failing(c)) was_failing.push_back(c.id);
  if (was_failing.empty()) {
    std::fprintf(stderr, "streamcheck: --fix: no failing check, nothing to patch\n");
    return;
  }
  std::map<std::string, std::string> why_not;
  std::vector<nginx::edit> edits = edits_for(first, why_not);
  std::vector<nginx::edit> here;
  for (const auto &e : edits) {
    if (e.at.file == o.conf)
      here.push_back(e);
    else
      std::fprintf(stderr,
                   "streamcheck: --fix: %s is in an included file; change it by hand: %s%s\n",
                   e.at.str().c_str(), e.what == nginx::edit::kind::remove ? "remove " : "",
                   e.directive.c_str());
  }
  auto patched = nginx::apply_edits(read_file(o.conf), o.conf, here);
  if (!patched) {
    std::fprintf(stderr, "streamcheck: --fix: cannot patch %s: %s\n", o.conf.c_str(),
                 patched.message().c_str());
    return;
  }
  const std::string out = o.fix_out.empty() ? default_fix_path(o.conf) : o.fix_out;
  {
    std::ofstream f(out, std::ios::binary | std::ios::trunc);
    f << *patched;
    if (!f) {
      std::fprintf(stderr, "streamcheck: --fix: cannot write %s\n", out.c_str());
      return;
    }
  }
  std::fprintf(stderr, "streamcheck: --fix: wrote %s; the diff:\n", out.c_str());
  print_diff(o.conf, out);

  cli_options again = o;
  again.conf = out;
  again.include_prefix = first.include_base; // includes resolve as for the original
  std::fprintf(stderr, "streamcheck: --fix: running the suite against %s\n", out.c_str());
  auto second = run_nginx_gate(again, false);
  if (!second) {
    std::fprintf(stderr, "streamcheck: --fix: the patched config does not run: %s\n",
                 second.message().c_str());
    return;
  }
  print_patch_verdict(was_failing, why_not, !here.empty(), second->report);
}

int nginx_command(const cli_options &o) {
  auto run = run_nginx_gate(o, true);
  if (!run) return setup_error(o, run.message());
  const int code = write_reports(o, run->report);
  if (o.fix) fix_and_verify(o, *run);
  return code;
}

// streamcheck exec -- CMD: any proxy a command line can start (streamcheck-proxy, Caddy,
// HAProxy, socat...), in front of the embedded mock.
result<run_report> exec_run(cli_options o) {
  using std::chrono::seconds;
  auto srv = start_embedded_mock();
  if (!srv) return error{srv.message()};
  temp_prefix tmp;
  tmp.keep = o.keep_temp;
  tmp.contents = "output.log: the command's output";
  if (!tmp.create("exec")) return error{"cannot create a temp directory in /tmp"};
  const std::string name = o.exec_argv.front();
  // Started, waited for (15 s) and retried on a port another process took first.
  managed::command_target target(o.exec_argv, srv.value()->port(), tmp.path);
  managed::managed_proxy child(target);
  auto started = child.start();
  if (!started) return error{started.message()};
  const unsigned short port = *started;
  const std::string log = target.output_log();
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  std::fprintf(stderr, "streamcheck: %s listening on %s\n", name.c_str(), url.c_str());
  o.run.proxy_url = url;
  o.run.mock_control = "http://127.0.0.1:" + std::to_string(srv.value()->control_port());
  o.run.target_label = name + " at " + url;
  auto report = run_with_progress(o);
  if (report) run_after_suite(o.after_suite, url);
  const int stopped = child.stop(seconds(10));
  const std::string said = last_lines(read_file(log), 10);
  if (!report) {
    if (!said.empty())
      std::fprintf(stderr, "streamcheck: %s said:\n%s\n", name.c_str(), said.c_str());
    return error{report.message()};
  }
  if (report->exit_code() != exit_ok && !said.empty())
    std::fprintf(stderr, "streamcheck: %s's last output lines:\n%s\n", name.c_str(), said.c_str());
  if (stopped > 0 && stopped != 128 + SIGTERM)
    std::fprintf(stderr, "streamcheck: note: %s exited with status %d on SIGTERM\n", name.c_str(),
                 stopped);
  return report;
}

int exec_command(const cli_options &o) {
  return reported(o, exec_run(o));
}

// A listener of a running managed proxy, as the suite reaches it.
struct managed_listener {
  std::string url;
  std::string label; // "frontend ollama (line 27: *:8080)"
};

// The suite on every listener of a started managed proxy (HAProxy, Caddy), merged as nginx's
// listeners are (each check's worst verdict), then the proxy stopped.
result<run_report> managed_run(cli_options &o, managed::proxy_kind &kind,
                               managed::managed_proxy &proc,
                               const std::vector<managed_listener> &listeners,
                               const std::vector<std::string> &notes, const mock::server &srv) {
  using std::chrono::seconds;
  for (const auto &n : notes)
    std::fprintf(stderr, "streamcheck: note: %s\n", n.c_str());
  if (o.run.proxy_kind.empty()) {
    o.run.proxy_kind = kind.kind();
    o.run.proxy_kind_source = "managed " + kind.kind() + " target";
  }
  o.run.mock_control = "http://127.0.0.1:" + std::to_string(srv.control_port());
  std::vector<nginx::listener_run> runs;
  for (const auto &l : listeners) {
    std::fprintf(stderr, "streamcheck: %s listening on %s (%s)\n", kind.version().c_str(),
                 l.url.c_str(), l.label.c_str());
    o.run.proxy_url = l.url;
    o.run.target_label =
        kind.kind() + " " + o.conf + ", " + l.label + " at " + l.url + " (" + kind.version() + ")";
    auto report = run_with_progress(o);
    if (!report) {
      proc.stop(seconds(5));
      return error{l.label + ": " + report.message()};
    }
    runs.push_back({l.label, std::move(*report)});
  }
  run_report merged = nginx::merge_listener_runs(std::move(runs));
  run_after_suite(o.after_suite, listeners.front().url);
  proc.stop(seconds(5));
  if (merged.exit_code() != exit_ok)
    for (const auto &line : proc.error_log_excerpt())
      std::fprintf(stderr, "  %s: %s\n", kind.kind().c_str(), line.c_str());
  return merged;
}

// Starts a managed kind on its rewritten copy and runs the suite on each listener its flat()
// names (listeners_of picks them out).
template <class Kind, class Listeners>
result<run_report> start_and_test(cli_options &o, Kind &target, Listeners listeners_of,
                                  const mock::server &srv) {
  managed::managed_proxy proc(target);
  managed::launch_options launch;
  launch.listen_port = o.listen_port;
  if (auto started = proc.start(launch); !started) return error{started.message()};
  std::vector<managed_listener> listeners;
  for (const auto &l : listeners_of(target.flat()))
    listeners.push_back({l.url(), l.label()});
  return managed_run(o, target, proc, listeners, target.flat().notes, srv);
}

// The checks every managed target makes before anything starts: the binary (the Debian package
// named when it is missing) and the user's file.
result<std::string> managed_binary(const cli_options &o, const std::string &name,
                                   const std::string &package) {
  auto binary = managed::find_packaged_binary(name, package);
  if (!binary) return binary;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(o.conf, ec)) return error{o.conf + ": no such file"};
  return binary;
}

// streamcheck haproxy CFG: the user's HAProxy config in front of the embedded mock, the suite on
// every bind. CFG is only read.
result<run_report> haproxy_run(cli_options o) {
  auto binary = managed_binary(o, "haproxy", "haproxy");
  if (!binary) return error{binary.message()};
  temp_prefix tmp;
  tmp.keep = o.keep_temp;
  tmp.contents = "haproxy.cfg (the rewritten copy), logs/";
  if (!tmp.create("haproxy")) return error{"cannot create a temp directory in /tmp"};
  auto srv = start_embedded_mock();
  if (!srv) return error{srv.message()};
  haproxy::haproxy_config target(*binary, o.conf, read_file(o.conf), tmp.path, srv.value()->port());
  return start_and_test(
      o, target, [](const auto &flat) { return flat.listeners; }, *srv.value());
}

int haproxy_command(const cli_options &o) {
  return reported(o, haproxy_run(o));
}

// streamcheck caddy FILE: the user's Caddyfile (or JSON config), adapted by Caddy, in front of
// the embedded mock, the suite on every server that proxies. FILE is only read.
result<run_report> caddy_run(cli_options o) {
  auto binary = managed_binary(o, "caddy", "caddy");
  if (!binary) return error{binary.message()};
  temp_prefix tmp;
  tmp.keep = o.keep_temp;
  tmp.contents = "caddy.json (the rewritten adapted config), logs/, data/ (Caddy's storage)";
  if (!tmp.create("caddy")) return error{"cannot create a temp directory in /tmp"};
  auto adapted = caddy::load(*binary, o.conf, tmp.path);
  if (!adapted) return error{adapted.message()};
  auto srv = start_embedded_mock();
  if (!srv) return error{srv.message()};
  caddy::caddy_config target(*binary, o.conf, std::move(*adapted), tmp.path, srv.value()->port());
  return start_and_test(
      o, target, [](const auto &flat) { return flat.sites; }, *srv.value());
}

int caddy_command(const cli_options &o) {
  return reported(o, caddy_run(o));
}

// streamcheck lighttpd CONF: the user's lighttpd config, as lighttpd reads it, in front of the
// embedded mock, the suite on every listener. CONF is only read.
result<run_report> lighttpd_run(cli_options o) {
  auto binary = managed_binary(o, "lighttpd", "lighttpd");
  if (!binary) return error{binary.message()};
  temp_prefix tmp;
  tmp.keep = o.keep_temp;
  tmp.contents = "lighttpd.conf (the rewritten copy), logs/";
  if (!tmp.create("lighttpd")) return error{"cannot create a temp directory in /tmp"};
  auto normalized = lighttpd::load(*binary, o.conf, tmp.path);
  if (!normalized) return error{normalized.message()};
  auto srv = start_embedded_mock();
  if (!srv) return error{srv.message()};
  lighttpd::lighttpd_config target(*binary, o.conf, std::move(*normalized), tmp.path,
                                   srv.value()->port());
  return start_and_test(
      o, target, [](const auto &flat) { return flat.listeners; }, *srv.value());
}

int lighttpd_command(const cli_options &o) {
  return reported(o, lighttpd_run(o));
}

bool listens_somewhere(const std::vector<std::string> &argv) {
  return std::any_of(argv.begin(), argv.end(), [](const auto &a) {
    return a.find("{listen}") != std::string::npos || a.find("{port}") != std::string::npos;
  });
}

// One compare target's run, as its own command would do it (without writing reports).
result<run_report> compare_run(const cli_options &o, const compare_target &t) {
  cli_options sub = o;
  sub.command = t.command;
  sub.conf = t.file;
  sub.exec_argv = t.argv;
  sub.run.target_label.clear();
  if (t.command == "nginx") {
    auto run = run_nginx_gate(sub, true);
    if (!run) return error{run.message()};
    return std::move(run->report);
  }
  if (t.command == "haproxy") return haproxy_run(sub);
  if (t.command == "caddy") return caddy_run(sub);
  if (t.command == "lighttpd") return lighttpd_run(sub);
  if (!listens_somewhere(t.argv))
    return error{"the command must say where to listen with {listen} or {port}"};
  return exec_run(sub);
}

// streamcheck compare TARGET...: DESIGN §1 job 2.
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
  for (const auto &r : o.reports)
    if (r.format != "console" && r.format != "markdown" && r.format != "json")
      return usage_error("compare writes console, markdown or json reports, not " + r.format);
  std::vector<compare_column> columns;
  for (const auto &t : targets) {
    std::fprintf(stderr, "streamcheck: compare: %s\n", t.spec.c_str());
    auto r = compare_run(o, t);
    if (!r) std::fprintf(stderr, "streamcheck: %s: %s\n", t.spec.c_str(), r.message().c_str());
    columns.push_back({t.label, r ? std::optional<run_report>(std::move(*r)) : std::nullopt,
                       r ? "" : r.message()});
  }
  bool written = true;
  for (const auto &t : o.reports) {
    const std::string text = t.format == "json"       ? compare_json(columns).dump(2) + "\n"
                             : t.format == "markdown" ? compare_markdown(columns)
                                                      : compare_console(columns, o.color);
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

} // namespace

int run_cli(int argc, char **argv) {
  if (argc == 2 && (std::string(argv[1]) == "help" || std::string(argv[1]) == "--help" ||
                    std::string(argv[1]) == "-h")) {
    std::fputs(usage_text().c_str(), stdout);
    return exit_ok;
  }
  if (const auto help = wants_command_help(argc, argv)) {
    const auto text = command_help(*help);
    if (!text) return usage_error("unknown command '" + *help + "'");
    std::fputs(text->c_str(), stdout);
    return exit_ok;
  }
  auto parsed = parse_command_line(argc, argv);
  if (!parsed) return usage_error(parsed.message());
  cli_options &o = *parsed;
  if (o.command != "list")
    if (auto problem = unwritable_report(o.reports)) return report_destination_error(*problem);
  if (o.fix && o.command != "nginx") return usage_error("--fix works with streamcheck nginx only");
  if (o.command == "list") return list_checks(o);
  if (o.command == "self-test") return self_test(o);
  if (o.command == "nginx") {
    if (o.conf.empty()) return usage_error("nginx needs the config file: streamcheck nginx CONF");
    std::error_code ec;
    if (o.fix && !o.fix_out.empty() &&
        std::filesystem::weakly_canonical(o.fix_out, ec) ==
            std::filesystem::weakly_canonical(o.conf, ec))
      return usage_error("--fix=OUT: OUT must not be the config itself");
    return nginx_command(o);
  }
  if (o.command == "haproxy" || o.command == "caddy" || o.command == "lighttpd") {
    if (o.conf.empty())
      return usage_error(o.command + " needs the config file: streamcheck " + o.command + " FILE");
    return o.command == "haproxy" ? haproxy_command(o)
           : o.command == "caddy" ? caddy_command(o)
                                  : lighttpd_command(o);
  }
  if (o.command == "compare") return compare_command(o);
  if (o.command == "exec") {
    if (o.exec_argv.empty())
      return usage_error("exec needs a command after --: streamcheck exec -- CMD {listen} ...");
    if (!listens_somewhere(o.exec_argv))
      return usage_error("exec: the command must say where to listen with {listen} or {port}");
    return exec_command(o);
  }
  if (o.command == "live") return live_command(o);
  if (o.command == "run") {
    if (o.run.proxy_url.empty() || o.run.mock_control.empty())
      return usage_error("run needs --proxy URL and --mock-control URL");
    return run_and_report(o);
  }
  return usage_error("unknown command '" + o.command + "'");
}

} // namespace streamcheck::harness
