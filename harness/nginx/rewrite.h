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
  // A loopback port nothing listens on: grpc_pass/fastcgi_pass/uwsgi_pass/scgi_pass/
  // memcached_pass, and proxy_pass addresses outside the server under test that cannot be
  // resolved, point here so `nginx -t` passes on servers the suite does not test.
  unsigned short dead_port = 0;
  // [0..k) the listeners under test (TLS first), then one per other server; ports_needed().
  std::vector<unsigned short> ports;
  std::string server_name; // --server: pick the server block by server_name
  bool as_root = false;    // add "user root;" (workers must enter the 0700 prefix)
  // nginx's compiled-in prefix (`nginx -V` --prefix): relative load_module paths resolve there,
  // not in our temp prefix. modules_path (--modules-path) is tried when that file is missing.
  std::string nginx_prefix = "/usr/local/nginx";
  std::string modules_path;
  // Certificates and keys that are missing or unreadable here (production-only paths such as
  // /etc/letsencrypt/live/...) become this throwaway pair, unless keep_certificates.
  std::string throwaway_cert, throwaway_key;
  bool keep_certificates = false;
  std::string include_root; // --include-root: absolute paths missing here are looked up under it
};

// One listen of the server under test that the suite runs against.
struct listener {
  unsigned short port = 0; // its loopback port
  bool tls = false;
  std::string label; // "listen 443 ssl http2 (site.conf:4)"
  // `listen 8080 http2` without ssl: nginx before 1.25.1 speaks only h2 with prior knowledge
  // there, which browsers never use (a setup error under --http auto says so).
  bool h2c = false;
  std::string url() const;
};

struct rewritten {
  std::vector<directive> top;
  bool tls = false;                   // listeners[0] is TLS: test over https
  unsigned short port = 0;            // listeners[0]'s loopback port
  std::vector<listener> listeners;    // every listener a browser could reach, TLS first
  std::string server_label;           // "server at nginx.conf:12 (server_name a.example)"
  source_loc server_loc;              // where the server under test is
  std::vector<std::string> notes;     // what was changed that a user may want to know
  std::vector<std::string> dirs;      // directories nginx needs before it starts (cache paths)
  bool throwaway_certificate = false; // the throwaway pair is used: the caller generates it
  int servers = 0;                    // server blocks (http and stream) that need a port
};

// A site snippet (sites-enabled/x.conf: server, upstream, map blocks, no http { }) becomes a whole
// config: wrapped in http { } with an empty events { }. Returns whether it wrapped.
bool wrap_snippet(std::vector<directive> &top);

// How many loopback ports the rewrite needs (one per listen of each server block, at least one).
int ports_needed(const std::vector<directive> &top);

// Errors: no http server, --server matching none, a proxy_pass in the server under test whose
// address comes from a variable that cannot be resolved through set/map to upstream blocks or
// literal addresses, a missing certificate under keep_certificates.
result<rewritten> rewrite(std::vector<directive> top, const rewrite_options &o);

} // namespace streamcheck::harness::nginx
