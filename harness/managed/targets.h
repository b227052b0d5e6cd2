// The managed targets, by kind: what `streamcheck KIND FILE` and compare's KIND:FILE run. nginx
// has its gate (nginx/gate.h); the Debian-packaged proxies share one run, each kind one entry
// of a table (its binary, package, and how the user's file becomes a launcher kind), so a new
// packaged proxy is one entry and no edit in the CLI or compare; exec runs a command line.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "harness/cli_options.h"
#include "harness/managed/packaged.h"
#include "harness/report/report.h"

namespace streamcheck::harness::managed {

struct packaged_kind {
  std::string_view name;         // the command and compare's KIND: "haproxy"
  std::string_view binary;       // what runs: "haproxy"
  std::string_view package;      // the Debian package named when the binary is missing
  std::string_view prefix_holds; // what the temp prefix holds, for --keep-temp
  // The user's file read (adapted, printed, as the proxy reads it) and made into the
  // launcher's kind in `prefix`, every upstream pointed at the mock's port.
  result<std::unique_ptr<packaged_proxy>> (*load)(const std::string &binary,
                                                  const std::string &user_file,
                                                  const std::string &prefix,
                                                  unsigned short mock_port);
};

const std::vector<packaged_kind> &packaged_kinds();
const packaged_kind *find_packaged_kind(const std::string &name);

// The kinds whose target is a config file: nginx and every packaged kind.
bool takes_config(const std::string &kind);
// Those kinds, nginx first, then the packaged ones in table order ("haproxy", "caddy", ...).
std::vector<std::string> config_kinds();

// The suite against the user's config of a kind takes_config() accepts (o.command, o.conf): its
// proxy started in front of the embedded mock, every listener tested, reports not written.
// Setup problems come back as an error value (exit 2).
result<run_report> config_run(const cli_options &o);

// Whether a command line says where to listen ({listen} or {port}).
bool listens_somewhere(const std::vector<std::string> &argv);

// streamcheck exec -- CMD: any proxy a command line can start (streamcheck-proxy, Caddy,
// HAProxy, socat...), in front of the embedded mock.
result<run_report> exec_run(cli_options o);

} // namespace streamcheck::harness::managed
