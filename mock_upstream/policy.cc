#include "mock_upstream/policy.h"

#include <algorithm>
#include <cctype>
#include <unistd.h>

#include "common/ascii.h"
#include "common/asio.h"
#include "common/http_text.h"

namespace streamcheck::mock {
namespace {

bool ends_with(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool wildcard_match(const std::string &pattern, const std::string &origin) {
  const auto star = pattern.find('*');
  if (star == std::string::npos) return pattern == origin;
  const std::string prefix = pattern.substr(0, star);
  const std::string suffix = pattern.substr(star + 1);
  return origin.size() >= prefix.size() + suffix.size() && origin.rfind(prefix, 0) == 0 &&
         ends_with(origin, suffix);
}

// The hostname part of a Host header: "[::1]:8080" -> "::1", "a.b:80" -> "a.b".
std::string host_name(const std::string &host) {
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    return close == std::string::npos ? host : host.substr(1, close - 1);
  }
  const auto colon = host.find(':');
  if (colon != std::string::npos && host.find(':', colon + 1) == std::string::npos)
    return host.substr(0, colon);
  return host;
}

bool is_private_or_local(const asio::ip::address &a) {
  if (a.is_loopback() || a.is_unspecified()) return true;
  if (a.is_v4()) {
    const auto b = a.to_v4().to_bytes();
    return b[0] == 10 || (b[0] == 172 && (b[1] & 0xF0) == 16) || (b[0] == 192 && b[1] == 168);
  }
  const auto v6 = a.to_v6();
  if (v6.is_v4_mapped())
    return is_private_or_local(asio::ip::make_address_v4(asio::ip::v4_mapped, v6));
  return (v6.to_bytes()[0] & 0xFE) == 0xFC; // ULA fc00::/7
}

const char *const allow_methods = "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS";
const char *const allow_headers =
    "Authorization,Content-Type,User-Agent,Accept,X-Requested-With,Openai-Beta,X-Stainless-Arch,"
    "X-Stainless-Async,X-Stainless-Custom-Poll-Interval,X-Stainless-Helper-Method,"
    "X-Stainless-Lang,X-Stainless-Os,X-Stainless-Package-Version,X-Stainless-Poll-Helper,"
    "X-Stainless-Retry-Count,X-Stainless-Runtime,X-Stainless-Runtime-Version,X-Stainless-Timeout";

} // namespace

std::vector<std::string> default_ollama_origins() {
  std::vector<std::string> out;
  for (const char *host : {"localhost", "127.0.0.1", "0.0.0.0"})
    for (const char *scheme : {"http", "https"}) {
      out.push_back(std::string(scheme) + "://" + host);
      out.push_back(std::string(scheme) + "://" + host + ":*");
    }
  for (const char *s :
       {"app://*", "file://*", "tauri://*", "vscode-webview://*", "vscode-file://*"})
    out.emplace_back(s);
  return out;
}

std::optional<policy> policy_for_profile(const std::string &name) {
  if (name == "ollama")
    return policy{.cors = true,
                  .allow_all_origins = false,
                  .origins = default_ollama_origins(),
                  .host_check = true};
  if (name == "ollama-lan")
    return policy{.cors = true,
                  .allow_all_origins = false,
                  .origins = default_ollama_origins(),
                  .host_check = false};
  if (name == "ollama-open" || name == "openai")
    return policy{.cors = true, .allow_all_origins = true, .origins = {}, .host_check = false};
  if (name == "openai-only")
    return policy{.cors = true,
                  .allow_all_origins = true,
                  .origins = {},
                  .host_check = false,
                  .openai_routes_only = true};
  if (name == "bare")
    return policy{.cors = false, .allow_all_origins = false, .origins = {}, .host_check = false};
  return std::nullopt;
}

const char *profile_names() {
  return "ollama, ollama-lan, ollama-open, openai, openai-only, bare";
}

policy with_origins(policy p, const std::string &spec) {
  p.allow_all_origins = false;
  p.origins = default_ollama_origins();
  if (spec == "default") return p;
  std::vector<std::string> extra;
  std::size_t start = 0;
  while (start <= spec.size()) {
    const auto comma = spec.find(',', start);
    const std::string entry =
        ascii_lower(std::string(trim_ows(std::string_view(spec).substr(start, comma - start))));
    if (entry == "*")
      p.allow_all_origins = true;
    else if (!entry.empty())
      extra.push_back(entry);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  p.origins.insert(p.origins.begin(), extra.begin(), extra.end());
  return p;
}

bool origin_allowed(const policy &p, const std::string &origin) {
  if (p.allow_all_origins) return true;
  const std::string o = ascii_lower(std::string(trim_ows(origin)));
  return std::any_of(p.origins.begin(), p.origins.end(),
                     [&](const std::string &pattern) { return wildcard_match(pattern, o); });
}

bool host_allowed(const std::string &host_header) {
  const std::string name = ascii_lower(host_name(host_header));
  if (name.empty() || name == "localhost") return true;
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(name, ec);
  if (!ec) return is_private_or_local(addr);
  char hostname[256] = {};
  if (gethostname(hostname, sizeof hostname - 1) == 0 && name == ascii_lower(hostname)) return true;
  return ends_with(name, ".localhost") || ends_with(name, ".local") || ends_with(name, ".internal");
}

policy_decision decide(const policy &p, const std::string &method, const std::string &origin,
                       const std::string &host, bool has_origin) {
  policy_decision d;
  // gin-contrib/cors runs first: same-origin requests and those without Origin skip it.
  const bool cors_applies = p.cors && has_origin && !origin.empty() && origin != "http://" + host &&
                            origin != "https://" + host;
  if (cors_applies) {
    if (!origin_allowed(p, origin)) {
      d.action = policy_decision::reject_403;
      return d;
    }
    const std::string allow_origin = p.allow_all_origins ? "*" : origin;
    if (method == "OPTIONS") {
      d.action = policy_decision::preflight_204;
      d.headers = {{"Access-Control-Allow-Headers", allow_headers},
                   {"Access-Control-Allow-Methods", allow_methods},
                   {"Access-Control-Allow-Origin", allow_origin},
                   {"Access-Control-Max-Age", "43200"}};
      if (!p.allow_all_origins) {
        d.headers.emplace_back("Vary", "Origin");
        d.headers.emplace_back("Vary", "Access-Control-Request-Method");
        d.headers.emplace_back("Vary", "Access-Control-Request-Headers");
      }
      return d;
    }
    d.headers.emplace_back("Access-Control-Allow-Origin", allow_origin);
    if (!p.allow_all_origins) d.headers.emplace_back("Vary", "Origin");
  }
  if (p.host_check) {
    if (!host_allowed(host)) {
      // Go keeps the CORS headers already set on the writer when the host guard aborts.
      d.action = policy_decision::reject_403;
      return d;
    }
    // Ollama answers OPTIONS for allowed host *names* at once; IP literals fall through.
    boost::system::error_code ec;
    asio::ip::make_address(host_name(host), ec);
    if (method == "OPTIONS" && ec) {
      d.action = policy_decision::preflight_204;
      return d;
    }
  }
  return d;
}

} // namespace streamcheck::mock
