// A server under test with several listeners (listen 80 and listen 443 ssl) is tested on each:
// one suite run per listener, merged into one report whose verdicts are the worst seen, each
// naming the listener it was seen on when the listeners disagree.
#pragma once
#include <string>
#include <vector>

#include "harness/report/report.h"

namespace streamcheck::harness::nginx {

struct listener_run {
  std::string label; // "listen 443 ssl (site.conf:4) at https://127.0.0.1:PORT"
  run_report report;
};

// runs[0]'s report when there is one run; otherwise each check's worst outcome (error, fail,
// inconclusive, warn, pass, skip), its measured line prefixed with every listener's outcome when
// they differ.
run_report merge_listener_runs(std::vector<listener_run> runs);

} // namespace streamcheck::harness::nginx
