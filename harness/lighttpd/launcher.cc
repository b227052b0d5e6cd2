#include "harness/lighttpd/launcher.h"

#include <filesystem>
#include <fstream>

#include "common/child_process.h"
#include "harness/managed/packaged.h"
#include "harness/process.h"

namespace streamcheck::harness::lighttpd {
std::string parse_version(const std::string &v_output) {
  return managed::word_after(v_output, "lighttpd/");
}

result<std::string> load(const std::string &binary, const std::string &user_file,
                         const std::string &prefix) {
  std::error_code ec;
  std::filesystem::create_directories(prefix + "/logs", ec);
  const std::string out = prefix + "/logs/printed.conf", err = prefix + "/logs/print.log";
  child_process print;
  if (auto started = print.start({.argv = {binary, "-p", "-f", user_file},
                                  .log = out,
                                  .stderr_log = err,
                                  .truncate = true});
      !started)
    return error{started.message()};
  const int status = print.wait(std::chrono::seconds(30));
  if (status != 0)
    return error{"lighttpd rejected " + user_file + ": " +
                 (status == -1 ? "lighttpd -p did not finish within 30 s"
                               : last_lines(read_file(err) + read_file(out), 3))};
  return from_printed(read_file(out));
}

lighttpd_config::lighttpd_config(std::string binary, std::string user_file, std::string normalized,
                                 std::string prefix, unsigned short mock_port)
    : packaged_proxy("lighttpd", std::move(binary), std::move(user_file), std::move(prefix),
                     mock_port),
      normalized_(std::move(normalized)) {
  version_ =
      parse_version(managed::command_output({binary_, "-v"}, logs_dir() + "/lighttpd-v.log"));
}

int lighttpd_config::ports_needed() const {
  return static_cast<int>(find_listeners(normalized_).size());
}

result<unsigned short> lighttpd_config::write_config(const std::vector<unsigned short> &ports) {
  rewrite_options o;
  o.ports = ports;
  o.mock_port = mock_port_;
  o.prefix = prefix_;
  o.certificate = throwaway_pem();
  auto r = rewrite(normalized_, o);
  if (!r) return error{user_file_ + ": " + r.message()};
  flat_ = std::move(*r);
  if (!managed::write_text_file(config_path(), flat_.text))
    return error{"cannot write " + config_path()};
  return flat_.listeners.front().port;
}

result<bool> lighttpd_config::prepare() {
  return make_certificate_if(flat_.throwaway_certificate);
}

std::vector<std::string> lighttpd_config::check_command() const {
  return {binary_, "-tt", "-f", config_path()};
}

std::string lighttpd_config::explain_rejection(const std::string &check_output) const {
  return "lighttpd -tt rejected " + user_file_ + " (" + version() +
         ", as lighttpd -p read it, in " + config_path() + "): " + last_lines(check_output, 3);
}

std::vector<std::string> lighttpd_config::start_command() const {
  return {binary_, "-D", "-f", config_path()};
}

bool lighttpd_config::relevant_log_line(const std::string &line) const {
  return line.find("error") != std::string::npos || line.find("WARNING") != std::string::npos ||
         line.find("failed") != std::string::npos;
}

} // namespace streamcheck::harness::lighttpd
