// The static analysis of a managed proxy's config, whatever its kind: nginx has its own (it needs
// the parsed include tree and the location under test); HAProxy, Caddy, lighttpd and Apache go
// through here. Its findings reach the report as nginx's do (nginx::annotate): appended to the fix
// of each failing check they explain, with the user's file:line among the check's locations.
#pragma once
#include <string>
#include <vector>

#include "harness/nginx/analysis.h"
#include "harness/report/report.h"

namespace streamcheck::harness {

// `kind` is "haproxy", "caddy", "lighttpd" or "apache" (others: none); `text` the user's file as
// written, `file` its name as the user gave it, `silence_ms` the profile's silent first token.
std::vector<nginx::finding> analyse_proxy_config(const std::string &kind, const std::string &text,
                                                 const std::string &file, int silence_ms);

// analyse_proxy_config's findings put into the report.
void annotate_proxy_config(run_report &r, const std::string &kind, const std::string &text,
                           const std::string &file, int silence_ms);

} // namespace streamcheck::harness
