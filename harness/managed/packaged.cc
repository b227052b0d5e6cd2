#include "harness/managed/packaged.h"

#include "common/child_process.h"
#include "harness/nginx/launcher.h"
#include "harness/process.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace streamcheck::harness::managed {
namespace {

bool executable(const std::string &path) {
  return access(path.c_str(), X_OK) == 0;
}

} // namespace

result<std::string> find_packaged_binary(const std::string &name, const std::string &package,
                                         const std::string &explicit_path) {
  if (!explicit_path.empty()) {
    if (executable(explicit_path)) return explicit_path;
    return error{explicit_path + ": not an executable"};
  }
  if (const char *path = std::getenv("PATH")) {
    std::istringstream dirs(path);
    for (std::string d; std::getline(dirs, d, ':');)
      if (!d.empty() && executable(d + "/" + name)) return d + "/" + name;
  }
  for (const char *dir : {"/usr/sbin/", "/usr/bin/"})
    if (executable(dir + name)) return dir + name;
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

} // namespace streamcheck::harness::managed
