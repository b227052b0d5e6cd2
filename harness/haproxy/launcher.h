// HAProxy for the managed launcher (harness/managed/proxy.h): the user's file rewritten
// (config.h) into the temp prefix for each attempt's ports, `haproxy -c` once with its messages
// mapped back to the user's file, then `haproxy -db` in the foreground.
#pragma once
#include <chrono>
#include <string>

#include "harness/haproxy/config.h"
#include "harness/managed/packaged.h"

namespace streamcheck::harness::haproxy {

// "2.6.12-1+deb12u4" from `haproxy -v`'s first line; "" when it says nothing usable.
std::string parse_version(const std::string &v_output);

class haproxy_config : public managed::packaged_proxy {
public:
  // user_file: the path as the user gave it (messages), text: its contents, prefix: the temp
  // directory (must exist), mock_port: where every server goes.
  haproxy_config(std::string binary, std::string user_file, std::string text, std::string prefix,
                 unsigned short mock_port);

  std::string kind() const override { return "haproxy"; }
  int ports_needed() const override;
  result<unsigned short> write_config(const std::vector<unsigned short> &ports) override;
  // A throwaway certificate (PEM: certificate and key) when a bind's crt is missing here.
  result<bool> prepare() override;
  std::vector<std::string> check_command() const override;
  std::string check_name() const override { return "haproxy -c"; }
  std::string explain_rejection(const std::string &check_output) const override;
  std::vector<std::string> start_command() const override;
  // HAProxy logs to syslog; its own alerts go to stderr (packaged_proxy::error_log).
  bool relevant_log_line(const std::string &line) const override;

  std::vector<managed::listener> listeners() const override {
    return managed::listeners_of(flat_.listeners);
  }
  std::vector<std::string> notes() const override { return flat_.notes; }

  const rewritten &flat() const { return flat_; }
  std::string config_path() const { return prefix_ + "/haproxy.cfg"; }

private:
  std::string text_;
  rewritten flat_;
};

} // namespace streamcheck::harness::haproxy
