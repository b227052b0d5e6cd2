// A small static analysis of the user's Caddyfile, alongside the dynamic checks: for a failing
// check it quotes the user's own line and the change a fixture pair in fixtures/caddy/ proved to
// fix it. It never decides a verdict. Its findings are nginx::finding so nginx::annotate puts them
// into the report the same way.
#pragma once
#include <string>
#include <vector>

#include "harness/nginx/analysis.h"

namespace streamcheck::harness::caddy {

// `text` is the user's Caddyfile as written (its line numbers are the ones quoted).
std::vector<nginx::finding> analyse(const std::string &text, const std::string &file);

} // namespace streamcheck::harness::caddy
