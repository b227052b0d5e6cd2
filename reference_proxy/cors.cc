#include "reference_proxy/cors.h"

#include <algorithm>

namespace streamcheck::proxy {
namespace {

char lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

// '*' matches any run of characters; the rest compares case-insensitively (origins are
// lowercase when browsers send them, config files are written by people).
bool glob_match(std::string_view pattern, std::string_view text) {
  if (pattern.empty()) return text.empty();
  if (pattern.front() == '*') {
    for (std::size_t skip = 0; skip <= text.size(); ++skip)
      if (glob_match(pattern.substr(1), text.substr(skip))) return true;
    return false;
  }
  return !text.empty() && lower(pattern.front()) == lower(text.front()) &&
         glob_match(pattern.substr(1), text.substr(1));
}

// Every method Ollama's and OpenAI's APIs use (DELETE /api/delete, HEAD /).
constexpr std::string_view allowed_methods = "GET, POST, PUT, DELETE, HEAD, OPTIONS";
// Chromium caps this at 2 h; a day lets other browsers cache longer.
constexpr std::string_view preflight_max_age = "86400";

} // namespace

cors_policy::cors_policy(std::vector<std::string> patterns) : patterns_(std::move(patterns)) {
  any_ = std::find(patterns_.begin(), patterns_.end(), "*") != patterns_.end();
}

bool cors_policy::allows(std::string_view origin) const {
  if (origin.empty()) return false;
  if (any_) return true;
  return std::any_of(patterns_.begin(), patterns_.end(),
                     [&](const std::string &p) { return glob_match(p, origin); });
}

header_list cors_policy::response_headers(std::string_view origin) const {
  header_list out;
  if (allows(origin)) out.emplace_back("Access-Control-Allow-Origin", any_ ? "*" : origin);
  // With "*" the answer is the same for every origin; otherwise it depends on Origin.
  if (enabled() && !any_) out.emplace_back("Vary", "Origin");
  return out;
}

cors_policy::preflight_answer cors_policy::answer_preflight(std::string_view origin,
                                                            std::string_view requested) const {
  preflight_answer a;
  if (!allows(origin)) {
    a.status = 403;
    a.refusal = enabled() ? "origin " + std::string(origin) + " is not allowed (--allow-origin)"
                          : "cross-origin requests are not enabled (--allow-origin)";
    return a;
  }
  a.headers.emplace_back("Access-Control-Allow-Origin", any_ ? "*" : origin);
  a.headers.emplace_back("Access-Control-Allow-Methods", allowed_methods);
  // Echoing what was asked for is what lets every SDK's custom headers (x-stainless-*) through.
  if (!requested.empty()) a.headers.emplace_back("Access-Control-Allow-Headers", requested);
  a.headers.emplace_back("Access-Control-Max-Age", preflight_max_age);
  a.headers.emplace_back("Vary", "Origin, Access-Control-Request-Method, "
                                 "Access-Control-Request-Headers");
  return a;
}

bool is_preflight(std::string_view method, const header_list &headers) {
  return method == "OPTIONS" && !find_header(headers, "Origin").empty() &&
         !find_header(headers, "Access-Control-Request-Method").empty();
}

} // namespace streamcheck::proxy
