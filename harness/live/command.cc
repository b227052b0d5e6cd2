#include "harness/live/command.h"

#include <cstdio>

#include "harness/commands.h"
#include "harness/live/live.h"

namespace streamcheck::harness::live {

int live_command(cli_options o) {
  if (o.run.proxy_url.empty()) return usage_error("live needs --proxy URL");
  o.live.proxy_url = o.run.proxy_url;
  o.live.headers = o.run.extra_headers;
  o.live.strict = o.run.strict;
  o.live.tolerance_mult = o.run.tolerance_mult;
  o.live.proxy_kind = o.run.proxy_kind;
  o.run.target_label = "proxy " + o.run.proxy_url + " (live)";
  auto report = run(o.live, [](const std::string &line) {
    std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
  });
  if (!report) return setup_error(o, report.message());
  return write_reports(o, *report);
}

} // namespace streamcheck::harness::live
