#include "harness/managed/packaged.h"

#include "common/child_process.h"
#include "harness/nginx/launcher.h"
#include "harness/process.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace streamcheck::harness::managed {
result<std::string> find_packaged_binary(const std::string &name, const std::string &package,
                                         const std::string &explicit_path) {
  if (!explicit_path.empty()) {
    if (!find_program(explicit_path).empty()) return explicit_path;
    return error{explicit_path + ": not an executable"};
  }
  // Debian installs the daemons in /usr/sbin, which a user's PATH often lacks.
  for (const std::string &candidate : {name, "/usr/sbin/" + name, "/usr/bin/" + name})
    if (auto found = find_program(candidate); !found.empty()) return found;
  return error{name +
               " not found (not on PATH, not in /usr/sbin or /usr/bin): install the Debian "
               "package " +
               package + " (apt-get install " + package + "; scripts/setup.sh does)"};
}

std::string command_output(const std::vector<std::string> &argv, const std::string &log,
                           const std::vector<std::string> &extra_env,
                           const std::vector<std::string> &drop_env) {
  child_process c;
  if (!c.start({.argv = argv,
                .log = log,
                .extra_env = extra_env,
                .drop_env = drop_env,
                .truncate = true}))
    return "";
  return c.wait(std::chrono::seconds(10)) == 0 ? read_file(log) : "";
}

std::string word_after(const std::string &text, const std::string &key) {
  const auto at = text.find(key);
  if (at == std::string::npos) return "";
  const auto start = at + key.size();
  return text.substr(start, text.find_first_of(" \n", start) - start);
}

std::vector<std::string> split_lines(const std::string &text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

bool write_text_file(const std::string &path, const std::string &text) {
  std::ofstream f(path, std::ios::trunc);
  f << text;
  return static_cast<bool>(f);
}

result<bool> make_throwaway_pem(const std::string &pem, const std::string &logs_dir) {
  const std::string cert = pem + ".crt", key = pem + ".key";
  if (auto made = nginx::make_throwaway_certificate(cert, key, logs_dir + "/openssl.log",
                                                    std::chrono::seconds(30));
      !made)
    return made;
  if (!write_text_file(pem, read_file(cert) + read_file(key))) return error{"cannot write " + pem};
  return true;
}

packaged_proxy::packaged_proxy(std::string product, std::string binary, std::string user_file,
                               std::string prefix, unsigned short mock_port)
    : product_(std::move(product)), binary_(std::move(binary)), user_file_(std::move(user_file)),
      prefix_(std::move(prefix)), mock_port_(mock_port) {
  std::error_code ec;
  std::filesystem::create_directories(logs_dir(), ec);
}

result<bool> packaged_proxy::make_certificate_if(bool needed) const {
  return needed ? make_throwaway_pem(throwaway_pem(), logs_dir()) : result<bool>(true);
}

} // namespace streamcheck::harness::managed
