// Apache httpd for the managed launcher (harness/managed/proxy.h): the user's config read with
// its includes (config.h), rewritten into the temp prefix for each attempt's ports, `apache2 -t`
// once with "line N of" mapped back to the user's file:line, then `apache2 -DFOREGROUND`. The
// APACHE_* variables Debian's /etc/apache2/envvars sets (run, lock, log directories, pid file)
// point into the prefix, so a Debian apache2.conf that uses them runs as it is.
#pragma once
#include <string>

#include "harness/apache/config.h"
#include "harness/managed/packaged.h"

namespace streamcheck::harness::apache {

// "2.4.62" from `apache2 -v` ("Server version: Apache/2.4.62 (Debian)"); "" when it says nothing
// usable.
std::string parse_version(const std::string &v_output);

class apache_config : public managed::packaged_proxy {
public:
  apache_config(std::string binary, std::string user_file, flat_config flat, std::string prefix,
                unsigned short mock_port);

  std::string kind() const override { return "apache"; }
  int ports_needed() const override;
  result<unsigned short> write_config(const std::vector<unsigned short> &ports) override;
  // The run/, lock/ directories and a throwaway certificate when one is needed.
  result<bool> prepare() override;
  std::vector<std::string> check_command() const override;
  std::string check_name() const override { return "apache2 -t"; }
  std::string explain_rejection(const std::string &check_output) const override;
  std::vector<std::string> start_command() const override;
  std::vector<std::string> extra_env() const override;
  std::string debian_package() const override { return "apache2"; }
  std::string error_log() const override { return logs_dir() + "/error.log"; }
  std::string pid_file() const override { return prefix_ + "/apache2.pid"; }
  bool relevant_log_line(const std::string &line) const override;
  std::vector<managed::listener> listeners() const override {
    return managed::listeners_of(flat_.listeners);
  }
  std::vector<std::string> notes() const override { return flat_.notes; }

  const rewritten &flat() const { return flat_; }
  std::string config_path() const { return prefix_ + "/apache2.conf"; }

private:
  flat_config config_;
  rewritten flat_;
};

} // namespace streamcheck::harness::apache
