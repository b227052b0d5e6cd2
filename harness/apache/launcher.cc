#include "harness/apache/launcher.h"

#include <filesystem>

#include "harness/process.h"

namespace streamcheck::harness::apache {

std::string parse_version(const std::string &v_output) {
  return managed::word_after(v_output, "Apache/");
}

apache_config::apache_config(std::string binary, std::string user_file, flat_config flat,
                             std::string prefix, unsigned short mock_port)
    : packaged_proxy("Apache", std::move(binary), std::move(user_file), std::move(prefix),
                     mock_port),
      config_(std::move(flat)) {
  version_ = parse_version(
      managed::command_output({binary_, "-v"}, logs_dir() + "/apache2-v.log", extra_env()));
}

int apache_config::ports_needed() const {
  return static_cast<int>(find_listeners(config_).size());
}

result<unsigned short> apache_config::write_config(const std::vector<unsigned short> &ports) {
  rewrite_options o;
  o.ports = ports;
  o.mock_port = mock_port_;
  o.prefix = prefix_;
  // One PEM with the key too: Apache reads the key from the certificate file when no
  // SSLCertificateKeyFile names one.
  o.certificate = o.key = throwaway_pem();
  auto r = rewrite(config_, o);
  if (!r) return error{user_file_ + ": " + r.message()};
  flat_ = std::move(*r);
  if (!managed::write_text_file(config_path(), flat_.text))
    return error{"cannot write " + config_path()};
  return flat_.listeners.front().test_port;
}

result<bool> apache_config::prepare() {
  std::error_code ec;
  for (const char *dir : {"/run", "/lock"})
    std::filesystem::create_directories(prefix_ + dir, ec);
  return make_certificate_if(flat_.throwaway_certificate);
}

std::vector<std::string> apache_config::check_command() const {
  return {binary_, "-t", "-d", config_.server_root, "-f", config_path()};
}

std::string apache_config::explain_rejection(const std::string &check_output) const {
  return "apache2 -t rejected " + user_file_ + " (" + version() + "):\n" +
         map_back(last_lines(check_output, 5), config_path(), flat_.origins, user_file_);
}

std::vector<std::string> apache_config::start_command() const {
  return {binary_, "-DFOREGROUND", "-d", config_.server_root, "-f", config_path()};
}

// What Debian's /etc/apache2/envvars sets, into the prefix (apache2 reads ${APACHE_RUN_DIR}...
// in the config; unset, a Debian apache2.conf does not even parse).
std::vector<std::string> apache_config::extra_env() const {
  return {"APACHE_RUN_USER=www-data",
          "APACHE_RUN_GROUP=www-data",
          "APACHE_PID_FILE=" + prefix_ + "/apache2.pid",
          "APACHE_RUN_DIR=" + prefix_ + "/run",
          "APACHE_LOCK_DIR=" + prefix_ + "/lock",
          "APACHE_LOG_DIR=" + prefix_ + "/logs",
          "LANG=C"};
}

bool apache_config::relevant_log_line(const std::string &line) const {
  for (const char *level : {":emerg]", ":alert]", ":crit]", ":error]", ":warn]"})
    if (line.find(level) != std::string::npos) return true;
  return false;
}

} // namespace streamcheck::harness::apache
