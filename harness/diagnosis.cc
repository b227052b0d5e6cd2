#include "harness/diagnosis.h"

#include <algorithm>

#include "mock_upstream/policy.h"

namespace streamcheck::harness {
namespace {

// An answer of the proxy's own, as opposed to one the upstream produced.
struct status_reading {
  std::string cause;
  std::string fix;
};

status_reading read_status(long status, const check_result &r) {
  const std::string seen = describe_divergence(r);
  if (status == -1)
    return {"the proxy gave no answer (" + seen +
                "); the upstream's stream never reached the client, so nothing about streaming "
                "was measured",
            // Proxy-independent: a managed target adds the directive it finds (nginx:
            // worker_connections), never one proxy's directive for another.
            "look at the proxy's error log: a connection limit or a crashing worker closes "
            "connections unanswered"};
  if (status >= 300 && status < 400)
    return {"the proxy redirected the request (" + seen +
                ") instead of forwarding it: the check never reached the upstream",
            "test the address the redirect points to (the TLS listener: --server, or run against "
            "the https URL); behind a TLS-terminating balancer, send what it sends: --header "
            "'X-Forwarded-Proto: https'"};
  if (status == 401 || status == 403)
    return {"the proxy refused the request itself (" + seen +
                ", the upstream never saw it): an authentication gate in front of the upstream",
            "give the suite the gate's credentials: --header 'Authorization: Bearer KEY' or "
            "--user USER:PASS (sent on every request, never printed)"};
  if (status == 400)
    return {r.diverged_at_upstream
                ? "the upstream refused what the proxy forwarded as malformed (HTTP 400; direct, "
                  "the same request was accepted): the proxy alters the request's framing or "
                  "headers"
                : "the request was refused as malformed on the way (HTTP 400; direct, the same "
                  "request was accepted): the proxy alters its framing or headers",
            "do not set framing headers (Transfer-Encoding, Content-Length, Connection: upgrade) "
            "towards the upstream"};
  if (status == 404)
    return {"the proxy answered " + seen + " for " + (r.path.empty() ? "the route" : r.path) +
                ": it does not forward this route to the upstream",
            "forward the API routes (/api/, /v1/) to the upstream, or point the suite at the "
            "prefix that does: --base-path PATH (a frontend or vhost that routes by Host: the "
            "name it routes, --host NAME)"};
  if (status == 413) // the check's own fix names the proxy's directive
    return {"the proxy's request body limit refused the request (HTTP 413)", ""};
  if (status == 429 || status == 503)
    return {"the proxy refused the request with " + seen +
                ": a rate or connection limit; the suite sends bursts of requests (up to the "
                "profile's concurrent streams) and this check's own request was refused, so it "
                "says nothing about streaming (inconclusive)",
            "allow the suite's burst (a limit zone's burst/nodelay, or a higher limit for the "
            "test), or scope the run with --check"};
  if (status == 500)
    return {"the proxy failed internally (HTTP 500) before forwarding the request",
            "look at the proxy's error log for the cause"};
  return {"the proxy answered " + seen + " where the upstream answered 200", ""};
}

} // namespace

void find_divergence(check_result &r, const observations &direct, const observations &proxied) {
  for (std::size_t i = 0; i < proxied.probes.size(); ++i) {
    const probe_result &p = proxied.probes[i];
    const probe_result *d = direct.probe(p.name);
    if (!p.started || !d->started) continue;
    const bool answered = p.status != 0;
    if (answered && p.status == d->status) continue;
    // Closed by the harness before any header (cancel checks), or cut by a timeout: no answer
    // was due yet, which is the check's own subject.
    if (!answered && (d->status == 0 || p.aborted)) continue;
    r.diverged_status = answered ? p.status : -1;
    r.diverged_detail = !answered ? "curl: " + p.curl_error : p.header("Location");
    const auto *journal = i < proxied.journal.size() ? &proxied.journal[i] : nullptr;
    r.diverged_at_upstream = journal && !journal->empty() && journal->back().status == p.status;
    return;
  }
}

bool divergence_explains(const check_result &r) {
  const long s = r.diverged_status;
  if (s == 0 || s == 502 || s == 504) return false;
  if (s == 400) return true;
  if (r.diverged_at_upstream) return false; // the upstream's own answer: the check's subject
  static const long proxy_made[] = {-1, 401, 403, 404, 413, 429, 500, 503};
  return (s >= 300 && s < 400) ||
         std::find(std::begin(proxy_made), std::end(proxy_made), s) != std::end(proxy_made);
}

std::string describe_divergence(const check_result &r) {
  if (r.diverged_status == -1) return "no HTTP response (" + r.diverged_detail + ")";
  std::string s = "HTTP " + std::to_string(r.diverged_status);
  if (r.diverged_status >= 300 && r.diverged_status < 400 && !r.diverged_detail.empty())
    s += " to " + r.diverged_detail;
  return s;
}

std::optional<std::string> refused_everything(const run_report &r) {
  const check_result *first = nullptr;  // the first unpassed check: its cause is quoted
  const check_result *failed = nullptr; // the first failure: its fix is quoted
  long status = 0;
  int judged = 0;
  for (const auto &c : r.checks) {
    if (c.severity == level::info || c.result == outcome::skip) continue;
    ++judged;
    // A check that passed on refusals alone (no doubled CORS header on a 401) observed nothing.
    if (c.result == outcome::error || !divergence_explains(c)) return std::nullopt;
    if (status == 0) status = c.diverged_status;
    if (c.diverged_status != status) return std::nullopt;
    if (!first && c.result != outcome::pass) first = &c;
    if (!failed && (c.result == outcome::fail || c.result == outcome::warn)) failed = &c;
  }
  if (!first || judged < 2) return std::nullopt;
  const std::string fix = failed ? failed->fix : read_status(status, *first).fix;
  return "every request through the proxy got " + describe_divergence(*first) + " (" +
         std::to_string(judged) +
         " checks), so nothing about streaming was measured: " + first->cause + "\n  fix: " + fix;
}

std::optional<std::string> refused_host(const observations &proxied) {
  for (const auto &entries : proxied.journal) {
    if (entries.empty() || entries.back().status != 403) continue;
    const std::string host(find_header(entries.back().headers, "host"));
    if (!mock::host_allowed(host)) return host;
  }
  return std::nullopt;
}

void explain_divergence(check_result &r) {
  if (!divergence_explains(r)) return;
  const status_reading reading = read_status(r.diverged_status, r);
  r.cause = reading.cause;
  if (!reading.fix.empty()) r.fix = reading.fix;
}

} // namespace streamcheck::harness
