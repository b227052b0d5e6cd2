// headers.*: what the proxy forwards carries what the upstream needs to know.
#include <optional>

#include "harness/checks/catalog_parts.h"
#include "harness/checks/requests.h"

namespace streamcheck::harness {
namespace {

// The value of a header the upstream received (journal entry), if it received it at all.
std::optional<std::string> received_header(const journal_entry &entry, const std::string &name) {
  for (const auto &[k, value] : entry.headers) {
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        }))
      return value;
  }
  return std::nullopt;
}

std::string forwarded_header(const journal_entry &entry, const std::string &name) {
  return received_header(entry, name).value_or("");
}

bool has_forwarded_header(const journal_entry &entry, const std::string &name) {
  return received_header(entry, name).has_value();
}
check authorization() {
  // Fault: proxy_set_header Authorization "" (or an auth module consuming it): an upstream that
  // checks API keys (vLLM --api-key, LiteLLM, OpenAI) answers 401 only behind the proxy.
  return {.id = "headers.authorization",
          .title = "Authorization reaches the upstream",
          .severity = level::must,
          .requirement = "The client's Authorization header reaches the upstream unchanged.",
          .fixes = {{"nginx",
                     "do not clear or override Authorization (proxy_set_header Authorization ...) "
                     "unless the proxy itself authenticates"},
                    {"generic", "forward Authorization unchanged"}},
          .probes =
              [](const check_context &) {
                probe_spec p = chat_stream("stream", {.tokens = 2});
                p.headers.push_back("Authorization: Bearer sk-streamcheck-3f9a1c7e");
                return std::vector{p};
              },
          .judge = [](const observations &o, const check_context &) -> verdict {
            if (auto v = unless_forwarded(o, "stream")) return *v;
            const auto *entries = o.journal_of("stream");
            const std::string got = forwarded_header(entries->back(), "Authorization");
            if (got == "Bearer sk-streamcheck-3f9a1c7e") return pass("forwarded unchanged");
            return fail("Authorization: Bearer sk-streamcheck-3f9a1c7e at the upstream",
                        got.empty() ? "no Authorization header" : "Authorization: " + got,
                        "the proxy removes or rewrites Authorization");
          },
          .judges_request_headers = true};
}

check forwarded() {
  // Fault: no X-Forwarded-For/-Proto: upstream logs, rate limits and absolute URLs all see the
  // proxy instead of the client.
  return {
      .id = "headers.forwarded",
      .title = "Client address and scheme are forwarded",
      .severity = level::should,
      .requirement = "X-Forwarded-For and X-Forwarded-Proto (or Forwarded) reach the upstream.",
      .fixes = {{"nginx", "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; "
                          "proxy_set_header X-Forwarded-Proto $scheme;"},
                // fixtures/<kind>/stock fails, forwarded passes (HAProxy, Apache).
                {"haproxy", "option forwardfor, and http-request set-header x-forwarded-proto http "
                            "(https if { ssl_fc })"},
                {"apache", "RequestHeader set X-Forwarded-Proto expr=%{REQUEST_SCHEME} "
                           "(mod_proxy_http adds X-Forwarded-For itself)"},
                {"generic", "add X-Forwarded-For and X-Forwarded-Proto (or Forwarded)"}},
      .probes =
          [](const check_context &) { return std::vector{chat_stream("stream", {.tokens = 2})}; },
      .judge = [](const observations &o, const check_context &) -> verdict {
        if (auto v = unless_forwarded(o, "stream")) return *v;
        const journal_entry &e = o.journal_of("stream")->back();
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
      },
      .needs_proxy = true};
}

} // namespace

void add_headers_checks(std::vector<check> &out) {
  out.push_back(authorization());
  out.push_back(forwarded());
}

} // namespace streamcheck::harness
