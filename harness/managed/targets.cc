#include "harness/managed/targets.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>

#include "harness/apache/launcher.h"
#include "harness/caddy/launcher.h"
#include "harness/check.h"
#include "harness/cli.h"
#include "harness/commands.h"
#include "harness/haproxy/launcher.h"
#include "harness/lighttpd/launcher.h"
#include "harness/managed/command.h"
#include "harness/managed/proxy.h"
#include "harness/managed/session.h"
#include "harness/nginx/gate.h"
#include "harness/nginx/listeners.h"
#include "harness/process.h"
#include "harness/proxy_analysis.h"

namespace streamcheck::harness::managed {
namespace {

using kind_ptr = result<std::unique_ptr<packaged_proxy>>;

template <class Kind, class... Args> kind_ptr make_kind(Args &&...args) {
  return std::unique_ptr<packaged_proxy>(std::make_unique<Kind>(std::forward<Args>(args)...));
}

kind_ptr load_haproxy(const std::string &binary, const std::string &user_file,
                      const std::string &prefix, unsigned short mock_port) {
  return make_kind<haproxy::haproxy_config>(binary, user_file, read_file(user_file), prefix,
                                            mock_port);
}

kind_ptr load_caddy(const std::string &binary, const std::string &user_file,
                    const std::string &prefix, unsigned short mock_port) {
  auto adapted = caddy::load(binary, user_file, prefix);
  if (!adapted) return error{adapted.message()};
  return make_kind<caddy::caddy_config>(binary, user_file, std::move(*adapted), prefix, mock_port);
}

kind_ptr load_lighttpd(const std::string &binary, const std::string &user_file,
                       const std::string &prefix, unsigned short mock_port) {
  auto normalized = lighttpd::load(binary, user_file, prefix);
  if (!normalized) return error{normalized.message()};
  return make_kind<lighttpd::lighttpd_config>(binary, user_file, std::move(*normalized), prefix,
                                              mock_port);
}

kind_ptr load_apache(const std::string &binary, const std::string &user_file,
                     const std::string &prefix, unsigned short mock_port) {
  auto config = apache::load(user_file);
  if (!config) return error{config.message()};
  apache::wrap_fragment(*config);
  return make_kind<apache::apache_config>(binary, user_file, std::move(*config), prefix, mock_port);
}

// A listener that routes by Host to the upstream gets the suite's requests under that name
// (unless --host says otherwise), upstream.host-accepted's too unless --public-host is given.
void route_by_host(cli_options &o, const run_options &given, const listener &l) {
  o.run.host = given.host;
  o.run.public_host = given.public_host;
  o.run.notes = given.notes;
  if (!given.host.empty() || l.host.empty()) return;
  o.run.host = l.host;
  if (!o.public_host_given) o.run.public_host = l.host;
  o.run.notes.push_back(l.host_note);
  std::fprintf(stderr, "streamcheck: note: %s\n", l.host_note.c_str());
}

// The suite on every listener of a started packaged proxy, merged as nginx's listeners are
// (each check's worst verdict), then the proxy stopped.
result<run_report> run_on_listeners(cli_options &o, packaged_proxy &kind, managed_proxy &proc,
                                    const mock::server &srv) {
  using std::chrono::seconds;
  for (const auto &n : kind.notes())
    std::fprintf(stderr, "streamcheck: note: %s\n", n.c_str());
  if (o.run.proxy_kind.empty()) {
    o.run.proxy_kind = kind.kind();
    o.run.proxy_kind_source = "managed " + kind.kind() + " target";
  }
  o.run.mock_control = "http://127.0.0.1:" + std::to_string(srv.control_port());
  const std::vector<listener> listeners = kind.listeners();
  std::vector<nginx::listener_run> runs;
  const run_options given = o.run;
  for (const auto &l : listeners) {
    std::fprintf(stderr, "streamcheck: %s listening on %s (%s)\n", kind.version().c_str(),
                 l.url.c_str(), l.label.c_str());
    o.run.proxy_url = l.url;
    route_by_host(o, given, l);
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
  // The user's own lines that explain the failing checks, as nginx's analysis quotes them.
  if (const profile *p = find_profile(o.run.profile))
    annotate_proxy_config(merged, kind.kind(), read_file(o.conf), o.conf, p->silence_ms);
  run_after_suite(o.after_suite, listeners.front().url);
  proc.stop(seconds(5));
  if (merged.exit_code() != exit_ok)
    for (const auto &line : proc.error_log_excerpt())
      std::fprintf(stderr, "  %s: %s\n", kind.kind().c_str(), line.c_str());
  return merged;
}

// streamcheck haproxy|caddy|lighttpd FILE: the user's file (only read) rewritten into a private
// prefix in front of the embedded mock, the suite on every listener.
result<run_report> packaged_run(const packaged_kind &k, cli_options o) {
  // Checked before anything starts: the binary (its Debian package named when it is missing),
  // then the user's file.
  auto binary = find_packaged_binary(std::string(k.binary), std::string(k.package));
  if (!binary) return error{binary.message()};
  std::error_code ec;
  if (!std::filesystem::is_regular_file(o.conf, ec)) return error{o.conf + ": no such file"};
  temp_prefix tmp;
  tmp.keep = o.keep_temp;
  tmp.contents = std::string(k.prefix_holds);
  if (!tmp.create(std::string(k.name))) return error{"cannot create a temp directory in /tmp"};
  auto srv = start_embedded_mock();
  if (!srv) return error{srv.message()};
  auto target = k.load(*binary, o.conf, tmp.path, srv.value()->port());
  if (!target) return error{target.message()};
  managed_proxy proc(**target);
  launch_options launch;
  launch.listen_port = o.listen_port;
  if (auto started = proc.start(launch); !started) return error{started.message()};
  return run_on_listeners(o, **target, proc, *srv.value());
}

} // namespace

const std::vector<packaged_kind> &packaged_kinds() {
  static const std::vector<packaged_kind> kinds = {
      {"haproxy", "haproxy", "haproxy", "haproxy.cfg (the rewritten copy), logs/", load_haproxy},
      {"caddy", "caddy", "caddy",
       "caddy.json (the rewritten adapted config), logs/, data/ (Caddy's storage)", load_caddy},
      {"lighttpd", "lighttpd", "lighttpd", "lighttpd.conf (the rewritten copy), logs/",
       load_lighttpd},
      {"apache", "apache2", "apache2",
       "apache2.conf (the flattened, rewritten copy), logs/, run/, lock/", load_apache},
  };
  return kinds;
}

const packaged_kind *find_packaged_kind(const std::string &name) {
  for (const auto &k : packaged_kinds())
    if (k.name == name) return &k;
  return nullptr;
}

bool takes_config(const std::string &kind) {
  return kind == "nginx" || find_packaged_kind(kind) != nullptr;
}

std::vector<std::string> config_kinds() {
  std::vector<std::string> kinds = {"nginx"};
  for (const auto &k : packaged_kinds())
    kinds.emplace_back(k.name);
  return kinds;
}

result<run_report> config_run(const cli_options &o) {
  if (const packaged_kind *k = find_packaged_kind(o.command)) return packaged_run(*k, o);
  auto run = nginx::run_nginx_gate(o, true);
  if (!run) return error{run.message()};
  return std::move(run->report);
}

bool listens_somewhere(const std::vector<std::string> &argv) {
  return std::any_of(argv.begin(), argv.end(), [](const auto &a) {
    return a.find("{listen}") != std::string::npos || a.find("{port}") != std::string::npos;
  });
}

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
  command_target target(o.exec_argv, srv.value()->port(), tmp.path);
  managed_proxy child(target);
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

} // namespace streamcheck::harness::managed
