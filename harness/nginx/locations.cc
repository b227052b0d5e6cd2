#include "harness/nginx/locations.h"

#include <algorithm>
#include <regex>

#include "common/ascii.h"

namespace streamcheck::harness::nginx {
namespace {

bool is_regex(const std::string &modifier) {
  return modifier == "~" || modifier == "~*";
}

// The location's match string and whether it is a prefix (plain or ^~) match.
std::string location_match(const directive &l) {
  return l.args.size() > 1 ? l.arg(1) : l.arg(0);
}

bool regex_matches(const directive &l, const std::string &uri) {
  try {
    const auto flags =
        l.arg(0) == "~*" ? std::regex::ECMAScript | std::regex::icase : std::regex::ECMAScript;
    return std::regex_search(uri, std::regex(l.arg(1), flags));
  } catch (const std::regex_error &) {
    return false; // PCRE syntax std::regex does not know: not this location, as far as we can tell
  }
}

// proxy_pass URL pieces: "http://" "ollama:11434" "/v1/".
struct pass_target {
  std::string authority;
  std::string uri; // "" when proxy_pass has no URI part
};

std::optional<pass_target> split_pass(const std::string &url) {
  const auto sep = url.find("://");
  if (sep == std::string::npos) return std::nullopt;
  const std::string after = url.substr(sep + 3);
  if (after.rfind("unix:", 0) == 0) {
    const auto colon = after.find(':', 5);
    return pass_target{after.substr(0, colon),
                       colon == std::string::npos ? "" : after.substr(colon + 1)};
  }
  // A variable in the authority can carry the URI too ("$backend$request_uri"): the URI part
  // starts at the first '/' or at $request_uri / $uri.
  auto slash = after.find('/');
  for (const char *v : {"$request_uri", "$uri"})
    if (const auto at = after.find(v); at != std::string::npos && at < slash) slash = at;
  if (slash == std::string::npos) return pass_target{after, ""};
  return pass_target{after.substr(0, slash), after.substr(slash)};
}

// `rewrite REGEX REPLACEMENT break|last` in the location, applied like nginx (first match wins,
// $1.. captures). Returns the URI unchanged when no rewrite applies or one cannot be read.
std::string apply_rewrites(const directive &location, const std::string &uri, bool &rewritten) {
  rewritten = false;
  for (const auto &d : location.children) {
    if (d.name != "rewrite" || d.args.size() < 2) continue;
    try {
      const std::regex re(d.arg(0));
      if (!std::regex_search(uri, re)) continue;
      std::string out =
          std::regex_replace(uri, re, d.arg(1), std::regex_constants::format_first_only);
      rewritten = true;
      return out.substr(0, out.find('?'));
    } catch (const std::regex_error &) {
      continue;
    }
  }
  return uri;
}

// How much an upstream address looks like an LLM server (3 Ollama, 2 OpenAI-compatible server,
// 1 unknown, 0 a web application such as a chat UI in front of one).
int llm_score(const std::string &address) {
  const std::string a = ascii_lower(address);
  if (a.find("ollama") != std::string::npos || a.find(":11434") != std::string::npos) return 3;
  for (const char *app : {"webui", "open-webui", "librechat", "chat-ui", "anythingllm", "frontend"})
    if (a.find(app) != std::string::npos) return 0;
  for (const char *llm : {"vllm", "llama", "litellm", "lmstudio", "tgi", "sglang", "localai"})
    if (a.find(llm) != std::string::npos) return 2;
  for (const char *port : {":8000", ":4000", ":1234", ":8080", ":5000"})
    if (a.size() >= std::char_traits<char>::length(port) &&
        a.compare(a.size() - std::char_traits<char>::length(port), std::string::npos, port) == 0)
      return 2;
  return 1;
}

// `set $name value` anywhere on the way to the location: the values a variable can take.
void collect_sets(const std::vector<directive> &tree,
                  std::vector<std::pair<std::string, std::string>> &out) {
  for (const auto &d : tree) {
    if (!d.block && d.name == "set" && d.args.size() >= 2) out.emplace_back(d.arg(0), d.arg(1));
    if (d.block) collect_sets(d.children, out);
  }
}

// The address behind a proxy_pass authority: an upstream block's first server, variables from
// `set` substituted.
std::string resolve_address(const std::vector<directive> &top, const directive &server,
                            std::string authority) {
  std::vector<std::pair<std::string, std::string>> sets;
  collect_sets(server.children, sets);
  for (const auto &[name, value] : sets) {
    if (name.size() < 2) continue;
    for (const std::string &form : {"${" + name.substr(1) + "}", name})
      for (auto at = authority.find(form); at != std::string::npos; at = authority.find(form))
        authority.replace(at, form.size(), value);
  }
  std::vector<const directive *> blocks;
  for (const auto &d : top)
    if (d.block && d.name == "http")
      for (const auto &u : d.children)
        if (u.block && u.name == "upstream") blocks.push_back(&u);
  for (const directive *u : blocks)
    if (ascii_lower(u->arg(0)) == ascii_lower(authority))
      for (const auto &s : u->children)
        if (s.name == "server" && !s.args.empty()) return s.arg(0);
  return authority;
}

bool loopback(const std::string &address) {
  std::string host = ascii_lower(address);
  if (!host.empty() && host[0] == '[')
    host = host.substr(1, host.find(']') - 1);
  else
    host = host.substr(0, host.find(':'));
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1" ||
         host.rfind("unix", 0) == 0;
}

} // namespace

const directive *find_server(const std::vector<directive> &top, const source_loc &loc,
                             const directive **http) {
  for (const auto &d : top)
    if (d.block && d.name == "http")
      for (const auto &s : d.children)
        if (s.block && s.name == "server" && s.loc.file == loc.file && s.loc.line == loc.line) {
          if (http) *http = &d;
          return &s;
        }
  return nullptr;
}

const directive *find_location(const directive &server, const std::string &uri) {
  const directive *longest = nullptr;
  std::size_t longest_len = 0;
  bool longest_final = false;
  for (const auto &l : server.children) {
    if (!l.block || l.name != "location" || l.args.empty()) continue;
    const std::string m = l.arg(0);
    if (m == "=" && l.args.size() > 1 && l.arg(1) == uri) return &l;
    if (m == "=" || is_regex(m) || m[0] == '@') continue;
    const std::string prefix = location_match(l);
    if (uri.rfind(prefix, 0) == 0 && prefix.size() >= longest_len) {
      longest = &l;
      longest_len = prefix.size();
      longest_final = m == "^~";
    }
  }
  if (longest_final) return longest;
  for (const auto &l : server.children)
    if (l.block && l.name == "location" && l.args.size() >= 2 && is_regex(l.arg(0)) &&
        regex_matches(l, uri))
      return &l;
  return longest;
}

const directive *proxy_pass_of(const directive &location) {
  for (const auto &d : location.children)
    if (!d.block && d.name == "proxy_pass") return &d;
  for (const auto &d : location.children)
    if (d.block && (d.name == "if" || d.name == "limit_except"))
      for (const auto &c : d.children)
        if (!c.block && c.name == "proxy_pass") return &c;
  return nullptr;
}

std::optional<std::string> upstream_uri(const directive &location, const std::string &client_uri) {
  const directive *pass = proxy_pass_of(location);
  if (!pass) return std::nullopt;
  const auto target = split_pass(pass->arg(0));
  if (!target) return std::nullopt;
  bool rewritten = false;
  const std::string uri = apply_rewrites(location, client_uri, rewritten);
  if (rewritten || target->uri.empty()) return uri;
  if (target->uri == "$request_uri" || target->uri == "$uri") return client_uri;
  if (target->uri.find('$') != std::string::npos) return std::nullopt; // cannot tell
  const std::string m = location.arg(0);
  if (m == "=") return target->uri;
  if (is_regex(m) || m[0] == '@') return std::nullopt; // nginx refuses a URI part there
  const std::string prefix = location_match(location);
  if (client_uri.rfind(prefix, 0) != 0) return std::nullopt;
  return target->uri + client_uri.substr(prefix.size());
}

std::string location_label(const directive &location) {
  std::string m;
  for (const auto &a : location.args)
    m += (m.empty() ? "" : " ") + a.raw;
  return "location " + m + " at " + location.loc.str();
}

discovered_routes discover_routes(const std::vector<directive> &top, const source_loc &server_loc,
                                  const std::vector<std::string> &upstream_paths) {
  discovered_routes out;
  out.routes.restricted = true;
  const directive *server = find_server(top, server_loc, nullptr);
  if (!server) {
    out.routes.restricted = false;
    return out;
  }
  const directive *stream_location = nullptr;
  for (const auto &path : upstream_paths) {
    // Candidates: the path itself, then the path under every prefix location (with the location's
    // URI part replaced), each kept only when nginx really maps it back to `path`.
    std::vector<std::string> candidates{path};
    for (const auto &l : server->children) {
      if (!l.block || l.name != "location" || l.args.empty() || !proxy_pass_of(l)) continue;
      const std::string m = l.arg(0);
      if (m == "=" || is_regex(m) || m[0] == '@') continue;
      const std::string prefix = location_match(l);
      const auto target = split_pass(proxy_pass_of(l)->arg(0));
      if (target && !target->uri.empty() && path.rfind(target->uri, 0) == 0)
        candidates.push_back(prefix + path.substr(target->uri.size()));
      if (!prefix.empty() && prefix.back() == '/') candidates.push_back(prefix + path.substr(1));
    }
    const directive *best = nullptr;
    std::string best_client;
    int best_score = -1;
    const directive *seen = nullptr;
    for (const auto &client : candidates) {
      const directive *l = find_location(*server, client);
      if (client == path) seen = l;
      if (!l || upstream_uri(*l, client) != path) continue;
      const int score = llm_score(
          resolve_address(top, *server, split_pass(proxy_pass_of(*l)->arg(0))->authority));
      if (score > best_score) {
        best = l;
        best_client = client;
        best_score = score;
      }
    }
    if (!best) {
      out.routes.unreached[path] =
          seen ? location_label(*seen) +
                     (proxy_pass_of(*seen) ? " sends it elsewhere upstream" : " does not proxy")
               : "no location matches it";
      continue;
    }
    out.routes.exact[path] = route{best_client, location_label(*best)};
    if (path == "/api/chat") out.serves_ollama_api = true;
    if (path == "/v1/chat/completions") out.serves_openai_api = true;
    if (!stream_location || path == "/api/chat") stream_location = best;
  }
  if (stream_location)
    out.upstream_address = resolve_address(
        top, *server, split_pass(proxy_pass_of(*stream_location)->arg(0))->authority);
  return out;
}

upstream_guess infer_upstream(const discovered_routes &d) {
  const std::string &a = d.upstream_address;
  const std::string at = a.empty() ? "" : " at " + a;
  if (d.serves_openai_api && !d.serves_ollama_api)
    return {"openai-only", "assumed: an OpenAI-compatible server" + at +
                               " serving only /v1/ (the config forwards no /api/ route), CORS *; "
                               "Ollama-route checks are not applicable"};
  const int score = llm_score(a);
  if (score == 3 && loopback(a))
    return {"ollama", "assumed: Ollama" + at +
                          " on loopback with its defaults (Host check on, default OLLAMA_ORIGINS)"};
  if (score == 3)
    return {"ollama-lan", "assumed: Ollama bound to a non-loopback address" + at +
                              " (no Host check), default OLLAMA_ORIGINS"};
  if (score == 2)
    return {"openai-only", "assumed: an OpenAI-compatible server" + at +
                               " (vLLM, llama.cpp server, LiteLLM) serving only /v1/, CORS *; "
                               "Ollama-route checks are not applicable"};
  return {"ollama", "assumed: Ollama with its defaults" + at +
                        " (the config does not say what the upstream is; --upstream-profile "
                        "to say)"};
}

} // namespace streamcheck::harness::nginx
