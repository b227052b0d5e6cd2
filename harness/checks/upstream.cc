// upstream.*: what the proxy forwards must be acceptable to the upstream.
#include "harness/checks/catalog_parts.h"
#include "harness/checks/requests.h"

namespace streamcheck::harness {
namespace {

// The upstream answered with its bare policy 403 (Ollama's Origin or Host guard).
verdict judge_accepted(const observations &o, const std::string &what, const std::string &cause) {
  const probe_result *r = o.probe("stream");
  const auto *entries = o.journal_of("stream");
  const int upstream_status = entries->empty() ? 0 : entries->back().status;
  json m = {{"client_status", r->status},
            {"upstream_status", upstream_status},
            {"upstream_saw_request", !entries->empty()}};
  if (r->status == 200 && !r->events.empty())
    return pass(what + " accepted, " + std::to_string(r->events.size()) + " events", m);
  const std::string actual = upstream_status == 403
                                 ? "the upstream answered 403 (its policy refused it)"
                                 : "client got " + describe_failure(*r);
  return fail("HTTP 200 with the stream", actual, cause, m);
}

check origin_accepted() {
  // Fault: the browser's Origin forwarded to a default Ollama, whose OLLAMA_ORIGINS allow-list
  // does not contain the app: a bare 403 for every browser request, while curl works.
  return {
      .id = "upstream.origin-accepted",
      .title = "The upstream accepts browser requests",
      .severity = level::must,
      .requirement =
          "A request carrying the browser's Origin is not refused by the upstream's origin policy.",
      .fixes = {{"nginx", "proxy_set_header Origin \"\"; (CORS is answered by nginx), or set "
                          "OLLAMA_ORIGINS on the Ollama host to the app's origin"},
                // fixtures/<kind>/stock fails, origin passes (HAProxy, Caddy, Apache, lighttpd).
                {"haproxy",
                 "http-request del-header origin (in the backend; CORS is answered by HAProxy)"},
                {"caddy", "header_up -Origin inside reverse_proxy (CORS is answered by Caddy)"},
                {"apache", "RequestHeader unset Origin (mod_headers; CORS is answered by Apache)"},
                {"lighttpd", "setenv.set-request-header = ( \"Origin\" => \"\" ) (mod_setenv; CORS "
                             "is answered by lighttpd)"},
                {"generic", "strip Origin towards the upstream, or allow the app's origin there "
                            "(OLLAMA_ORIGINS)"}},
      .probes =
          [](const check_context &ctx) {
            probe_spec p = chat_stream("stream", {.tokens = 3});
            p.headers.push_back("Origin: " + ctx.origin);
            return std::vector{p};
          },
      .judge =
          [](const observations &o, const check_context &ctx) {
            return judge_accepted(
                o, "Origin " + ctx.origin,
                "the proxy forwards the browser's Origin and the upstream's allow-list "
                "(OLLAMA_ORIGINS) does not include it");
          },
      .policy_dependent = true};
}

check host_accepted() {
  // Fault: proxy_set_header Host $host towards an Ollama listening on loopback: its DNS-rebinding
  // guard answers 403 to any public name (ollama/ollama#3269).
  return {.id = "upstream.host-accepted",
          .title = "The upstream accepts the public Host",
          .severity = level::must,
          .requirement =
              "A request to the proxy's public name is not refused by the upstream's Host check.",
          .fixes = {{"nginx", "proxy_set_header Host localhost:11434; (or run Ollama with "
                              "OLLAMA_HOST=0.0.0.0, which disables its Host check)"},
                    // fixtures/<kind>/stock fails, host passes (HAProxy, Caddy, lighttpd).
                    {"haproxy", "http-request set-header host localhost:11434 (in the backend)"},
                    {"caddy", "header_up Host {upstream_hostport} inside reverse_proxy"},
                    {"lighttpd",
                     "proxy.header = ( \"map-host-request\" => ( \"-\" => \"localhost:11434\" ) )"},
                    {"generic", "send a local Host (localhost:11434) to Ollama"}},
          .probes =
              [](const check_context &ctx) {
                probe_spec p = chat_stream("stream", {.tokens = 3});
                p.headers.push_back("Host: " + ctx.public_host);
                return std::vector{p};
              },
          .judge =
              [](const observations &o, const check_context &ctx) {
                return judge_accepted(
                    o, "Host " + ctx.public_host,
                    "the proxy forwards the public Host and Ollama on loopback refuses "
                    "non-local names");
              },
          .policy_dependent = true};
}

} // namespace

void add_upstream_checks(std::vector<check> &out) {
  out.push_back(origin_accepted());
  out.push_back(host_accepted());
}

} // namespace streamcheck::harness
