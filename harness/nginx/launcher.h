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
