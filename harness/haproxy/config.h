// A user's HAProxy config, rewritten for a test run: every `bind` moved to a loopback port,
// every `server` pointed at the mock, what needs root or the machine (chroot, user, daemon,
// stats sockets, pid file) taken out or into the temp prefix. The copy keeps the user's line
// numbers (each rewritten line replaces its original, a dropped one becomes a comment), so
// `haproxy -c` messages map back to the user's file:line by the path alone.
#pragma once
#include <string>
#include <vector>

#include "common/result.h"

namespace streamcheck::harness::haproxy {

// One `bind` line of a frontend or listen section: where the suite will connect.
struct bind_site {
  std::string section; // "frontend ollama"
  int line = 0;        // in the user's file
  bool tls = false;    // `ssl` on the bind line
  std::string address; // as the user wrote it
  unsigned short port = 0;
  // The section sends this Host (an acl on hdr(host), hdr_dom(host) or req.hdr(host) used by
  // `use_backend`) to a backend with servers: the suite sends it, else it meets the default.
  std::string routed_host;
  std::string routed_note; // "frontend web routes Host ollama.example.com to backend ollama ..."
  std::string url() const;
  std::string label() const; // "frontend ollama (line 27: *:8080)"
};

struct rewrite_options {
  std::vector<unsigned short> ports; // one per bind_site, in file order
  unsigned short mock_port = 0;
  std::string prefix;      // temp directory: pid file, stats socket
  std::string certificate; // PEM (certificate + key) for `ssl crt` when the user's is absent
};

struct rewritten {
  std::string text;
  std::vector<bind_site> listeners;
  int servers = 0;                    // `server` / `server-template` lines pointed at the mock
  bool throwaway_certificate = false; // a bind uses rewrite_options::certificate
  std::vector<std::string> notes;     // what was changed beyond addresses, for the report
};

// The bind lines of the file, in order (unix sockets and abns@ are skipped: not reachable).
std::vector<bind_site> find_binds(const std::string &text);

// An error when the file has no frontend/listen with a bind, or no server to point at the mock.
result<rewritten> rewrite(const std::string &text, const rewrite_options &o);

// haproxy -c's message with the copy's path replaced by the user's (the lines are the same).
std::string map_back(const std::string &message, const std::string &copy_path,
                     const std::string &user_path);

// A line as HAProxy reads it: its words and the section it belongs to ("frontend ollama"; "" before
// the first section).
struct parsed_line {
  std::string section;
  std::vector<std::string> words;
};

// Every line of the file in order (element i is line i + 1).
std::vector<parsed_line> parse(const std::vector<std::string> &lines);

// HAProxy's own tokenisation of a config line: whitespace-separated words, '…' and "…" quoting,
// backslash escapes, '#' starting a comment outside quotes. Exposed for the tests.
std::vector<std::string> split_words(const std::string &line);

} // namespace streamcheck::harness::haproxy
