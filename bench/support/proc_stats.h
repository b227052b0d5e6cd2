// What the benches read from /proc about the processes they measure (a relay's whole tree, the
// mock child) and about the machine: resident memory, CPU time, how busy the other cores were.
#pragma once
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace streamcheck::bench {

// A process and its descendants, parents first (/proc/PID/task/*/children).
std::vector<pid_t> children_of(pid_t pid);
std::vector<pid_t> process_tree(pid_t root);

// The value of a "Key:   123 kB" line, or 0 (a process that just exited counts as nothing).
long kib_field(const std::string &path, std::string_view key);
long rss_kib(pid_t pid); // VmRSS

struct tree_memory {
  long rss_kib = 0;
  long pss_kib = 0; // smaps_rollup: shared pages divided among the processes sharing them
  int processes = 0;
};
tree_memory memory_of_tree(pid_t root);

// Fields first..last (1-based, as in proc(5)) of a /proc/PID/stat file, summed, in seconds: 14..17
// are utime, stime, and cutime, cstime (the children it has reaped). 0 for a process that is gone.
double stat_ticks_seconds(const std::string &stat_path, int first, int last);
// Own CPU plus that of the reaped children, in seconds.
double cpu_seconds(const std::string &stat_path);
// utime + stime of a running process, in seconds.
double own_cpu_seconds(pid_t pid);
// The CPU time of a process tree, as precisely as the kernel keeps it: running processes by their
// threads' scheduler run time (ns; utime/stime are sampled per 10 ms tick, far too coarse for a
// few dozen events), children already reaped by their parent's cutime + cstime, in ticks.
double tree_cpu_seconds(pid_t root);

// The machine's busy and total CPU time so far (all cores), in seconds: whether something else
// was using the cores during the run.
struct machine_cpu {
  double busy_s = 0, total_s = 0;
};
machine_cpu read_machine_cpu();

// The first three fields of /proc/loadavg: the figures are only as good as the CPU the measured
// processes got, and the cores may be shared.
std::string loadavg();

} // namespace streamcheck::bench
