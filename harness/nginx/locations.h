// Which location of the server under test handles each API route, and what the upstream behind it
// is. Users put the API under a prefix (`location /ollama/ { proxy_pass http://ollama:11434/; }`)
// next to a static site or a chat UI at `/`: the suite must probe through the prefix, with nginx's
// URI replacement (a proxy_pass with a URI part replaces the matched location prefix), and never
// judge a location that does not proxy.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "harness/nginx/config.h"
#include "harness/routes.h"

namespace streamcheck::harness::nginx {

// The server block at `loc` inside http { } (and that http block), or nullptr.
const directive *find_server(const std::vector<directive> &top, const source_loc &loc,
                             const directive **http);

// nginx's location choice for a URI: exact, then the longest prefix (final with ^~), then the
// first matching regex, else the longest prefix. Nested locations are not followed.
const directive *find_location(const directive &server, const std::string &uri);

// The proxy_pass that serves requests in `location` (its own, or one inside an `if` in it).
const directive *proxy_pass_of(const directive &location);

// The URI nginx sends upstream for `client_uri` handled by `location`, nullopt when the location
// does not proxy: with a URI part in proxy_pass the matched prefix is replaced by it, without one
// the URI goes as is; a `rewrite ... break` in the location applies first.
std::optional<std::string> upstream_uri(const directive &location, const std::string &client_uri);

// "location /ollama/ at nginx.conf:12"
std::string location_label(const directive &location);

struct discovered_routes {
  route_map routes;
  // The upstream address behind the streaming route, as the config names it ("ollama:11434",
  // "127.0.0.1:11434", an upstream block's first server); "" when nothing proxies.
  std::string upstream_address;
  bool serves_ollama_api = false; // /api/chat is forwarded
  bool serves_openai_api = false; // /v1/chat/completions is forwarded
};

// For every upstream path the suite uses, the client path that reaches it through a proxying
// location of the server at `server` (identity first; a prefix location whose upstream looks like
// an LLM server over one that looks like a web app). Paths no proxying location reaches are left
// out of the (restricted) map, with the reason.
discovered_routes discover_routes(const std::vector<directive> &top, const source_loc &server,
                                  const std::vector<std::string> &upstream_paths);

struct upstream_guess {
  std::string profile; // a mock policy profile (mock_upstream/policy.h)
  std::string note;    // "assumed: Ollama bound to a non-loopback address (...), default ..."
};

// The upstream's kind and policy, read from the config: its address (loopback or not), port
// (11434: Ollama; 8000/8080/4000/1234: OpenAI-compatible servers), name, and which API routes
// the config forwards (only /v1/: an OpenAI-compatible server).
upstream_guess infer_upstream(const discovered_routes &d);

} // namespace streamcheck::harness::nginx
