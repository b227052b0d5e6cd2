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
  // Non-zero: it explains a check whose request the proxy answered with this status (-1: no
  // response) instead of forwarding it (diagnosis.h), and applies only to such checks.
  long status = 0;
  // Where it is: the directive at fault, or the location/server block that lacks one.
  source_loc loc{};
  std::string subject{}; // that directive or block as written, e.g. "proxy_buffering on"
  // The remedy as edits to the user's text (streamcheck nginx --fix); empty when none applies.
  std::vector<edit> edits{};
};

struct analysis_options {
  source_loc server;                  // the server block under test (from the rewrite)
  std::string path = "/api/chat";     // the client path whose location is analysed
  int silence_ms = 65'000;            // the profile's silent first token / idle gap
  std::size_t large_body = 20u << 20; // body.large-request's size
  int concurrent_streams = 32;        // conn.concurrent-streams: two connections each
};

// One rule of the analysis: what in a config it looks for, and the checks whose failure it
// explains (exact ids or prefixes, as finding::check_id).
struct analysis_rule {
  const char *name;      // "buffering"
  const char *looks_for; // "proxy_buffering on, or not set (nginx buffers by default)"
  std::vector<std::string> targets;

  std::string targets_text() const; // "stream., conn.concurrent-streams"
};

// Every rule analyse() applies (streamcheck list --json names each check's).
std::vector<const analysis_rule *> analysis_rules();
std::vector<const analysis_rule *> rules_targeting(const std::string &check_id);

// Parsed (include-expanded, not rewritten) config -> findings for the server under test.
std::vector<finding> analyse(const std::vector<directive> &top, const analysis_options &o);

// nginx time ("90", "90s", "1m30s", "2h", "500ms") in ms; -1 when it is not a time.
long long parse_time_ms(const std::string &s);
// nginx size ("1m", "100M", "512k", "0") in bytes; -1 when it is not a size.
long long parse_size(const std::string &s);

bool matches(const finding &f, const std::string &check_id);

// After annotate: one report note when the suite's own bursts tripped a rate limit the analysis
// found (limit_req, limit_conn), naming the checks it left unjudged.
void note_rate_limits(run_report &r);

// Appends the matching findings to the fix of each failing or warning check whose first request
// went to `path` ("" = every check): the status findings to a check the proxy answered with that
// status itself (with the error log's evidence), the others to the rest; and their locations to
// each check's locations (for SARIF and annotations).
void annotate(run_report &r, const std::vector<finding> &findings, const std::string &path = "",
              const std::vector<std::string> &log_lines = {});

// A failing or warning check no finding located is located at the server block under test.
void locate_unexplained(run_report &r, const config_location &server_block);

} // namespace streamcheck::harness::nginx
