#include "harness/proxy_analysis.h"

#include <nlohmann/json.hpp>

#include "harness/apache/analysis.h"
#include "harness/caddy/analysis.h"
#include "harness/haproxy/analysis.h"
#include "harness/lighttpd/analysis.h"

namespace streamcheck::harness {

std::vector<nginx::finding> analyse_proxy_config(const std::string &kind, const std::string &text,
                                                 const std::string &file, int silence_ms) {
  if (kind == "haproxy") return haproxy::analyse(text, {.file = file, .silence_ms = silence_ms});
  if (kind == "lighttpd") return lighttpd::analyse(text, file);
  if (kind == "apache") return apache::analyse(text, file);
  // Caddy's JSON config has no lines of the user's to quote: only the Caddyfile is analysed.
  if (kind == "caddy" && nlohmann::json::parse(text, nullptr, false).is_discarded())
    return caddy::analyse(text, file);
  return {};
}

void annotate_proxy_config(run_report &r, const std::string &kind, const std::string &text,
                           const std::string &file, int silence_ms) {
  nginx::annotate(r, analyse_proxy_config(kind, text, file, silence_ms));
}

} // namespace streamcheck::harness
