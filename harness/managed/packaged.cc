#include "harness/managed/packaged.h"

#include <cstdlib>
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

} // namespace streamcheck::harness::managed
