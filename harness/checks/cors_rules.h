// The Fetch standard's CORS rules, as a browser applies them to one response. Pure functions so
// the harness agrees with Chromium (tests/browser checks that it does).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "harness/probe.h"

namespace streamcheck::harness {

// Why a browser at `origin` would refuse to let the page read this response; nullopt if it would
// not. with_credentials: the request was made with credentials: 'include'.
std::optional<std::string> cors_read_problem(const probe_result &r, const std::string &origin,
                                             bool with_credentials = false);

// Why a preflight for `method` with `request_headers` (lower-case) would fail; nullopt if not.
std::optional<std::string> preflight_problem(const probe_result &r, const std::string &origin,
                                             const std::string &method,
                                             const std::vector<std::string> &request_headers);

// Access-Control-* headers that occur more than once, or whose single value is a list where the
// standard allows one value (Allow-Origin, Allow-Credentials, Max-Age).
std::vector<std::string> doubled_cors_headers(const probe_result &r);

// Splits "a, b,c" into lower-case trimmed tokens.
std::vector<std::string> header_tokens(const std::vector<std::string> &values);

} // namespace streamcheck::harness
