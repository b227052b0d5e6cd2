// How the proxy under test reaches each upstream route. A proxy may serve the API under a prefix
// (`location /ollama/ { proxy_pass http://ollama:11434/; }`), serve only some routes, or front
// an upstream that only speaks the OpenAI API. The checks are written against the upstream's paths
// (/api/chat, /v1/chat/completions); the runner sends each probe to the path the client must use,
// and a check whose route the proxy does not reach is not applicable instead of failed.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "harness/probe.h"

namespace streamcheck::harness {

struct route {
  std::string client_path; // what a client requests at the proxy ("/ollama/api/chat")
  std::string via;         // where the proxy handles it ("location /ollama/ at nginx.conf:12")
};

struct route_map {
  std::string base_path;              // --base-path: prepended to every upstream path
  std::map<std::string, route> exact; // upstream path (no query) -> how the proxy reaches it
  bool restricted = false;            // only the paths in `exact` are reachable
  std::map<std::string, std::string> unreached; // upstream path -> why the proxy does not reach it

  // The client path (query string kept) for an upstream path; nullopt when the proxy does not
  // reach it.
  std::optional<route> find(const std::string &upstream_path) const;
};

// "/ollama" or "ollama/" -> "/ollama/"; "" or "/" -> "". Error text on a bad value.
std::optional<std::string> normalize_base_path(const std::string &value, std::string &problem);

// Every path (no query) the catalog's probes request, in first-use order: what a route map must
// cover.
std::vector<std::string> probed_paths();

// The same request shaped for an upstream that serves only the OpenAI API: /api/chat streams
// become /v1/chat/completions SSE streams with the same scenario. Others are returned unchanged.
probe_spec for_openai_upstream(probe_spec p);

} // namespace streamcheck::harness
