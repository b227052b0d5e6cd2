#include "harness/nginx/gate.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <unistd.h>

#include "harness/commands.h"
#include "harness/managed/proxy.h"
#include "harness/managed/session.h"
#include "harness/nginx/config.h"
#include "harness/nginx/fix.h"
#include "harness/nginx/launcher.h"
#include "harness/nginx/listeners.h"
#include "harness/nginx/locations.h"
#include "harness/nginx/rewrite.h"

namespace streamcheck::harness::nginx {
namespace {

using managed::run_after_suite;
using managed::start_embedded_mock;
using managed::temp_prefix;

// One suite run per listener of the server under test (TLS first), merged: the worst verdict
// of each check, naming the listener where they differ.
result<run_report> run_listeners(cli_options &o, const rewritten &flat,
                                 const std::string &mock_control) {
  std::vector<listener_run> runs;
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
    // A browser speaks HTTP/1.1 to a cleartext listener, which nginx's h2-only port refuses.
    if (!report && l.h2c && o.run.http != "h2c")
      return error{label + ": " + report.message() +
                   "\n  a cleartext `listen ... http2` speaks only HTTP/2 with prior knowledge "
                   "(nginx before 1.25.1), which no browser uses: add ssl for h2 by ALPN, drop "
                   "http2, or test it as an h2c client would with --http h2c"};
    if (!report) return error{label + ": " + report.message()};
    const bool took_h2 = o.run.http == "auto" && l.tls && report->protocol.rfind("HTTP/2", 0) == 0;
    runs.push_back({l.label + (took_h2 ? " over HTTP/2" : ""), std::move(*report)});
    labels += (labels.empty() ? "" : "; ") + label;
    // Browsers take h2 on this listener, but Node's fetch (ollama-js, openai) and most scripts
    // speak HTTP/1.1 to it, and nginx buffers differently on each (proxy_buffering on holds
    // tokens over TLS HTTP/1.1, not over h2): both are tested, the worst verdict shown.
    if (took_h2) {
      const std::string mode = o.run.http;
      o.run.http = "1.1";
      o.run.target_label = target + label + " over HTTP/1.1";
      auto h1 = run_with_progress(o);
      o.run.http = mode;
      if (!h1) return error{label + " over HTTP/1.1: " + h1.message()};
      runs.push_back({l.label + " over HTTP/1.1", std::move(*h1)});
    }
  }
  if (runs.size() == 1) return std::move(runs.front().report);
  std::fprintf(stderr, "streamcheck: %zu listeners tested%s; each check shows its worst verdict\n",
               flat.listeners.size(),
               runs.size() > flat.listeners.size() ? " (h2 ones over HTTP/2 and HTTP/1.1)" : "");
  run_report merged = merge_listener_runs(std::move(runs));
  merged.target = target + "listeners: " + labels;
  return merged;
}

// When nginx accepted the suite's first request and never answered it: the directives that make
// the upstream wait (a body announced that never comes, too few connections), if the analysis
// finds any, as text to append to the setup error.
std::string why_silent(const std::vector<directive> &top, analysis_options ao,
                       const route_map &routes) {
  const auto version = routes.find("/api/version");
  ao.path = version ? version->client_path : "/api/version";
  std::string out;
  for (const auto &f : analyse(top, ao))
    if (f.status == -1 && out.find(f.text) == std::string::npos)
      out += (out.empty() ? "" : "; ") + f.text;
  return out.empty() ? "" : "\n  in your config: " + out;
}

// Where the server under test serves each API route (its proxying locations, or --base-path) and
// what upstream it is meant for (or --upstream-profile), said in the report.
void read_routes_and_upstream(cli_options &o, const std::vector<directive> &top,
                              const source_loc &server) {
  const auto found = discover_routes(top, server, probed_paths());
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
  const auto guess = infer_upstream(found);
  o.run.upstream_profile = guess.profile;
  o.run.notes.push_back(guess.note + " (--upstream-profile to override)");
}

} // namespace

result<nginx_run> run_nginx_gate(cli_options o, bool after_suite) {
  using std::chrono::seconds;
  nginx_files files;
  files.binary = find_nginx(o.nginx_binary);
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
  const build_info build = query_build(files.binary, tmp.path + "/logs/nginx-V.log", seconds(10));

  load_options lo;
  lo.include_base = o.include_prefix;
  lo.include_root = o.include_root;
  lo.fallback_base = build.conf_dir;
  auto conf = load(o.conf, lo);
  if (!conf) return error{conf.message()};
  if (wrap_snippet(conf->top))
    std::fprintf(stderr,
                 "streamcheck: note: %s has no http { } block: tested as a site snippet "
                 "inside http { } with default events { }\n",
                 o.conf.c_str());

  auto srv = start_embedded_mock();
  if (!srv) return error{srv.message()};

  rewrite_options ro;
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
  flattened_config target(files, build, *conf, ro);
  target.on_note = [](const std::string &n) {
    std::fprintf(stderr, "streamcheck: note: %s\n", n.c_str());
  };
  managed::managed_proxy proc(target);
  managed::launch_options launch;
  launch.listen_port = o.listen_port;
  if (auto started = proc.start(launch); !started) return error{started.message()};
  const rewritten &flat = target.flat();
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
  analysis_options ao;
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
  const auto log_lines = relevant_log_lines(files.error_log(), 200);
  std::vector<std::string> paths;
  for (const auto &c : report->checks)
    if (!c.path.empty() && std::find(paths.begin(), paths.end(), c.path) == paths.end())
      paths.push_back(c.path);
  nginx_run run;
  for (const auto &path : paths) {
    ao.path = path;
    run.findings.push_back({path, analyse(conf->top, ao)});
    annotate(*report, run.findings.back().second, path, log_lines);
  }
  locate_unexplained(*report,
                     {flat.server_loc.file, flat.server_loc.line, "the server block under test"});
  note_rate_limits(*report);

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

int nginx_command(const cli_options &o) {
  auto run = run_nginx_gate(o, true);
  if (!run) return setup_error(o, run.message());
  const int code = write_reports(o, run->report);
  if (o.fix) fix_and_verify(o, *run);
  return code;
}

} // namespace streamcheck::harness::nginx
