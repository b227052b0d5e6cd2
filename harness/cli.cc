#include "harness/cli.h"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include "harness/catalog_listing.h"
#include "harness/cli_options.h"
#include "harness/commands.h"
#include "harness/compare_command.h"
#include "harness/live/command.h"
#include "harness/managed/session.h"
#include "harness/managed/targets.h"
#include "harness/nginx/gate.h"
#include "harness/runner.h"

namespace streamcheck::harness {
namespace {

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

// The suite against the embedded mock itself, no proxy between: what the harness measures when
// nothing is in the way.
int self_test(cli_options o) {
  auto srv = managed::start_embedded_mock();
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
    return nginx::nginx_command(o);
  }
  if (managed::find_packaged_kind(o.command)) {
    if (o.conf.empty())
      return usage_error(o.command + " needs the config file: streamcheck " + o.command + " FILE");
    return reported(o, managed::config_run(o));
  }
  if (o.command == "compare") return compare_command(o);
  if (o.command == "exec") {
    if (o.exec_argv.empty())
      return usage_error("exec needs a command after --: streamcheck exec -- CMD {listen} ...");
    if (!managed::listens_somewhere(o.exec_argv))
      return usage_error("exec: the command must say where to listen with {listen} or {port}");
    return reported(o, managed::exec_run(o));
  }
  if (o.command == "live") return live::live_command(o);
  if (o.command == "run") {
    if (o.run.proxy_url.empty() || o.run.mock_control.empty())
      return usage_error("run needs --proxy URL and --mock-control URL");
    return run_and_report(o);
  }
  return usage_error("unknown command '" + o.command + "'");
}

} // namespace streamcheck::harness
