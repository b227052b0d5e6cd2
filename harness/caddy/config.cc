#include "harness/caddy/config.h"

#include <algorithm>
#include <cctype>

namespace streamcheck::harness::caddy {
namespace {

using nlohmann::json;

bool has_reverse_proxy(const json &j) {
  if (j.is_object()) {
    if (j.value("handler", "") == "reverse_proxy") return true;
    return std::any_of(j.begin(), j.end(), [](const json &v) { return has_reverse_proxy(v); });
  }
  if (j.is_array())
    return std::any_of(j.begin(), j.end(), [](const json &v) { return has_reverse_proxy(v); });
  return false;
}

// Every reverse_proxy handler below j dials the mock, over plain HTTP, without health checks
// (they would add requests the mock's journal does not expect).
int point_upstreams_at(json &j, unsigned short mock_port, bool &had_upstream_tls) {
  int count = 0;
  if (j.is_object() && j.value("handler", "") == "reverse_proxy") {
    j["upstreams"] = json::array({{{"dial", "127.0.0.1:" + std::to_string(mock_port)}}});
    j.erase("dynamic_upstreams");
    j.erase("health_checks");
    if (j.contains("transport") && j["transport"].contains("tls")) {
      j["transport"].erase("tls");
      had_upstream_tls = true;
    }
    ++count;
  }
  if (j.is_object() || j.is_array())
    for (auto &v : j)
      count += point_upstreams_at(v, mock_port, had_upstream_tls);
  return count;
}

// Host matchers taken out of every route below j (the site under test answers whatever Host the
// suite sends, as nginx's default_server does); the names are kept for the report.
void drop_host_matchers(json &j, std::vector<std::string> &hosts) {
  if (j.is_object() && j.contains("match") && j["match"].is_array()) {
    json kept = json::array();
    for (auto m : j["match"]) {
      if (m.is_object() && m.contains("host")) {
        for (const auto &h : m["host"])
          if (h.is_string()) hosts.push_back(h);
        m.erase("host");
      }
      if (!m.empty()) kept.push_back(m);
    }
    if (kept.empty())
      j.erase("match");
    else
      j["match"] = kept;
  }
  if (j.is_object() || j.is_array())
    for (auto &v : j)
      drop_host_matchers(v, hosts);
}

// The port of a listen address ("localhost:8080", ":443", "tcp/[::1]:8443", "udp/:443-444":
// its first port); -1 when it has none (a unix socket).
int port_of(const std::string &address) {
  std::string a = address;
  if (const auto slash = a.find('/'); slash != std::string::npos && a.find(':') > slash)
    a.erase(0, slash + 1);
  const auto colon = a.rfind(':');
  if (colon == std::string::npos || (a.find(']') != std::string::npos && colon < a.find(']')))
    return -1;
  const std::string digits = a.substr(colon + 1, a.find('-', colon) - colon - 1);
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(),
                                     [](unsigned char c) { return std::isdigit(c) != 0; }))
    return -1;
  return std::stoi(digits);
}

// Whether every listener of the server is on `port` (Caddy's !listenersUseAnyPortOtherThan).
bool listens_only_on(const json &server, int port) {
  for (const auto &l : server.value("listen", json::array()))
    if (!l.is_string() || port_of(l) != port) return false;
  return true;
}

// The names of the host matchers below j, in order.
void host_names(const json &j, std::vector<std::string> &out) {
  if (j.is_object() && j.contains("host") && j["host"].is_array())
    for (const auto &h : j["host"])
      if (h.is_string()) out.push_back(h);
  if (j.is_object() || j.is_array())
    for (const auto &v : j)
      host_names(v, out);
}

bool in(const json &list, const std::string &name) {
  return list.is_array() && std::find(list.begin(), list.end(), name) != list.end();
}

const char *const throwaway_tag = "streamcheck-throwaway";

// The policy of every HTTPS server: the throwaway certificate whatever the SNI (the suite sends
// none to 127.0.0.1; certificate selection falls back to every loaded certificate).
json throwaway_policy() {
  return json::array({{{"certificate_selection", {{"any_tag", json::array({throwaway_tag})}}}}});
}

// The TLS app with nothing but the throwaway certificate loaded from its files.
json throwaway_certificates(const rewrite_options &o) {
  return {{"certificates",
           {{"load_files", json::array({{{"certificate", o.certificate},
                                         {"key", o.key},
                                         {"tags", json::array({throwaway_tag})}}})}}}};
}

// Access logs written to files go to stderr, which streamcheck quotes on failure.
bool logs_to_stderr(json &config) {
  bool changed = false;
  if (!config.contains("logging") || !config["logging"].contains("logs")) return false;
  for (auto &[name, log] : config["logging"]["logs"].items())
    if (log.contains("writer") && log["writer"].value("output", "") == "file") {
      log["writer"] = {{"output", "stderr"}};
      changed = true;
    }
  return changed;
}

} // namespace

std::string site::url() const {
  return std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port);
}

std::string site::label() const {
  std::string s = server + " (";
  for (std::size_t i = 0; i < listen.size(); ++i)
    s += (i ? ", " : "") + listen[i];
  if (!hosts.empty()) s += " " + hosts.front();
  return s + (tls ? ", TLS" : "") + ")";
}

bool serves_https(const json &server, const json &http_app) {
  const json policies = server.value("tls_connection_policies", json::array());
  if (policies.is_array() && !policies.empty()) return true;
  const json automatic = server.value("automatic_https", json::object());
  if (automatic.value("disable", false)) return false;
  if (listens_only_on(server, http_app.value("http_port", 80))) return false;
  if (listens_only_on(server, http_app.value("https_port", 443))) return true;
  std::vector<std::string> hosts;
  for (const auto &route : server.value("routes", json::array()))
    if (route.contains("match")) host_names(route["match"], hosts);
  const json skip = automatic.value("skip", json::array());
  return std::any_of(hosts.begin(), hosts.end(),
                     [&](const std::string &h) { return !in(skip, h); });
}

std::vector<std::string> proxying_servers(const json &adapted) {
  std::vector<std::string> out;
  const json *servers = nullptr;
  if (adapted.contains("apps") && adapted["apps"].contains("http") &&
      adapted["apps"]["http"].contains("servers"))
    servers = &adapted["apps"]["http"]["servers"];
  if (!servers || !servers->is_object()) return out;
  for (const auto &[name, server] : servers->items())
    if (has_reverse_proxy(server.value("routes", json::array()))) out.push_back(name);
  return out;
}

result<rewritten> rewrite(json adapted, const rewrite_options &o) {
  rewritten r;
  const auto names = proxying_servers(adapted);
  if (names.empty())
    return error{"no HTTP server with a reverse_proxy handler: nothing proxies to an upstream"};
  if (o.ports.size() < names.size()) return error{"internal: fewer ports than servers"};

  // No admin endpoint, and no autosave.json in the user's config directory.
  adapted["admin"] = {{"disabled", true}, {"config", {{"persist", false}}}};
  adapted["storage"] = {{"module", "file_system"}, {"root", o.prefix + "/storage"}};
  json &apps = adapted["apps"];
  const json http_app = apps["http"];
  if (apps.contains("tls")) {
    apps.erase("tls");
    r.notes.push_back("Caddy's TLS app (ACME, the certificates it names) left out: nothing is "
                      "requested");
  }
  if (apps.contains("pki")) {
    apps.erase("pki");
    r.notes.push_back("Caddy's internal CA left out: no trust store is touched");
  }
  for (auto it = apps.begin(); it != apps.end();)
    it = it.key() == "http" ? std::next(it) : apps.erase(it);
  if (logs_to_stderr(adapted)) r.notes.push_back("log files written to stderr instead");

  json &servers = apps["http"]["servers"];
  for (auto it = servers.begin(); it != servers.end();)
    if (std::find(names.begin(), names.end(), it.key()) == names.end()) {
      r.notes.push_back("server " + it.key() + " proxies nothing: left out");
      it = servers.erase(it);
    } else {
      ++it;
    }
  bool upstream_tls = false;
  for (std::size_t i = 0; i < names.size(); ++i) {
    json &server = servers[names[i]];
    site s;
    s.server = names[i];
    for (const auto &l : server.value("listen", json::array()))
      if (l.is_string()) s.listen.push_back(l);
    s.tls = serves_https(server, http_app);
    s.port = o.ports[i];
    server["listen"] = json::array({"127.0.0.1:" + std::to_string(s.port)});
    server.erase("listener_wrappers");
    // Automatic HTTPS off: no ACME, no redirect server on port 80, no internal CA.
    server["automatic_https"] = {{"disable", true}};
    if (s.tls)
      server["tls_connection_policies"] = throwaway_policy();
    else
      server.erase("tls_connection_policies");
    drop_host_matchers(server["routes"], s.hosts);
    r.upstreams += point_upstreams_at(server["routes"], o.mock_port, upstream_tls);
    r.throwaway_certificate = r.throwaway_certificate || s.tls;
    r.sites.push_back(std::move(s));
  }
  if (r.throwaway_certificate) {
    apps["tls"] = throwaway_certificates(o);
    r.notes.push_back("HTTPS tested with a throwaway certificate on loopback (Caddy's own, from "
                      "ACME or the files named, is not used)");
  }
  if (upstream_tls) r.notes.push_back("TLS to the upstream left out: the mock speaks plain HTTP");
  r.config = std::move(adapted);
  return r;
}

} // namespace streamcheck::harness::caddy
