// nginx for the managed launcher (harness/managed/proxy.h): which binary, what its build says,
// how its config is checked, started and its messages explained. Nothing but loopback is touched.
#pragma once
#include <chrono>
#include <functional>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

#include "common/result.h"
#include "harness/managed/proxy.h"
#include "harness/nginx/config.h"
#include "harness/nginx/rewrite.h"
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

struct nginx_files {
  std::string binary;
  std::string prefix; // -p
  std::string conf;   // -c, inside the prefix
  std::string error_log() const { return prefix + "/logs/error.log"; }
};

// Replaces "<conf>:N" in nginx's messages with the user's file:line from the line map.
std::string map_back(const std::string &text, const std::string &flat_path,
                     const std::vector<source_loc> &line_map);

// nginx as the managed launcher runs it: `nginx -t` once, then in the foreground (daemon off)
// with -p PREFIX -e PREFIX/logs/error.log, NGINX= dropped from its environment (nginx reads it
// as a list of inherited listening sockets). The config comes from write_config.
class nginx_proxy : public managed::proxy_kind {
public:
  nginx_proxy(nginx_files files, build_info build)
      : files_(std::move(files)), build_(std::move(build)) {}

  std::string kind() const override { return "nginx"; }
  std::string version() const override;
  std::string binary() const override { return files_.binary; }
  std::vector<std::string> check_command() const override;
  std::string check_name() const override { return "nginx -t"; }
  std::string explain_rejection(const std::string &check_output) const override;
  std::vector<std::string> start_command() const override;
  std::vector<std::string> env_to_drop() const override { return {"NGINX="}; }
  std::string debian_package() const override { return "nginx-light"; }
  std::string error_log() const override { return files_.error_log(); }
  std::string pid_file() const override { return files_.prefix + "/nginx.pid"; }
  std::string logs_dir() const override { return files_.prefix + "/logs"; }
  bool relevant_log_line(const std::string &line) const override;

  const nginx_files &files() const { return files_; }
  const build_info &build() const { return build_; }

protected:
  // Writes `text` as the config; line_map (conf line -> the user's file:line) for messages.
  result<bool> write_text(const std::string &text, std::vector<source_loc> line_map);

private:
  nginx_files files_;
  build_info build_;
  std::vector<source_loc> line_map_;
};

// The user's config, flattened (config.h), rewritten to loopback for each attempt's ports
// (rewrite.h) and written into the prefix: what `streamcheck nginx` and the benches run.
class flattened_config : public nginx_proxy {
public:
  flattened_config(nginx_files files, build_info build, config conf, rewrite_options options)
      : nginx_proxy(std::move(files), std::move(build)), conf_(std::move(conf)),
        options_(std::move(options)) {}

  // One per listen of each server, and one that stays closed (rewrite_options::dead_port).
  int ports_needed() const override;
  result<unsigned short> write_config(const std::vector<unsigned short> &ports) override;
  // Before nginx -t: the rewrite's notes said (on_note), its directories made, the throwaway
  // certificate generated when the rewrite uses it.
  result<bool> prepare() override;

  const rewritten &flat() const { return flat_; }
  const config &user_config() const { return conf_; }
  std::function<void(const std::string &)> on_note; // each rewrite note, once

private:
  config conf_;
  rewrite_options options_;
  rewritten flat_;
};

// The error log's [error]/[crit]/[alert]/[emerg] lines, the last `max` of them.
std::vector<std::string> relevant_log_lines(const std::string &path, std::size_t max = 20);

} // namespace streamcheck::harness::nginx
