// `streamcheck exec -- CMD`: any proxy a command line starts (streamcheck-proxy, Caddy, HAProxy,
// socat...), as a kind for the managed launcher. The command says where to listen and where the
// upstream is through placeholders; there is no config to write or check.
#pragma once
#include <string>
#include <vector>

#include "harness/managed/proxy.h"

namespace streamcheck::harness::managed {

// {listen}, {port}, {upstream}, {upstream_port} in every argument.
std::vector<std::string> fill_placeholders(std::vector<std::string> argv, unsigned short port,
                                           unsigned short upstream_port);

class command_target : public proxy_kind {
public:
  // argv with placeholders; its output goes to dir/output.log.
  command_target(std::vector<std::string> argv, unsigned short upstream_port, std::string dir)
      : argv_(std::move(argv)), upstream_port_(upstream_port), dir_(std::move(dir)) {}

  std::string kind() const override { return argv_.front(); }
  std::string version() const override { return ""; }
  std::string binary() const override { return argv_.front(); }
  int ports_needed() const override { return 1; }
  result<unsigned short> write_config(const std::vector<unsigned short> &ports) override {
    port_ = ports.front();
    return port_;
  }
  std::vector<std::string> check_command() const override { return {}; }
  std::string check_name() const override { return ""; }
  std::string explain_rejection(const std::string &output) const override { return output; }
  std::vector<std::string> start_command() const override {
    return fill_placeholders(argv_, port_, upstream_port_);
  }
  std::string exited_at_startup(int status, const std::string &said) const override;
  std::string never_answered(unsigned short port, std::chrono::milliseconds deadline,
                             const std::string &said) const override;
  std::string output_log() const override { return dir_ + "/output.log"; }
  std::string error_log() const override { return ""; } // all it says is in its output
  std::string pid_file() const override { return ""; }
  std::string logs_dir() const override { return dir_; }
  bool relevant_log_line(const std::string &) const override { return true; }

private:
  std::vector<std::string> argv_;
  unsigned short upstream_port_;
  std::string dir_;
  unsigned short port_ = 0;
};

} // namespace streamcheck::harness::managed
