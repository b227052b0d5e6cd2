// A user's Caddy config, as `caddy adapt` turns it into JSON, rewritten for a test run: no admin
// endpoint, no ACME, no internal CA or trust-store install, storage and logs into the temp
// prefix, every HTTP server on a loopback port, every reverse_proxy upstream the mock. A server
// Caddy would serve over HTTPS keeps TLS, with a throwaway certificate loaded from a file. Editing
// Caddy's own JSON instead of the Caddyfile's text keeps every Caddyfile feature (snippets,
// imports, placeholders) Caddy's adapter already understood.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"

namespace streamcheck::harness::caddy {

struct site {
  std::string server;              // "srv0": the key in apps.http.servers
  std::vector<std::string> listen; // as the config had it (":443", "localhost:8080")
  std::vector<std::string> hosts;  // host matchers its routes had (removed: see rewrite)
  unsigned short port = 0;
  // Caddy serves it over HTTPS (automatic HTTPS or a TLS connection policy): so does the test.
  bool tls = false;
  std::string url() const;
  std::string label() const; // "srv0 (:443 ollama.example.com, TLS)"
};

// Whether Caddy serves this server of apps.http.servers over HTTPS, by the rules of its automatic
// HTTPS (modules/caddyhttp/autohttps.go): TLS connection policies; else, unless automatic HTTPS is
// disabled or every listener is on the HTTP port, listeners all on the HTTPS port or a host
// matcher naming a host it is not told to skip. `http_app` is apps.http (http_port, https_port).
bool serves_https(const nlohmann::json &server, const nlohmann::json &http_app);

struct rewrite_options {
  std::vector<unsigned short> ports; // one per server with a reverse_proxy, in key order
  unsigned short mock_port = 0;
  std::string prefix; // temp directory: storage
  // PEM files of the throwaway certificate and its key the HTTPS servers present.
  std::string certificate, key;
};

struct rewritten {
  nlohmann::json config;
  std::vector<site> sites;
  int upstreams = 0;                  // reverse_proxy handlers pointed at the mock
  bool throwaway_certificate = false; // an HTTPS server presents rewrite_options::certificate
  std::vector<std::string> notes;     // what was changed beyond addresses, for the report
};

// The servers of apps.http.servers that proxy somewhere (a reverse_proxy handler in their
// routes), in key order: the ones the suite tests.
std::vector<std::string> proxying_servers(const nlohmann::json &adapted);

// An error when the config has no HTTP server with a reverse_proxy.
result<rewritten> rewrite(nlohmann::json adapted, const rewrite_options &o);

} // namespace streamcheck::harness::caddy
