#include "harness/check.h"

#include <cstdio>

#include "harness/checks/catalog_parts.h"

namespace streamcheck::harness {

const profile *find_profile(const std::string &name) {
  static const std::vector<profile> all = {
      {"quick", 4'000, 6'000, 32, 20u << 20},
      {"standard", 65'000, 35'000, 256, 20u << 20},
      {"thorough", 130'000, 300'000, 1024, 64u << 20},
  };
  for (const auto &p : all)
    if (p.name == name) return &p;
  return nullptr;
}

std::string bound_text(double ms) {
  char buf[32];
  if (ms >= 1000)
    std::snprintf(buf, sizeof buf, "%g s", ms / 1000);
  else
    std::snprintf(buf, sizeof buf, "%g ms", ms);
  return buf;
}

const probe_result *observations::probe(const std::string &name) const {
  for (const auto &p : probes)
    if (p.name == name) return &p;
  static const probe_result missing{};
  return &missing;
}

const std::vector<journal_entry> *observations::journal_of(const std::string &name) const {
  for (std::size_t i = 0; i < probes.size() && i < journal.size(); ++i)
    if (probes[i].name == name) return &journal[i];
  static const std::vector<journal_entry> none;
  return &none;
}

// A kind's own text only where a fixture pair proved it on that kind; otherwise the generic
// advice, marked as such, never another proxy's directive.
std::string check::fix_for(const std::string &proxy_kind) const {
  if (auto it = fixes.find(proxy_kind); it != fixes.end()) return it->second;
  const auto generic = fixes.find("generic");
  if (generic == fixes.end()) return "";
  if (proxy_kind.empty() || proxy_kind == "generic") return generic->second;
  return generic->second + " (general advice: no " + proxy_kind +
         " setting has been verified for this check yet)";
}

verdict pass(std::string measured, json measurements) {
  verdict v;
  v.passed = true;
  v.measured = std::move(measured);
  v.measurements = std::move(measurements);
  return v;
}

verdict fail(std::string expected, std::string actual, std::string cause, json measurements) {
  verdict v;
  v.measured = actual;
  v.expected = std::move(expected);
  v.actual = std::move(actual);
  v.cause = std::move(cause);
  v.measurements = std::move(measurements);
  return v;
}

verdict inconclusive(std::string unobserved, std::string why, std::string blocked_by,
                     json measurements) {
  verdict v;
  v.inconclusive = true;
  v.measured = "inconclusive: " + unobserved;
  v.actual = std::move(unobserved);
  v.cause = std::move(why);
  v.blocked_by = std::move(blocked_by);
  v.measurements = std::move(measurements);
  return v;
}

std::optional<verdict> unless_forwarded(const observations &o, const std::string &probe) {
  if (!o.journal_of(probe)->empty()) return std::nullopt;
  const probe_result *r = o.probe(probe);
  return inconclusive("the request never reached the upstream (client saw " + describe_failure(*r) +
                          ")",
                      "the proxy answered or dropped the request itself, so there was no "
                      "upstream stream to judge",
                      "", {{"status", r->status}, {"curl", r->curl_error}});
}

std::string describe_failure(const probe_result &r) {
  if (!r.started) return "not sent";
  if (r.aborted) return "closed by the harness";
  if (r.curl_code != 0)
    return "curl: " + r.curl_error +
           (r.status ? " (after HTTP " + std::to_string(r.status) + ")" : "");
  return "HTTP " + std::to_string(r.status);
}

const std::vector<check> &catalog() {
  static const std::vector<check> all = [] {
    std::vector<check> c;
    add_stream_checks(c);
    add_timeout_checks(c);
    add_cors_checks(c);
    add_upstream_checks(c);
    add_headers_checks(c);
    add_conn_checks(c);
    add_abort_checks(c);
    add_body_checks(c);
    add_api_checks(c);
    return c;
  }();
  return all;
}

} // namespace streamcheck::harness
