#include "harness/routes.h"

#include <algorithm>

#include "harness/check.h"

namespace streamcheck::harness {

std::optional<route> route_map::find(const std::string &upstream_path) const {
  const auto q = upstream_path.find('?');
  const std::string path = upstream_path.substr(0, q);
  const std::string query = q == std::string::npos ? "" : upstream_path.substr(q);
  if (auto it = exact.find(path); it != exact.end())
    return route{it->second.client_path + query, it->second.via};
  if (restricted) return std::nullopt;
  if (base_path.empty()) return route{upstream_path, ""};
  // base_path ends in '/', every upstream path starts with one.
  return route{base_path + upstream_path.substr(1), "--base-path " + base_path};
}

std::optional<std::string> normalize_base_path(const std::string &value, std::string &problem) {
  if (value.find_first_of("?# \t\r\n") != std::string::npos ||
      value.find("://") != std::string::npos) {
    problem = "a path such as /ollama/, got '" + value + "'"; // the caller names the flag
    return std::nullopt;
  }
  std::string p = value;
  if (p.empty() || p == "/") return std::string();
  if (p.front() != '/') p.insert(p.begin(), '/');
  if (p.back() != '/') p.push_back('/');
  return p;
}

std::vector<std::string> probed_paths() {
  const check_context ctx{.prof = *find_profile("quick"), .tol = tolerances{}};
  std::vector<std::string> out;
  for (const auto &c : catalog())
    for (const auto &spec : c.probes(ctx)) {
      const std::string path = spec.path.substr(0, spec.path.find('?'));
      if (std::find(out.begin(), out.end(), path) == out.end()) out.push_back(path);
    }
  return out;
}

probe_spec for_openai_upstream(probe_spec p) {
  if (p.path != "/api/chat") return p;
  p.path = "/v1/chat/completions";
  std::vector<std::string> headers = {"User-Agent: OpenAI/JS 4.104.0", "Accept: application/json"};
  bool authorization = false;
  for (const auto &h : p.headers) {
    const std::string name = h.substr(0, h.find(':'));
    if (name == "User-Agent" || name == "Accept") continue; // ollama-js's, replaced above
    authorization = authorization || name == "Authorization";
    headers.push_back(h);
  }
  if (!authorization) headers.emplace_back("Authorization: Bearer sk-streamcheck");
  p.headers = std::move(headers);
  return p;
}

} // namespace streamcheck::harness
