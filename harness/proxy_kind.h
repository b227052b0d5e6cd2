// Which proxy is in front of the mock, from what it shows: the remediation text depends on it.
// HAProxy sends no Server header, so a Server-header lookup alone gave every HAProxy failure the
// generic fix; its error pages and its lower-cased header names (HTX normalises every name, the
// mock sends Go's canonical case) give it away.
#pragma once
#include <string>
#include <vector>

#include "harness/probe.h"

namespace streamcheck::harness {

struct proxy_kind {
  std::string kind = "generic"; // nginx, haproxy, caddy, apache, lighttpd, envoy, ...
  std::string source;           // how it was detected, for the report
};

// The kind a Server (or Via) value names, or "" when it names none we know.
std::string kind_named_in(const std::string &header_value);

// From a run's responses whose URL starts with proxy_url (all when empty): the direct run's are
// the mock's own, which never carry a Server header.
proxy_kind detect_proxy_kind(const std::vector<probe_result> &results,
                             const std::string &proxy_url = "");

} // namespace streamcheck::harness
