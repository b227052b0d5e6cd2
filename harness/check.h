// A check is data plus a pure verdict: which probes to send, and a function from what was observed
// (probe results + the mock's journal) to pass/fail with figures. No sockets in here, so every
// verdict is unit-tested on synthetic observations.
#pragma once
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "common/protocol/journal_entry.h"
#include "harness/probe.h"
#include "harness/report/report.h"

namespace streamcheck::harness {

// What the mock reports of each request, typed as the mock writes it.
using protocol::journal_entry;
using protocol::stream_end;

struct profile {
  std::string name;
  int silence_ms;         // timeout.slow-first-token and timeout.idle-gap
  int long_stream_ms;     // timeout.long-stream
  int concurrent_streams; // conn.concurrent-streams
  std::size_t large_body; // body.large-request
};

const profile *find_profile(const std::string &name); // quick, standard, thorough

struct tolerances {
  double mult = 1.0; // --tolerance-mult: scales every timing bound for slow machines
  double first_token_ms() const { return 100 * mult; }
  double p95_ms() const { return 50 * mult; }
  double max_ms() const { return 250 * mult; }
  double cancel_ms() const { return 1000 * mult; }
};

struct check_context {
  const profile &prof;
  tolerances tol;
  std::string origin = "https://app.example.test"; // a browser app on another origin
  std::string public_host = "llm.example.test";    // the Host a deployed proxy is reached by
  std::string upstream_profile = "ollama";         // the upstream policy the proxy must satisfy
  // The upstream serves only the OpenAI API (/v1/): streams go to /v1/chat/completions and the
  // checks about Ollama's own routes are not applicable.
  bool openai_only = false;
  // The proxy answered the setup request over HTTP/2: the proxied probes speak h2 (the direct
  // ones to the mock stay HTTP/1.1, so a judge reads the protocol from each probe it judges).
  bool http2 = false;
  // Whether the proxy reaches an upstream path (route_map); unset: every path.
  std::function<bool(const std::string &)> reachable = nullptr;
  bool reaches(const std::string &path) const { return !reachable || reachable(path); }
};

// What one target (the proxy, or the mock directly) showed for one check.
struct observations {
  std::vector<probe_result> probes;                // in the order the check declared them
  std::vector<std::vector<journal_entry>> journal; // per probe: the mock's entries for its id
  const observations *baseline = nullptr;          // the direct run, when judging the proxy

  const probe_result *probe(const std::string &name) const;
  const std::vector<journal_entry> *journal_of(const std::string &name) const;
};

struct verdict {
  bool passed = false;
  bool skipped = false;
  // The situation the check needs never arose (another fault got in the way): actual says what
  // could not be observed, cause why, blocked_by the check whose failure explains it (if one).
  bool inconclusive = false;
  std::string blocked_by;
  std::string measured; // headline figure
  std::string expected; // on failure
  std::string actual;   // on failure
  std::string cause;    // on failure: what in a proxy produces this
  json measurements = json::object();
};

// A check's requirement in one sentence. One that states a bound or a profile figure computes it
// from the context in force, so that --tolerance-mult 2 makes "within 100 ms" read "within
// 200 ms" and a report never states one bound while applying another.
class requirement_text {
public:
  // Implicit both ways: a check declares `.requirement = "..."` or `.requirement = [](ctx) {...}`.
  requirement_text(const char *fixed) : fixed_(fixed) {}
  template <typename F>
  requires std::is_invocable_r_v<std::string, const F &, const check_context &>
  requirement_text(F compute) : compute_(std::move(compute)) {}

  std::string operator()(const check_context &ctx) const {
    return compute_ ? compute_(ctx) : fixed_;
  }

private:
  std::string fixed_;
  std::function<std::string(const check_context &)> compute_;
};

// A bound or a duration as a requirement states it: "100 ms", "62.5 ms", "1 s", "65 s".
std::string bound_text(double ms);

struct check {
  std::string id;
  std::string title;
  level severity = level::must;
  requirement_text requirement;
  std::map<std::string, std::string> fixes; // proxy kind ("nginx", "generic", ...) -> remediation
  std::function<std::vector<probe_spec>(const check_context &)> probes;
  std::function<verdict(const observations &, const check_context &)> judge;
  // The verdict depends on the upstream's Origin/Host policy: the direct self-test then uses a
  // permissive mock (a default Ollama refuses foreign origins by design), the proxied run the
  // upstream profile under test.
  bool policy_dependent = false;
  // Its verdict is about when events arrive: the report keeps every probe's arrivals (and the
  // upstream's close) so the HTML report can draw them on a timeline.
  bool timing = false;
  // Only meaningful with a proxy in between (e.g. forwarded headers): skipped in self-test.
  bool needs_proxy = false;
  // About Ollama's own routes (/api/chat NDJSON): not applicable to an OpenAI-only upstream.
  bool ollama_routes = false;
  // Its subject is the proxy's own error responses: a status the proxy made up is what it
  // judges, not an explanation to substitute for its cause.
  bool judges_proxy_errors = false;
  // Judges a header its requests carry: not applicable when --header/--user replaces it.
  bool judges_request_headers = false;

  std::string fix_for(const std::string &proxy_kind) const;
};

// The whole catalog, in DESIGN §4.3 order. IDs are stable: never renumber or reuse.
const std::vector<check> &catalog();

// Shared verdict helpers.
verdict pass(std::string measured, json measurements = json::object());
verdict fail(std::string expected, std::string actual, std::string cause,
             json measurements = json::object());
verdict inconclusive(std::string unobserved, std::string why, std::string blocked_by = "",
                     json measurements = json::object());
// Inconclusive when the upstream never saw the probe's request: the proxy answered (404 from a
// static root, 401 from an auth gate) or dropped it, so the stream the check is about never
// existed. nullopt when the request was forwarded.
std::optional<verdict> unless_forwarded(const observations &o, const std::string &probe);
// Describes a transport failure or a bad status in one line ("HTTP 504", "curl: Timeout ...").
std::string describe_failure(const probe_result &r);

} // namespace streamcheck::harness
