// A user's Apache httpd (2.4) config, read and rewritten for a test run. Apache has no option to
// print the config it read, so streamcheck reads it as Apache does: Include/IncludeOptional
// inlined (globs and directories sorted, relative to ServerRoot), backslash continuations joined,
// <IfModule>/<IfDefine> evaluated against the modules loaded so far. The private copy moves every
// Listen (and the VirtualHost addresses on its port) to a loopback port, points every ProxyPass,
// ProxyPassReverse, BalancerMember and RewriteRule [P] upstream at the mock, and puts the
// run-time paths (PidFile, DefaultRuntimeDir, ErrorLog, CustomLog, Mutex, ScoreBoardFile, SSL
// session cache) into the temp prefix; relative LoadModule paths resolve as Debian's apache2
// does. Every line of the copy remembers the user's file:line, so apache2 -t's "line N of COPY"
// maps back.
#pragma once
#include <string>
#include <vector>

#include "common/result.h"

namespace streamcheck::harness::apache {

// Where a line came from: the user's file (or one it includes) and its line; line 0 for lines
// streamcheck added.
struct origin {
  std::string file;
  int line = 0;
  std::string str() const; // "site.conf:12"
};

struct flat_config {
  std::vector<std::string> lines; // one directive or container line each
  std::vector<origin> origins;    // one per line
  std::string server_root;        // where relative paths resolve
  bool fragment = false;          // loads no module: wrapped by wrap_fragment
  std::vector<std::string> notes; // what streamcheck added, for the report
};

// The user's file with its includes inlined. server_root: "" = the file's own ServerRoot
// directive, else the file's directory (a copy of /etc/apache2 kept together, or /etc/apache2
// itself). A missing Include, a wildcard Include matching nothing, an include loop: errors naming
// file:line, as Apache would refuse them.
result<flat_config> load(const std::string &user_file, const std::string &server_root = "");

// A config that loads no module at all (a site from sites-available, a snippet) is run as Debian
// runs a site: after Debian's default modules (their .conf files from /etc/apache2/mods-available
// when present), mod_proxy, mod_proxy_http, mod_headers and mod_rewrite (mod_ssl, the balancer
// modules when it uses them) from modules_dir, and, when it has no Listen, one Listen per port of
// its VirtualHosts (Debian keeps them in ports.conf). True when it wrapped the config.
bool wrap_fragment(flat_config &c, const std::string &modules_dir = "/usr/lib/apache2");

// One active Listen: where the suite will connect.
struct listener {
  std::string address; // as the user wrote it: "8080", "0.0.0.0:80", "[::]:443"
  std::string port;    // the user's port: "8080"
  origin at;
  bool tls = false; // `Listen 443 https`, or a VirtualHost on its port with SSLEngine on
  unsigned short test_port = 0;
  std::string url() const;
  std::string label() const; // "Listen 8080 (apache2.conf:37)"
};

struct rewrite_options {
  std::vector<unsigned short> ports; // one per listener, in order
  unsigned short mock_port = 0;
  std::string prefix; // temp directory: run/, lock/, logs/, apache2.pid
  // For SSLCertificateFile / SSLCertificateKeyFile when the user's are not on this machine.
  std::string certificate, key;
  std::string modules_dir = "/usr/lib/apache2"; // what a relative LoadModule path resolves against
};

struct rewritten {
  std::string text;
  std::vector<origin> origins; // one per line of text
  std::vector<listener> listeners;
  int upstreams = 0; // ProxyPass/ProxyPassMatch/BalancerMember/RewriteRule [P] pointed at the mock
  bool throwaway_certificate = false;
  std::vector<std::string> notes;
};

// The active Listen lines, in order (inside a false <IfModule> they do not listen).
std::vector<listener> find_listeners(const flat_config &c);

// An error when nothing listens or nothing proxies.
result<rewritten> rewrite(const flat_config &c, const rewrite_options &o);

// apache2 -t's message with "line N of COPY" as "line L of FILE" and any other mention of the
// copy as the user's file.
std::string map_back(const std::string &message, const std::string &copy_path,
                     const std::vector<origin> &origins, const std::string &user_file);

// Apache's tokenisation of a directive's arguments (ap_getword_conf): whitespace-separated
// words, "…" and '…' quoting with backslash escapes. Exposed for the tests.
std::vector<std::string> split_words(const std::string &line);

} // namespace streamcheck::harness::apache
