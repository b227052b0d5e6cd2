// A small static analysis of the user's nginx config that runs alongside the dynamic checks: for a
// failing check it names the user's own directive(s) with file:line that produce the failure
// ("`chunked_transfer_encoding off` at nginx.conf:22 ..."). It never decides a verdict.
#pragma once
#include <string>
#include <vector>

#include "harness/nginx/config.h"
#include "harness/nginx/patch.h"
#include "harness/report/report.h"

namespace streamcheck::harness::nginx {

struct finding {
  std::string check_id; // exact id, or a prefix ending in '.' ("stream.") or '*' ("abort.cancel-*")
  std::string text;     // one sentence quoting the directive with file:line
  // Where it is: the directive at fault, or the location/server block that lacks one.
  source_loc loc;
  std::string subject; // that directive or block as written, e.g. "proxy_buffering on"
  // The remedy as edits to the user's text (streamcheck nginx --fix); empty when none applies.
  std::vector<edit> edits;
};

struct analysis_options {
  source_loc server;                  // the server block under test (from the rewrite)
  std::string path = "/api/chat";     // the request path whose location is analysed
  int silence_ms = 65'000;            // the profile's silent first token / idle gap
  std::size_t large_body = 20u << 20; // body.large-request's size
  int concurrent_streams = 32;        // conn.concurrent-streams: two connections each
};

// Parsed (include-expanded, not rewritten) config -> findings for the server under test.
std::vector<finding> analyse(const std::vector<directive> &top, const analysis_options &o);

// nginx time ("90", "90s", "1m30s", "2h", "500ms") in ms; -1 when it is not a time.
long long parse_time_ms(const std::string &s);
// nginx size ("1m", "100M", "512k", "0") in bytes; -1 when it is not a size.
long long parse_size(const std::string &s);

bool matches(const finding &f, const std::string &check_id);

// Appends the matching findings to each failing or warning check's fix, and their locations to
// its locations; a check no finding explains is located at the server block (server_block).
void annotate(run_report &r, const std::vector<finding> &findings,
              const config_location &server_block = {});

} // namespace streamcheck::harness::nginx
