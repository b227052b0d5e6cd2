// Runs nginx on a flattened config: `nginx -t`, start in the foreground (daemon off), wait until
// the port answers, stop by pid. Every wait has a deadline; nothing but loopback is touched.
#pragma once
#include <chrono>
#include <string>
#include <sys/types.h>
#include <vector>

#include "common/result.h"
#include "harness/nginx/config.h"
#include "harness/process.h"

namespace streamcheck::harness::nginx {

// --nginx PATH, else "nginx" on PATH, else /usr/sbin/nginx; "" when none is executable.
std::string find_nginx(const std::string &explicit_path);

// What `nginx -V` says about a binary: the version that runs the test, and the compiled-in
// prefix relative load_module paths resolve against (Debian: /usr/share/nginx).
struct build_info {
  std::string version;                     // "1.22.1"; "" when -V said nothing usable
  std::string flavour = "nginx";           // "openresty" when the binary is OpenResty's
  std::string prefix = "/usr/local/nginx"; // nginx's default when --prefix is not in -V
  std::string modules_path;
  std::string conf_dir; // --conf-path's directory (default prefix/conf)
};
build_info parse_build_info(const std::string &v_output);
// Runs `binary -V` (its output to log) within the deadline.
build_info query_build(const std::string &binary, const std::string &log,
                       std::chrono::milliseconds deadline);

// nginx -t's message with what nginx itself does not say: which nginx ran it and the way out
// (an "unknown directive" from a newer nginx or OpenResty, a module not installed here).
std::string explain_rejection(const std::string &message, const build_info &b,
                              const std::string &binary);

// A throwaway self-signed certificate (openssl, EC P-256) for certificates that exist only in
// production.
result<bool> make_throwaway_certificate(const std::string &cert, const std::string &key,
                                        const std::string &log, std::chrono::milliseconds deadline);

// nginx refuses "listen 127.0.0.1:0": the caller picks free_ports() (process.h), and when
// another process takes one first, start() reports "Address already in use" and it retries.
using harness::free_ports;
using harness::run_shell;

struct nginx_files {
  std::string binary;
  std::string prefix; // -p
  std::string conf;   // -c, inside the prefix
  std::string error_log() const { return prefix + "/logs/error.log"; }
};

// Replaces "<conf>:N" in nginx's messages with the user's file:line from the line map.
std::string map_back(const std::string &text, const std::string &flat_path,
                     const std::vector<source_loc> &line_map);

// nginx -t: an error value holds nginx's own message (mapped back) when the test fails.
result<bool> test_config(const nginx_files &f, const std::vector<source_loc> &line_map,
                         std::chrono::milliseconds deadline);

class nginx_process {
public:
  nginx_process() = default;
  nginx_process(const nginx_process &) = delete;
  nginx_process &operator=(const nginx_process &) = delete;

  // Starts nginx (own process group) and waits until 127.0.0.1:port accepts connections. On
  // failure the error holds nginx's stderr/error log; address_in_use says whether to retry.
  result<bool> start(const nginx_files &f, unsigned short port, std::chrono::milliseconds deadline,
                     bool &address_in_use);
  // SIGTERM (fast shutdown), then SIGKILL to its process group after the deadline.
  void stop(std::chrono::milliseconds deadline);
  pid_t pid() const { return child_.pid(); }

private:
  child_process child_;
};

// The error log's [error]/[crit]/[alert]/[emerg] lines, the last `max` of them.
std::vector<std::string> relevant_log_lines(const std::string &path, std::size_t max = 20);

} // namespace streamcheck::harness::nginx
