#include "harness/managed/command.h"

#include <utility>

namespace streamcheck::harness::managed {

std::vector<std::string> fill_placeholders(std::vector<std::string> argv, unsigned short port,
                                           unsigned short upstream_port) {
  const std::pair<std::string, std::string> values[] = {
      {"{listen}", "127.0.0.1:" + std::to_string(port)},
      {"{port}", std::to_string(port)},
      {"{upstream}", "127.0.0.1:" + std::to_string(upstream_port)},
      {"{upstream_port}", std::to_string(upstream_port)}};
  for (auto &arg : argv)
    for (const auto &[key, value] : values)
      for (auto at = arg.find(key); at != std::string::npos; at = arg.find(key, at + value.size()))
        arg.replace(at, key.size(), value);
  return argv;
}

std::string command_target::exited_at_startup(int status, const std::string &said) const {
  return kind() + " exited with status " + std::to_string(status) + " before listening" +
         (said.empty() ? "" : ":\n" + said);
}

std::string command_target::never_answered(unsigned short port, std::chrono::milliseconds deadline,
                                           const std::string &said) const {
  return kind() + " did not listen on 127.0.0.1:" + std::to_string(port) + " within " +
         seconds_text(deadline) + " (does the command use {listen} or {port}?)" +
         (said.empty() ? "" : ":\n" + said);
}

} // namespace streamcheck::harness::managed
