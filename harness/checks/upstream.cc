// upstream.* and headers.*: what the proxy forwards must be acceptable to the upstream, and carry
// what the upstream needs to know.
#include <optional>

#include "harness/checks/catalog_parts.h"
#include "harness/checks/requests.h"

namespace streamcheck::harness {
namespace {

// The value of a header the upstream received (journal entry), if it received it at all.
std::optional<std::string> received_header(const json &entry, const std::string &name) {
  if (!entry.contains("headers")) return std::nullopt;
  for (const auto &h : entry["headers"]) {
    const std::string k = h[0].get<std::string>();
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        }))
      return h[1].get<std::string>();
  }
  return std::nullopt;
}

std::string forwarded_header(const json &entry, const std::string &name) {
  return received_header(entry, name).value_or("");
}

bool has_forwarded_header(const json &entry, const std::string &name) {
  return received_header(entry, name).has_value();
}

// The upstream answered with its bare policy 403 (Ollama's Origin or Host guard).
verdict judge_accepted(const observations &o, const std::string &what, const std::string &cause) {
  const probe_result *r = o.probe("stream");
  const auto *entries = o.journal_of("stream");
  const int upstream_status = entries->empty() ? 0 : entries->back().value("status", 0);
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
  check c{"upstream.origin-accepted",
          "The upstream accepts browser requests",
          level::must,
          "A request carrying the browser's Origin is not refused by the upstream's origin policy.",
          {{"nginx", "proxy_set_header Origin \"\"; (CORS is answered by nginx), or set "
                     "OLLAMA_ORIGINS on the Ollama host to the app's origin"},
           {"generic", "strip Origin towards the upstream, or allow the app's origin there "
                       "(OLLAMA_ORIGINS)"}},
          nullptr,
          nullptr};
  c.policy_dependent = true;
  c.probes = [](const check_context &ctx) {
    probe_spec p = chat_stream("stream", {{"tokens", 3}});
    p.headers.push_back("Origin: " + ctx.origin);
    return std::vector{p};
  };
  c.judge = [](const observations &o, const check_context &ctx) {
    return judge_accepted(o, "Origin " + ctx.origin,
                          "the proxy forwards the browser's Origin and the upstream's allow-list "
                          "(OLLAMA_ORIGINS) does not include it");
  };
  return c;
}

check host_accepted() {
  // Fault: proxy_set_header Host $host towards an Ollama listening on loopback: its DNS-rebinding
  // guard answers 403 to any public name (ollama/ollama#3269).
  check c{"upstream.host-accepted",
          "The upstream accepts the public Host",
          level::must,
          "A request to the proxy's public name is not refused by the upstream's Host check.",
          {{"nginx", "proxy_set_header Host localhost:11434; (or run Ollama with "
                     "OLLAMA_HOST=0.0.0.0, which disables its Host check)"},
           {"generic", "send a local Host (localhost:11434) to Ollama"}},
          nullptr,
          nullptr};
  c.policy_dependent = true;
  c.probes = [](const check_context &ctx) {
    probe_spec p = chat_stream("stream", {{"tokens", 3}});
    p.headers.push_back("Host: " + ctx.public_host);
    return std::vector{p};
  };
  c.judge = [](const observations &o, const check_context &ctx) {
    return judge_accepted(o, "Host " + ctx.public_host,
                          "the proxy forwards the public Host and Ollama on loopback refuses "
                          "non-local names");
  };
  return c;
}

check authorization() {
  // Fault: proxy_set_header Authorization "" (or an auth module consuming it): an upstream that
  // checks API keys (vLLM --api-key, LiteLLM, OpenAI) answers 401 only behind the proxy.
  check c{"headers.authorization",
          "Authorization reaches the upstream",
          level::must,
          "The client's Authorization header reaches the upstream unchanged.",
          {{"nginx", "do not clear or override Authorization (proxy_set_header Authorization ...) "
                     "unless the proxy itself authenticates"},
           {"generic", "forward Authorization unchanged"}},
          nullptr,
          nullptr};
  c.judges_request_headers = true;
  c.probes = [](const check_context &) {
    probe_spec p = chat_stream("stream", {{"tokens", 2}});
    p.headers.push_back("Authorization: Bearer sk-streamcheck-3f9a1c7e");
    return std::vector{p};
  };
  c.judge = [](const observations &o, const check_context &) -> verdict {
    if (auto v = unless_forwarded(o, "stream")) return *v;
    const auto *entries = o.journal_of("stream");
    const std::string got = forwarded_header(entries->back(), "Authorization");
    if (got == "Bearer sk-streamcheck-3f9a1c7e") return pass("forwarded unchanged");
    return fail("Authorization: Bearer sk-streamcheck-3f9a1c7e at the upstream",
                got.empty() ? "no Authorization header" : "Authorization: " + got,
                "the proxy removes or rewrites Authorization");
  };
  return c;
}

check forwarded() {
  // Fault: no X-Forwarded-For/-Proto: upstream logs, rate limits and absolute URLs all see the
  // proxy instead of the client.
  check c{"headers.forwarded",
          "Client address and scheme are forwarded",
          level::should,
          "X-Forwarded-For and X-Forwarded-Proto (or Forwarded) reach the upstream.",
          {{"nginx", "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; "
                     "proxy_set_header X-Forwarded-Proto $scheme;"},
           {"generic", "add X-Forwarded-For and X-Forwarded-Proto (or Forwarded)"}},
          nullptr,
          nullptr};
  c.needs_proxy = true;
  c.probes = [](const check_context &) {
    return std::vector{chat_stream("stream", {{"tokens", 2}})};
  };
  c.judge = [](const observations &o, const check_context &) -> verdict {
    if (auto v = unless_forwarded(o, "stream")) return *v;
    const json &e = o.journal_of("stream")->back();
    const bool xff = has_forwarded_header(e, "x-forwarded-for");
    const bool proto = has_forwarded_header(e, "x-forwarded-proto");
    if (has_forwarded_header(e, "forwarded") || (xff && proto))
      return pass(xff ? "X-Forwarded-For " + forwarded_header(e, "X-Forwarded-For") +
                            ", X-Forwarded-Proto " + forwarded_header(e, "X-Forwarded-Proto")
                      : "Forwarded: " + forwarded_header(e, "Forwarded"));
    return fail("X-Forwarded-For and X-Forwarded-Proto (or Forwarded)",
                std::string(xff ? "" : "no X-Forwarded-For") + (xff || proto ? "" : ", ") +
                    (proto ? "" : "no X-Forwarded-Proto"),
                "the proxy does not add forwarding headers");
  };
  return c;
}

} // namespace

void add_upstream_checks(std::vector<check> &out) {
  out.push_back(origin_accepted());
  out.push_back(host_accepted());
  out.push_back(authorization());
  out.push_back(forwarded());
}

} // namespace streamcheck::harness
