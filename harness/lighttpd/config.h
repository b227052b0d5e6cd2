// A user's lighttpd config, as `lighttpd -p` prints it (includes and include_shell resolved,
// variables expanded, one `key = value` per statement: lighttpd's own parser did the reading),
// rewritten for a test run: every listener (server.port and each $SERVER["socket"]) on a
// loopback port, every proxy.server host the mock, pid and logs into the temp prefix.
#pragma once
#include <string>
#include <vector>

#include "common/result.h"

namespace streamcheck::harness::lighttpd {

struct listener {
  std::string socket; // "server.port 8080" or the $SERVER["socket"] condition's value
  bool tls = false;   // ssl.engine = "enable" for it
  unsigned short port = 0;
  std::string url() const;
  std::string label() const;
};

struct rewrite_options {
  std::vector<unsigned short> ports; // one per listener, in file order
  unsigned short mock_port = 0;
  std::string prefix;      // temp directory: pid file, access log
  std::string certificate; // PEM (certificate + key) for an ssl.pemfile that is absent
};

struct rewritten {
  std::string text;
  std::vector<listener> listeners;
  int upstreams = 0; // proxy.server hosts pointed at the mock
  bool throwaway_certificate = false;
  std::vector<std::string> notes;
};

// `lighttpd -p`'s output as a config lighttpd reads again: the `config { }` wrapper and the
// var.CWD/var.PID lines lighttpd sets itself taken off. An error when it is not that output.
result<std::string> from_printed(const std::string &printed);

// The listeners of a normalized config, in order: server.port first, then each socket block.
std::vector<listener> find_listeners(const std::string &normalized);

// An error when nothing is proxied (no proxy.server host) or nothing listens.
result<rewritten> rewrite(const std::string &normalized, const rewrite_options &o);

} // namespace streamcheck::harness::lighttpd
