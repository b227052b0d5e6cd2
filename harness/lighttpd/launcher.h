// lighttpd for the managed launcher (harness/managed/proxy.h): the user's config read by
// lighttpd itself (`lighttpd -p`: its syntax errors name the user's file:line), rewritten
// (config.h) into the temp prefix for each attempt's ports, `lighttpd -tt` once (modules
// loaded), then `lighttpd -D` in the foreground, logging to stderr.
#pragma once
#include <string>

#include "harness/lighttpd/config.h"
#include "harness/managed/packaged.h"

namespace streamcheck::harness::lighttpd {

// "1.4.69" from `lighttpd -v`; "" when it says nothing usable.
std::string parse_version(const std::string &v_output);

// The user's config as lighttpd reads it (`lighttpd -p -f FILE`), ready for rewrite().
result<std::string> load(const std::string &binary, const std::string &user_file,
                         const std::string &prefix);

class lighttpd_config : public managed::packaged_proxy {
public:
  lighttpd_config(std::string binary, std::string user_file, std::string normalized,
                  std::string prefix, unsigned short mock_port);

  std::string kind() const override { return "lighttpd"; }
  int ports_needed() const override;
  result<unsigned short> write_config(const std::vector<unsigned short> &ports) override;
  result<bool> prepare() override;
  std::vector<std::string> check_command() const override;
  std::string check_name() const override { return "lighttpd -tt"; }
  std::string explain_rejection(const std::string &check_output) const override;
  std::vector<std::string> start_command() const override;
  std::string pid_file() const override { return prefix_ + "/lighttpd.pid"; }
  bool relevant_log_line(const std::string &line) const override;

  std::vector<managed::listener> listeners() const override {
    return managed::listeners_of(flat_.listeners);
  }
  std::vector<std::string> notes() const override { return flat_.notes; }

  const rewritten &flat() const { return flat_; }
  std::string config_path() const { return prefix_ + "/lighttpd.conf"; }

private:
  std::string normalized_;
  rewritten flat_;
};

} // namespace streamcheck::harness::lighttpd
