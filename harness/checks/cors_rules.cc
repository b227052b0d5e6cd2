#include "harness/checks/cors_rules.h"

#include <algorithm>
#include <cctype>

namespace streamcheck::harness {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool contains(const std::vector<std::string> &v, const std::string &x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

std::vector<std::string> split_list(const std::vector<std::string> &values, bool lower_case) {
  std::vector<std::string> out;
  for (const auto &v : values) {
    std::size_t start = 0;
    while (start <= v.size()) {
      const auto comma = v.find(',', start);
      std::string t =
          v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      const auto b = t.find_first_not_of(" \t");
      t = b == std::string::npos ? "" : t.substr(b, t.find_last_not_of(" \t") - b + 1);
      if (!t.empty()) out.push_back(lower_case ? lower(t) : t);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

} // namespace

std::vector<std::string> header_tokens(const std::vector<std::string> &values) {
  return split_list(values, true);
}

std::optional<std::string> cors_read_problem(const probe_result &r, const std::string &origin,
                                             bool with_credentials) {
  const auto acao = r.header_values("Access-Control-Allow-Origin");
  if (acao.empty()) return "no Access-Control-Allow-Origin";
  if (acao.size() > 1)
    return "Access-Control-Allow-Origin sent " + std::to_string(acao.size()) + " times";
  const std::string v = acao.front();
  if (v != "*" && v != origin)
    return "Access-Control-Allow-Origin '" + v + "' is not '" + origin + "' or '*'";
  if (with_credentials) {
    if (v == "*") return "Access-Control-Allow-Origin '*' with credentials";
    // Exactly "true": a browser joins repeated headers, and "true, true" is not "true".
    const auto acac = r.header_values("Access-Control-Allow-Credentials");
    if (acac.size() != 1 || acac.front() != "true")
      return "credentials without Access-Control-Allow-Credentials: true";
  }
  return std::nullopt;
}

std::optional<std::string> preflight_problem(const probe_result &r, const std::string &origin,
                                             const std::string &method,
                                             const std::vector<std::string> &request_headers) {
  if (r.status < 200 || r.status > 299)
    return "preflight answered HTTP " + std::to_string(r.status) + " (a browser needs 2xx)";
  if (auto p = cors_read_problem(r, origin)) return p;
  // Methods compare case-sensitively ("patch" does not allow PATCH); header names do not.
  const auto methods = split_list(r.header_values("Access-Control-Allow-Methods"), false);
  const bool simple = method == "GET" || method == "HEAD" || method == "POST";
  if (!simple && !contains(methods, method) && !contains(methods, "*"))
    return "Access-Control-Allow-Methods does not include " + method;
  const auto allowed = header_tokens(r.header_values("Access-Control-Allow-Headers"));
  for (const auto &h : request_headers) {
    // The Fetch standard says "*" does not cover Authorization, but Chromium, Firefox and WebKit
    // all accept it (whatwg/fetch#1278); the browser is the judge, so "*" covers every header.
    // cors.preflight still notes a wildcard-only Authorization in its figures.
    const bool wildcard = contains(allowed, "*");
    if (!wildcard && !contains(allowed, h))
      return "Access-Control-Allow-Headers does not include " + h;
  }
  return std::nullopt;
}

std::vector<std::string> doubled_cors_headers(const probe_result &r) {
  std::vector<std::string> out;
  for (const char *name : {"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
                           "Access-Control-Max-Age", "Access-Control-Allow-Methods",
                           "Access-Control-Allow-Headers", "Access-Control-Expose-Headers"}) {
    const auto values = r.header_values(name);
    const bool single_valued = std::string(name) == "Access-Control-Allow-Origin" ||
                               std::string(name) == "Access-Control-Allow-Credentials" ||
                               std::string(name) == "Access-Control-Max-Age";
    if (values.size() > 1 ||
        (single_valued && values.size() == 1 && values[0].find(',') != std::string::npos))
      out.push_back(name);
  }
  return out;
}

} // namespace streamcheck::harness
