// Ollama's request policies, so a proxy that works only with a relaxed upstream shows it:
// gin-contrib/cors with OLLAMA_ORIGINS, and the allowed-hosts (DNS-rebinding) guard that is active
// when Ollama listens on loopback. See shared/reference/ollama-wire.md §6.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace streamcheck::mock {

struct policy {
  bool cors = true; // false: no CORS middleware at all (a server that knows nothing of browsers)
  bool allow_all_origins = false;
  std::vector<std::string> origins; // exact entries or one-'*' wildcards, lower-case
  bool host_check = true;
  // An OpenAI-compatible server (vLLM, llama.cpp server, LiteLLM): Ollama's own routes (/, /api/*)
  // do not exist there and get a 404.
  bool openai_routes_only = false;
};

// Ollama's built-in allow-list, after any OLLAMA_ORIGINS entries.
std::vector<std::string> default_ollama_origins();

// Profiles: "ollama" (real defaults), "ollama-lan" (OLLAMA_HOST=0.0.0.0 with the default
// OLLAMA_ORIGINS: no Host check, origins still refused), "ollama-open" (OLLAMA_HOST=0.0.0.0,
// OLLAMA_ORIGINS=*), "openai" (a generic OpenAI-compatible server: no host check, CORS "*"),
// "openai-only" (the same, serving only /v1/: vLLM, llama.cpp server, LiteLLM), "bare" (no CORS
// and no host check: OPTIONS gets the router's 405, like servers that never heard of browsers).
std::optional<policy> policy_for_profile(const std::string &name);
// Every name policy_for_profile knows, for usage messages: "ollama, ollama-lan, ...".
const char *profile_names();

// "--origins" value: "default", "*", or a comma list (prepended to the defaults, like
// OLLAMA_ORIGINS).
policy with_origins(policy p, const std::string &spec);

bool origin_allowed(const policy &p, const std::string &origin);
bool host_allowed(const std::string &host_header);

struct policy_decision {
  enum kind {
    proceed,       // route the request; add `headers` to the response
    reject_403,    // bare 403, empty body, Content-Length: 0
    preflight_204, // answer 204 with `headers`, no routing
  } action = proceed;
  std::vector<std::pair<std::string, std::string>> headers;
};

policy_decision decide(const policy &p, const std::string &method, const std::string &origin,
                       const std::string &host, bool has_origin);

} // namespace streamcheck::mock
