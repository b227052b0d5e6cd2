#include "harness/haproxy/launcher.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/child_process.h"
#include "harness/managed/packaged.h"
#include "harness/process.h"

namespace streamcheck::harness::haproxy {
std::string parse_version(const std::string &v_output) {
  return managed::word_after(v_output, "HAProxy version ");
}

haproxy_config::haproxy_config(std::string binary, std::string user_file, std::string text,
                               std::string prefix, unsigned short mock_port)
    : packaged_proxy("HAProxy", std::move(binary), std::move(user_file), std::move(prefix),
                     mock_port),
      text_(std::move(text)) {
  version_ = parse_version(managed::command_output({binary_, "-v"}, logs_dir() + "/haproxy-v.log"));
}

int haproxy_config::ports_needed() const {
  return static_cast<int>(find_binds(text_).size());
}

result<unsigned short> haproxy_config::write_config(const std::vector<unsigned short> &ports) {
  rewrite_options o;
  o.ports = ports;
  o.mock_port = mock_port_;
  o.prefix = prefix_;
  o.certificate = throwaway_pem();
  auto r = rewrite(text_, o);
  if (!r) return error{user_file_ + ": " + r.message()};
  flat_ = std::move(*r);
  if (!managed::write_text_file(config_path(), flat_.text))
    return error{"cannot write " + config_path()};
  return flat_.listeners.front().port;
}

result<bool> haproxy_config::prepare() {
  return make_certificate_if(flat_.throwaway_certificate);
}

std::vector<std::string> haproxy_config::check_command() const {
  return {binary_, "-c", "-f", config_path()};
}

std::string haproxy_config::explain_rejection(const std::string &check_output) const {
  std::string said;
  std::istringstream lines(check_output);
  for (std::string line; std::getline(lines, line);)
    if (relevant_log_line(line)) said += (said.empty() ? "" : "\n") + line;
  if (said.empty()) said = last_lines(check_output, 5);
  return "haproxy -c rejected " + user_file_ + " (" + version() + "):\n" +
         map_back(said, config_path(), user_file_);
}

std::vector<std::string> haproxy_config::start_command() const {
  return {binary_, "-db", "-f", config_path()};
}

bool haproxy_config::relevant_log_line(const std::string &line) const {
  return line.find("[ALERT]") != std::string::npos || line.find("[WARNING]") != std::string::npos;
}

} // namespace streamcheck::harness::haproxy
