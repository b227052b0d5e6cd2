#include "harness/managed/proxy.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "harness/process.h"

namespace streamcheck::harness::managed {
std::string seconds_text(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(d.count()) / 1000);
  return text;
}

std::string proxy_kind::exited_at_startup(int, const std::string &said) const {
  return kind() + " exited at startup:\n" + said;
}

std::string proxy_kind::never_answered(unsigned short port, std::chrono::milliseconds deadline,
                                       const std::string &said) const {
  return kind() + " did not accept connections on 127.0.0.1:" + std::to_string(port) + " within " +
         seconds_text(deadline) + ":\n" + said;
}

bool says_address_in_use(const std::string &output) {
  std::string lower = output;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower.find("address already in use") != std::string::npos ||
         lower.find("eaddrinuse") != std::string::npos;
}

result<bool> managed_proxy::check_once(std::chrono::milliseconds deadline) {
  if (checked_) return true;
  if (auto ready = kind_.prepare(); !ready) return ready;
  checked_ = kind_.check_command().empty();
  if (checked_) return true;
  const std::string log = kind_.logs_dir() + "/" + kind_.kind() + "-check.log";
  child_process check;
  if (auto started =
          check.start({kind_.check_command(), log, kind_.extra_env(), kind_.env_to_drop()});
      !started)
    return error{started.message()};
  const int status = check.wait(deadline);
  if (status == -1)
    return error{kind_.check_name() + " did not finish within " + seconds_text(deadline)};
  if (status != 0) return error{kind_.explain_rejection(read_file(log))};
  checked_ = true;
  return true;
}

result<unsigned short> managed_proxy::start(const launch_options &o) {
  // Missing altogether (not merely not executable: the spawner says why): name its package.
  if (const std::string b = kind_.binary();
      find_program(b).empty() &&
      (b.find('/') == std::string::npos || access(b.c_str(), F_OK) != 0)) {
    const std::string package = kind_.debian_package();
    return error{"cannot run " + (b.empty() ? kind_.kind() : b) + ": No such file or directory" +
                 (package.empty() ? "" : " (Debian: apt-get install " + package + ")")};
  }
  const std::string out = kind_.output_log();
  for (int attempt = 1;; ++attempt) {
    auto ports = free_ports(std::max(kind_.ports_needed(), 1));
    if (!ports) return error{ports.message()};
    if (o.listen_port != 0) ports->front() = o.listen_port;
    auto port = kind_.write_config(*ports);
    if (!port) return port;
    if (auto checked = check_once(o.check_deadline); !checked) return error{checked.message()};
    if (auto started =
            child_.start({kind_.start_command(), out, kind_.extra_env(), kind_.env_to_drop()});
        !started)
      return error{started.message()};
    const auto ready = child_.wait_listening(*port, o.start_deadline);
    if (ready == child_process::readiness::listening) return *port;
    const std::string output = read_file(out) + read_file(kind_.error_log());
    const std::string said = last_lines(output, 5);
    if (ready == child_process::readiness::timed_out) {
      stop(std::chrono::seconds(5));
      return error{kind_.never_answered(*port, o.start_deadline, said)};
    }
    if (!kind_.address_in_use(output) || o.listen_port != 0 || attempt >= o.attempts)
      return error{kind_.exited_at_startup(child_.exit_status(), said)};
  }
}

int managed_proxy::stop(std::chrono::milliseconds deadline) {
  return child_.stop(deadline);
}

std::vector<std::string> managed_proxy::error_log_excerpt(std::size_t max) const {
  std::vector<std::string> lines;
  std::ifstream f(kind_.error_log());
  for (std::string l; std::getline(f, l);)
    if (kind_.relevant_log_line(l)) lines.push_back(l);
  if (lines.size() > max) lines.erase(lines.begin(), lines.end() - static_cast<long>(max));
  return lines;
}

} // namespace streamcheck::harness::managed
