// lighttpd for the managed launcher (harness/managed/proxy.h): the user's config read by
// lighttpd itself (`lighttpd -p`: its syntax errors name the user's file:line), rewritten
// (config.h) into the temp prefix for each attempt's ports, `lighttpd -tt` once (modules
// loaded), then `lighttpd -D` in the foreground, logging to stderr.
#pragma once
#include <string>

#include "harness/lighttpd/config.h"
#include "harness/managed/proxy.h"

namespace streamcheck::harness::lighttpd {

// "1.4.69" from `lighttpd -v`; "" when it says nothing usable.
std::string parse_version(const std::string &v_output);

// The user's config as lighttpd reads it (`lighttpd -p -f FILE`), ready for rewrite().
result<std::string> load(const std::string &binary, const std::string &user_file,
                         const std::string &prefix);

class lighttpd_config : public managed::proxy_kind {
public:
  lighttpd_config(std::string binary, std::string user_file, std::string normalized,
                  std::string prefix, unsigned short mock_port);

  std::string kind() const override { return "lighttpd"; }
  std::string version() const override { return version_.empty() ? "" : "lighttpd " + version_; }
  std::string binary() const override { return binary_; }
  int ports_needed() const override;
  result<unsigned short> write_config(const std::vector<unsigned short> &ports) override;
  result<bool> prepare() override;
  std::vector<std::string> check_command() const override;
  std::string check_name() const override { return "lighttpd -tt"; }
  std::string explain_rejection(const std::string &check_output) const override;
  std::vector<std::string> start_command() const override;
  std::string error_log() const override { return logs_dir() + "/stderr.log"; }
  std::string pid_file() const override { return prefix_ + "/lighttpd.pid"; }
  std::string logs_dir() const override { return prefix_ + "/logs"; }
  bool relevant_log_line(const std::string &line) const override;

  const rewritten &flat() const { return flat_; }
  std::string config_path() const { return prefix_ + "/lighttpd.conf"; }

private:
  std::string binary_, user_file_, normalized_, prefix_, version_;
  unsigned short mock_port_;
  rewritten flat_;
};

} // namespace streamcheck::harness::lighttpd
