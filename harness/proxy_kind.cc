#include "harness/proxy_kind.h"

#include "common/ascii.h"

namespace streamcheck::harness {
namespace {

// Sentences of each proxy's built-in error pages (HAProxy's errorfiles, nginx's
// ngx_http_special_response, Apache's mod_proxy and core, lighttpd's XHTML page), as they appear
// in 4xx/5xx bodies: what is left when a Server header is removed or renamed. Caddy's own errors
// have an empty body (only its Server header names it).
struct error_page_mark {
  const char *kind;
  const char *text;
};
constexpr error_page_mark error_pages[] = {
    {"haproxy", "No server is available to handle this request."},
    {"haproxy", "The server returned an invalid or incomplete response."},
    {"haproxy", "The server didn't respond in time."},
    {"haproxy", "Your browser sent an invalid request."},
    {"nginx", "<hr><center>nginx"},
    {"apache", "<title>502 Proxy Error</title>"},
    {"apache", "The proxy server received an invalid"},
    {"apache", "request due to maintenance downtime or capacity"},
    {"lighttpd", "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>"},
};

// The field name of a raw header line ("content-type: x" -> "content-type").
std::string field_name(const std::string &line) {
  return line.substr(0, line.find(':'));
}

// Every response header name lower-case, with at least a few to go by. The mock writes Go's
// canonical names (Content-Type, Date), so only a proxy that re-writes names produces this.
bool names_lowercased(const probe_result &r) {
  if (r.http_version == "2") return false; // HTTP/2 lower-cases every name on the wire
  int names = 0;
  for (std::size_t i = 1; i < r.header_lines.size(); ++i) {
    const std::string name = field_name(r.header_lines[i]);
    if (name.empty() || name.size() == r.header_lines[i].size()) continue;
    if (name != ascii_lower(name)) return false;
    ++names;
  }
  return names >= 3;
}

} // namespace

std::string kind_named_in(const std::string &header_value) {
  const std::string s = ascii_lower(header_value);
  for (const char *k : {"streamcheck-proxy", "nginx", "openresty", "haproxy", "caddy", "apache",
                        "lighttpd", "envoy", "traefik"})
    if (s.find(k) != std::string::npos) return std::string(k) == "openresty" ? "nginx" : k;
  return "";
}

proxy_kind detect_proxy_kind(const std::vector<probe_result> &results,
                             const std::string &proxy_url) {
  std::vector<const probe_result *> proxied; // pointers: results hold whole bodies
  for (const auto &r : results)
    if (r.url.rfind(proxy_url, 0) == 0) proxied.push_back(&r);
  for (const auto *r : proxied)
    if (const std::string server = r->header("Server"); !server.empty()) {
      const std::string kind = kind_named_in(server);
      if (!kind.empty()) return {kind, "Server: " + server};
    }
  for (const auto *r : proxied)
    for (const auto &via : r->header_values("Via"))
      if (const std::string kind = kind_named_in(via); !kind.empty()) return {kind, "Via: " + via};
  for (const auto *r : proxied) {
    if (r->status < 400) continue;
    for (const auto &mark : error_pages)
      if (r->body.find(mark.text) != std::string::npos)
        return {mark.kind, std::string("its own HTTP ") + std::to_string(r->status) +
                               " error page (\"" + mark.text + "\")"};
  }
  bool any_server = false;
  int http1_answers = 0, lowercased = 0;
  for (const auto *r : proxied) {
    any_server = any_server || !r->header("Server").empty();
    http1_answers += r->http_version != "2" && r->header_lines.size() > 3;
    lowercased += names_lowercased(*r);
  }
  if (!any_server && lowercased > 0 && lowercased == http1_answers)
    return {"haproxy", "no Server header and every header name in lower case over HTTP/1.1 "
                       "(HAProxy's HTX normalisation)"};
  return {"generic", "not recognised (no Server header, error page or header casing of a known "
                     "proxy); use --proxy-kind"};
}

} // namespace streamcheck::harness
