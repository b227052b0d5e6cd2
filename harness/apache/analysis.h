// A small static analysis of the user's Apache config, alongside the dynamic checks: for a failing
// check it quotes the user's own ProxyPass line and the directive a fixture pair in
// fixtures/apache/ proved to fix it. It never decides a verdict. Its findings are nginx::finding so
// nginx::annotate puts them into the report the same way.
#pragma once
#include <string>
#include <vector>

#include "harness/nginx/analysis.h"

namespace streamcheck::harness::apache {

// `text` is the user's file as written (its line numbers are the ones quoted).
std::vector<nginx::finding> analyse(const std::string &text, const std::string &file);

} // namespace streamcheck::harness::apache
