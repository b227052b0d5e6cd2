// Every open stream costs a descriptor (two through a proxy): servers and benchmarks holding
// thousands of them raise the soft limit to the hard one at start.
#pragma once
#include <sys/resource.h>

namespace streamcheck {

// Returns the soft limit now in force.
inline rlim_t raise_fd_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0) getrlimit(RLIMIT_NOFILE, &lim);
  }
  return lim.rlim_cur;
}

} // namespace streamcheck
