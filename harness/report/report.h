// The result of one run, as every reporter sees it: plain data, formatted by report/*.cc.
#pragma once
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace streamcheck::harness {

enum class level { must, should, info };
// inconclusive: the situation the check needs never arose because of another fault (named in
// check_result::blocked_by when one check explains it). Never a pass.
enum class outcome { pass, warn, fail, inconclusive, skip, error };

const char *to_string(level l);   // "MUST", "SHOULD", "INFO"
const char *to_string(outcome o); // "pass", "warn", "fail", "inconclusive", "skip", "error"
const char *glyph_of(outcome o);  // the console's mark: ✔ ⚠ ✘ ? – !

// What the harness recorded of one streamed probe, for the HTML timeline: each event's emission
// at the mock and its arrival at the client, through the proxy and directly. Times in ms;
// arrivals count from the client's send, emissions and the upstream's close from the moment the
// mock read the request (the two origins differ by the proxy's forwarding time). -1: not seen.
struct timeline_event {
  int seq = -1;           // the mock's sequence number; -1 when the event carried no stamp
  double emitted_ms = -1; // the mock's t_us
  double arrival_ms = -1; // the body read that completed the event
};

struct timeline_track {
  bool present = false; // the probe ran against this target
  long status = 0;
  double headers_ms = -1;
  double finished_ms = -1;
  double client_closed_ms = -1;   // the harness left on purpose (cancellation checks)
  double upstream_closed_ms = -1; // the mock saw its connection close or end (journal)
  std::string upstream_outcome;   // the journal's outcome: completed, peer_closed, ...
  std::string ended;              // "complete", "closed by the client", or the transport error
  std::vector<timeline_event> events;
};

struct probe_timeline {
  std::string probe; // the probe's name within its check
  timeline_track proxied, direct;
};

// Where a user's config produces a failure (managed config targets): for SARIF and annotations.
struct config_location {
  std::string file; // as the user names it
  int line = 0;
  std::string note; // what is there, e.g. "`proxy_buffering on`" or "location / block"
};

struct check_result {
  std::string id;    // stable, e.g. "stream.first-token"
  std::string title; // short human title
  level severity = level::must;
  std::string requirement; // one sentence
  outcome result = outcome::pass;
  std::string measured; // one line: the headline figure, e.g. "p95 added 3.1 ms, max 7.9 ms"
  // Filled when result is warn, fail, inconclusive or error (for inconclusive: actual = what could
  // not be observed, cause = why):
  std::string expected;
  std::string actual;
  std::string cause;      // the likely reason in this proxy
  std::string fix;        // the remediation for the detected proxy kind
  std::string reproduce;  // a curl -N command line plus the scenario
  std::string blocked_by; // inconclusive: the check whose failure explains it, if one does
  nlohmann::json measurements = nlohmann::json::object(); // every figure, for JSON reports
  double seconds = 0;                                     // wall time of the check
  std::string path; // the client path of its first request through the proxy
  std::string via;  // where the proxy handled its requests ("location /ollama/ at nginx.conf:12")
  std::string
      protocol; // what its requests through the proxy spoke: "HTTP/1.1", "HTTP/2" ("": none)
  // The first request the proxy answered differently from the bare upstream: its status (-1: no
  // HTTP response at all; 0: none diverged), what else was seen (Location, curl's error), and
  // whether the upstream saw that request and answered it with the same status itself.
  long diverged_status = 0;
  std::string diverged_detail;
  bool diverged_at_upstream = false;
  std::vector<probe_timeline> timelines;  // timing checks only; see probe_timeline
  std::vector<config_location> locations; // managed configs: where the analysis located a failure
  std::string scripted; // live mode: the scripted check that judges the same fault ("" if none)
};

struct run_summary {
  int checks = 0, passed = 0, warned = 0, failed = 0, inconclusive = 0, skipped = 0, errors = 0;
};

struct run_report {
  std::string tool_version;
  std::string target;            // e.g. "proxy http://127.0.0.1:8080 (nginx)"
  std::string proxy_kind;        // nginx, haproxy, caddy, apache, lighttpd, ..., generic
  std::string proxy_kind_source; // how it was known, e.g. "Server: nginx/1.22.1", "--proxy-kind"
  std::string profile;           // quick, standard, thorough
  std::string upstream;          // mock control URL or description
  // What the requests through the proxy spoke, and how that was chosen (--http), e.g.
  // "HTTP/2 (--http auto: TLS, ALPN offered h2 and http/1.1)"; "" when not known.
  std::string protocol;
  bool strict = false;
  std::string started_at; // RFC 3339 UTC
  double seconds = 0;
  std::vector<check_result> checks;
  std::vector<std::string> notes; // what the run assumed or found about the setup, one line each

  run_summary summary() const;
  // DESIGN §4.2: 0 all MUST pass (and SHOULD under --strict), 1 a check failed or a MUST (SHOULD
  // under --strict) was inconclusive, 2 harness error.
  int exit_code() const;
};

// Each writer only formats; the caller owns the stream.
void write_console(std::ostream &out, const run_report &r, bool color);
void write_json(std::ostream &out, const run_report &r);
// The JSON report as a document (docs/report-schema.json), for reports that embed runs (compare).
// Strings are as the checks stored them: dump with error_handler_t::replace.
nlohmann::ordered_json report_json(const run_report &r);
void write_junit(std::ostream &out, const run_report &r);
void write_markdown(std::ostream &out, const run_report &r);
// One self-contained HTML file (no script, no network): summary, verdicts, SVG timelines.
void write_html(std::ostream &out, const run_report &r);
// SARIF 2.1.0: one result per failing or warning check, located in the user's config.
void write_sarif(std::ostream &out, const run_report &r);
// GitHub Actions workflow commands (::error file=...,line=...::), one per failing or warning
// check; the job summary is write_markdown appended to $GITHUB_STEP_SUMMARY by the caller.
void write_github(std::ostream &out, const run_report &r);

// One line per check as it finishes (console progress), and the summary line.
std::string console_line(const check_result &c, bool color);
std::string summary_line(const run_summary &s);

} // namespace streamcheck::harness
