#include "bench/support/proc_stats.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "harness/process.h"

namespace streamcheck::bench {

std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> out;
  std::error_code ec;
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  for (const auto &task : std::filesystem::directory_iterator(tasks, ec)) {
    std::ifstream in(task.path() / "children");
    for (pid_t child; in >> child;)
      out.push_back(child);
  }
  return out;
}

std::vector<pid_t> process_tree(pid_t root) {
  std::vector<pid_t> tree{root};
  for (std::size_t i = 0; i < tree.size(); ++i)
    for (pid_t child : children_of(tree[i]))
      tree.push_back(child);
  return tree;
}

long kib_field(const std::string &path, std::string_view key) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key, 0) == 0) return std::strtol(line.c_str() + key.size(), nullptr, 10);
  return 0;
}

tree_memory memory_of_tree(pid_t root) {
  tree_memory m;
  for (pid_t pid : process_tree(root)) {
    const std::string dir = "/proc/" + std::to_string(pid);
    m.rss_kib += kib_field(dir + "/status", "VmRSS:");
    m.pss_kib += kib_field(dir + "/smaps_rollup", "Pss:");
    ++m.processes;
  }
  return m;
}

double stat_ticks_seconds(const std::string &stat_path, int first, int last) {
  const std::string all = harness::read_file(stat_path);
  const auto after_name = all.rfind(')'); // the command name may contain spaces and parentheses
  if (after_name == std::string::npos) return 0;
  std::istringstream fields(all.substr(after_name + 1));
  std::string field;
  unsigned long long ticks = 0;
  for (int n = 3; n <= last && fields >> field; ++n) // the state is field 3
    if (n >= first) ticks += std::strtoull(field.c_str(), nullptr, 10);
  return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double cpu_seconds(const std::string &stat_path) {
  return stat_ticks_seconds(stat_path, 14, 17);
}

double tree_cpu_seconds(pid_t root) {
  double total = 0;
  for (pid_t pid : process_tree(root)) {
    const std::string dir = "/proc/" + std::to_string(pid);
    std::error_code ec;
    for (const auto &task : std::filesystem::directory_iterator(dir + "/task", ec)) {
      std::ifstream in(task.path() / "schedstat");
      unsigned long long run_ns = 0;
      if (in >> run_ns) total += static_cast<double>(run_ns) / 1e9;
    }
    total += stat_ticks_seconds(dir + "/stat", 16, 17);
  }
  return total;
}

machine_cpu read_machine_cpu() {
  std::ifstream in("/proc/stat");
  std::string label;
  unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                     steal = 0;
  in >> label >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  machine_cpu m;
  m.busy_s = static_cast<double>(user + nice + system + irq + softirq + steal) / tick;
  m.total_s = m.busy_s + static_cast<double>(idle + iowait) / tick;
  return m;
}

long rss_kib(pid_t pid) {
  return kib_field("/proc/" + std::to_string(pid) + "/status", "VmRSS:");
}

double own_cpu_seconds(pid_t pid) {
  return stat_ticks_seconds("/proc/" + std::to_string(pid) + "/stat", 14, 15);
}

std::string loadavg() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

} // namespace streamcheck::bench
