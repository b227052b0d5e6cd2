// Turns the user's parsed config into one that runs on loopback in a private prefix: the server
// under test listens on a chosen port, every upstream address is the embedded mock, logs, pid and
// temp files live in the prefix. Everything else (the directives being judged) is untouched.
#pragma once
#include <string>
#include <vector>

#include "common/result.h"
#include "harness/nginx/config.h"

namespace streamcheck::harness::nginx {

struct rewrite_options {
  std::string prefix;   // absolute, private (0700) directory
  std::string conf_dir; // the original config's directory (relative cert paths)
  unsigned short mock_port = 0;
  std::vector<unsigned short> ports; // [0] the server under test, then one per other server
  std::string server_name;           // --server: pick the server block by server_name
  bool as_root = false;              // add "user root;" (workers must enter the 0700 prefix)
};

struct rewritten {
  std::vector<directive> top;
  bool tls = false;               // the server under test listens with ssl: test over https
  unsigned short port = 0;        // its loopback port
  std::string server_label;       // "server at nginx.conf:12 (server_name a.example)"
  source_loc server_loc;          // where the server under test is
  std::vector<std::string> notes; // what was changed that a user may want to know
  int servers = 0;                // server blocks (http and stream) that need a port
};

// A site snippet (sites-enabled/x.conf: server, upstream, map blocks, no http { }) becomes a whole
// config: wrapped in http { } with an empty events { }. Returns whether it wrapped.
bool wrap_snippet(std::vector<directive> &top);

// How many loopback ports the rewrite needs (one per server block with a listen).
int ports_needed(const std::vector<directive> &top);

// Errors: no http server, --server matching none, a proxy_pass whose address comes from a
// variable that cannot be resolved through set/map to upstream blocks or literal addresses.
result<rewritten> rewrite(std::vector<directive> top, const rewrite_options &o);

} // namespace streamcheck::harness::nginx
