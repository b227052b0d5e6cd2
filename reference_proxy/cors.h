// CORS answered in exactly one layer, here: the upstream's own Access-Control-* headers are
// dropped (headers.cc), preflights never reach it, and allowed origins are echoed with
// Vary: Origin. Two layers is what doubles Access-Control-Allow-Origin, which browsers reject.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "reference_proxy/headers.h"

namespace streamcheck::proxy {

class cors_policy {
public:
  // Patterns: exact origins, globs with '*' (http://localhost:*), or "*" for any origin.
  explicit cors_policy(std::vector<std::string> patterns);

  bool allows(std::string_view origin) const;
  bool enabled() const { return !patterns_.empty(); }

  // For any response to a request carrying this Origin (empty: none): the Allow-Origin header
  // when allowed, and Vary: Origin whenever the answer depends on the origin (caches must not
  // hand one origin's answer to another).
  header_list response_headers(std::string_view origin) const;

  struct preflight_answer {
    int status = 204;
    header_list headers;
    std::string refusal; // why a 403, for the JSON body
  };
  // OPTIONS with Origin and Access-Control-Request-Method: answered here, never forwarded (a
  // default Ollama refuses a foreign origin's preflight with 403).
  preflight_answer answer_preflight(std::string_view origin,
                                    std::string_view requested_headers) const;

private:
  std::vector<std::string> patterns_;
  bool any_ = false;
};

bool is_preflight(std::string_view method, const header_list &headers);

} // namespace streamcheck::proxy
