// A small static analysis of the user's HAProxy config, alongside the dynamic checks: for a failing
// check it quotes the user's own line (or names the section that lacks one) and the directive a
// fixture pair in fixtures/haproxy/ proved to fix it. It never decides a verdict. Its findings are
// nginx::finding so nginx::annotate puts them into the report the same way.
#pragma once
#include <string>
#include <vector>

#include "harness/nginx/analysis.h"

namespace streamcheck::harness::haproxy {

struct analysis_options {
  std::string file;        // the user's config, as they name it (finding locations)
  int silence_ms = 65'000; // the profile's silent first token / idle gap
};

// Every fault the fixtures prove, for every frontend, listen and backend that carries requests.
std::vector<nginx::finding> analyse(const std::string &text, const analysis_options &o);

// HAProxy time ("50000" (ms), "2s", "500ms", "1m", "1h", "1d", "100us") in ms; -1 when it is not a
// time.
long long parse_time_ms(const std::string &s);

} // namespace streamcheck::harness::haproxy
