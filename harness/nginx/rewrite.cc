#include "harness/nginx/rewrite.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <set>
#include <unistd.h>

#include "common/ascii.h"

namespace streamcheck::harness::nginx {
namespace {

bool ends_with(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

directive make(const std::string &name, std::vector<std::string> args) {
  directive d;
  d.name = name;
  for (std::size_t i = 0; i < args.size(); ++i)
    d.set_arg(i, args[i]);
  return d;
}

bool contains_proxy_pass(const directive &d) {
  if (d.name == "proxy_pass") return true;
  for (const auto &c : d.children)
    if (contains_proxy_pass(c)) return true;
  return false;
}

// Server blocks that listen: children named "server" (blocks) of http and stream.
void server_blocks(std::vector<directive> &top, std::vector<directive *> &http,
                   std::vector<directive *> &other) {
  for (auto &d : top)
    if (d.block && (d.name == "http" || d.name == "stream"))
      for (auto &s : d.children)
        if (s.block && s.name == "server") (d.name == "http" ? http : other).push_back(&s);
}

// proxy_pass URL pieces: "http://" "backend" "8080" "/v1/$x". The scheme, host and port may
// each be one variable ("$upstream_proto://", "$upstream_app", "${port}"): linuxserver SWAG
// writes `proxy_pass $upstream_proto://$upstream_app:$upstream_port;`.
struct pass_url {
  std::string scheme; // "http://"
  std::string host;   // "backend", "$app", "[::1]", "unix:/run/x.sock:"
  std::string port;   // "", "8080" or "$port"
  std::string rest;   // the URI part, variables included ("$request_uri")
  std::string str() const { return scheme + host + (port.empty() ? "" : ":" + port) + rest; }
};

std::string host_of(const std::string &authority) {
  if (!authority.empty() && authority[0] == '[')
    return authority.substr(0, authority.find(']') + 1);
  return authority.substr(0, authority.find(':'));
}

// The end of the variable that starts at s[at] ('$'): "$name" or "${name}".
std::size_t variable_end(const std::string &s, std::size_t at) {
  if (at + 1 < s.size() && s[at + 1] == '{') {
    const auto close = s.find('}', at);
    return close == std::string::npos ? s.size() : close + 1;
  }
  std::size_t i = at + 1;
  while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_'))
    ++i;
  return i;
}

// "$name" / "${name}" -> "name"; "" when the word is not one variable.
std::string variable_name(const std::string &token) {
  if (token.size() < 2 || token[0] != '$' || variable_end(token, 0) != token.size()) return "";
  return token[1] == '{' ? token.substr(2, token.size() - 3) : token.substr(1);
}

bool split_url(const std::string &url, pass_url &u) {
  const auto sep = url.find("://");
  if (sep == std::string::npos) return false;
  u.scheme = url.substr(0, sep + 3);
  const std::string after = url.substr(sep + 3);
  std::size_t i = 0;
  if (after.rfind("unix:", 0) == 0) {
    const auto colon = after.find(':', 5);
    i = colon == std::string::npos ? after.size() : colon + 1;
    u.host = after.substr(0, i);
    u.port.clear();
    u.rest = after.substr(i);
    return true;
  }
  if (!after.empty() && after[0] == '$') {
    i = variable_end(after, 0);
  } else if (!after.empty() && after[0] == '[') {
    i = std::min(after.size(), after.find(']') + 1);
  } else {
    i = std::min(after.size(), after.find_first_of(":/$"));
  }
  u.host = after.substr(0, i);
  u.port.clear();
  if (i < after.size() && after[i] == ':') {
    std::size_t end = i + 1;
    if (end < after.size() && after[end] == '$') {
      end = variable_end(after, end);
    } else {
      while (end < after.size() && std::isdigit(static_cast<unsigned char>(after[end])))
        ++end;
    }
    u.port = after.substr(i + 1, end - i - 1);
    i = end;
  }
  u.rest = after.substr(i);
  return true;
}

// The port a listen address names: "80", "[::]:443" -> "443", "127.0.0.1" -> "80"; "" for
// unix: sockets.
std::string listen_port(const std::string &address) {
  if (address.rfind("unix:", 0) == 0) return "";
  const auto bracket = address.rfind(']');
  const auto colon = address.rfind(':');
  if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket))
    return address.substr(colon + 1);
  if (bracket != std::string::npos) return "80";
  return address.find_first_not_of("0123456789") == std::string::npos ? address : "80";
}

bool has_flag(const directive &d, const std::string &flag) {
  for (std::size_t i = 1; i < d.args.size(); ++i)
    if (d.args[i].value == flag) return true;
  return false;
}

// Passes to backends the suite never talks to.
bool other_pass(const std::string &name) {
  static const std::set<std::string> names = {"grpc_pass", "fastcgi_pass", "uwsgi_pass",
                                              "scgi_pass", "memcached_pass"};
  return names.count(name) > 0;
}

bool readable_file(const std::string &path) {
  std::error_code ec;
  return access(path.c_str(), R_OK) == 0 && !std::filesystem::is_directory(path, ec);
}

bool literal_path(const std::string &v) {
  return !v.empty() && v.find('$') == std::string::npos && v.rfind("data:", 0) != 0 &&
         v.rfind("engine:", 0) != 0;
}

// Files nginx reads at startup that may exist only in production; what replaces a missing
// one: the throwaway certificate, its key, or nothing (the directive is dropped).
enum class stand_in { none, cert, key, drop };
stand_in stand_in_for(const std::string &name) {
  if (name == "ssl_certificate" || name == "ssl_trusted_certificate" ||
      name == "ssl_client_certificate")
    return stand_in::cert;
  if (name == "ssl_certificate_key") return stand_in::key;
  if (name == "ssl_dhparam" || name == "ssl_crl" || name == "ssl_stapling_file" ||
      name == "ssl_session_ticket_key" || name == "ssl_password_file")
    return stand_in::drop;
  return stand_in::none;
}

bool file_directive(const std::string &name) {
  static const std::set<std::string> names = {"auth_basic_user_file", "proxy_ssl_certificate",
                                              "proxy_ssl_certificate_key",
                                              "proxy_ssl_trusted_certificate"};
  return names.count(name) > 0 || stand_in_for(name) != stand_in::none;
}

struct rewriter {
  const rewrite_options &o;
  rewritten out;
  std::set<std::string> upstreams;                       // lower-case names
  std::map<std::string, std::vector<word *>> var_values; // $name -> every literal it can take
  std::map<const word *, std::string> assigned;          // set/map values already pointed
  std::string mock;
  std::string dead;
  const directive *chosen = nullptr;
  std::vector<std::string> dead_passes; // "grpc_pass at a.conf:3"
  int cache_paths = 0;

  void collect(std::vector<directive> &tree) {
    for (auto &d : tree) {
      if (d.block && d.name == "upstream" && !d.args.empty())
        upstreams.insert(ascii_lower(d.arg(0)));
      if (!d.block && d.name == "set" && d.args.size() >= 2 && d.arg(0).size() > 1)
        var_values[d.arg(0).substr(1)].push_back(&d.args[1]);
      if (d.block && d.name == "map" && d.args.size() >= 2 && d.arg(1).size() > 1) {
        auto &values = var_values[d.arg(1).substr(1)];
        for (auto &entry : d.children)
          if (entry.name != "hostnames" && entry.name != "volatile" && entry.args.size() == 1)
            values.push_back(&entry.args[0]);
      }
      if (d.block) collect(d.children);
    }
  }

  bool is_upstream(const std::string &host) const {
    return upstreams.count(ascii_lower(host_of(host))) > 0;
  }

  // Every value `token` ($name) can take, when all are literal; nullptr for a request
  // variable ($http_host) or a value built from other variables.
  std::vector<word *> *literal_values(const std::string &token) {
    const std::string name = variable_name(token);
    auto it = name.empty() ? var_values.end() : var_values.find(name);
    if (it == var_values.end() || it->second.empty()) return nullptr;
    for (const word *w : it->second)
      if (w->value.find('$') != std::string::npos) return nullptr;
    return &it->second;
  }

  // Points a set/map value somewhere; the same value needed in two forms is an error.
  result<bool> assign(word *w, const std::string &value, const directive &pass) {
    auto [it, fresh] = assigned.emplace(w, value);
    if (!fresh && it->second != value)
      return error{pass.loc.str() + ": \"" + pass.text() +
                   "\": a variable in this address is also used with a different shape (host "
                   "alone vs host:port) elsewhere; streamcheck cannot point both at its mock"};
    *w = {value, quote(value)};
    return true;
  }

  std::string unresolvable(const directive &d, const std::string &what) const {
    return d.loc.str() + ": \"" + d.text() + "\": the upstream address comes from " + what +
           ", which streamcheck cannot resolve to upstream blocks or literal addresses "
           "(set/map): unsupported; name an upstream block or set the variable to a literal";
  }

  // Outside the server under test an address streamcheck cannot follow is not the user's
  // problem: it points at the closed port and says so.
  result<bool> unreachable_pass(directive &d, bool under_test, const std::string &what) {
    if (under_test) return error{unresolvable(d, what)};
    out.notes.push_back(d.loc.str() + ": " + d.text() + " (not in the server under test): its " +
                        "address comes from " + what + ", pointed at a closed loopback port");
    d.set_arg(0, "http://" + dead);
    return true;
  }

  result<bool> rewrite_pass(directive &d, bool under_test, bool in_stream) {
    if (d.args.empty()) return true;
    pass_url u;
    if (!split_url(d.arg(0), u)) {
      const std::string a = d.arg(0);
      if (in_stream) { // stream { proxy_pass host:port; }: never tested
        if (!is_upstream(a)) d.set_arg(0, dead);
        return true;
      }
      if (a.find('$') != std::string::npos)
        return unreachable_pass(d, under_test, a + " (a URL built entirely from variables)");
      return true;
    }
    if (auto r = point_scheme(u, d, under_test); !r) return r;
    if (variable_name(u.host).empty()) { // a literal host
      if (u.host.find('$') != std::string::npos) return unreachable_pass(d, under_test, u.host);
      if (is_upstream(u.host) && u.port.empty()) {
        d.set_arg(0, u.str());
        return true;
      }
      u.host = "127.0.0.1";
      if (auto r = point_port(u, d); !r) return r;
      d.set_arg(0, u.str());
      return true;
    }
    auto *values = literal_values(u.host);
    if (!values) return unreachable_pass(d, under_test, u.host);
    bool via_upstream = false;
    for (const word *w : *values)
      via_upstream = via_upstream || is_upstream(w->value);
    // A host:port variable takes the mock's address; a host variable followed by a port takes
    // 127.0.0.1 and the port the mock's port (never "127.0.0.1:PORT:8080").
    const std::string host_value = u.port.empty() ? mock : "127.0.0.1";
    for (word *w : *values) {
      if (is_upstream(w->value)) continue;
      if (auto r = assign(w, host_value, d); !r) return r;
    }
    if (!u.port.empty()) {
      if (via_upstream)
        return error{d.loc.str() + ": \"" + d.text() +
                     "\": an upstream block name followed by a port: unsupported"};
      if (auto r = point_port(u, d); !r) return r;
    }
    d.set_arg(0, u.str());
    return true;
  }

  // The mock speaks plain HTTP: a literal scheme becomes http://, a variable's values "http".
  result<bool> point_scheme(pass_url &u, directive &d, bool under_test) {
    const std::string scheme_var = u.scheme.substr(0, u.scheme.size() - 3);
    if (variable_name(scheme_var).empty()) {
      if (u.scheme == "https://")
        out.notes.push_back(d.loc.str() + ": " + d.text() +
                            ": the mock speaks plain HTTP, tested as http://");
      u.scheme = "http://";
      return true;
    }
    auto *values = literal_values(scheme_var);
    if (!values) return unreachable_pass(d, under_test, scheme_var);
    for (word *w : *values) {
      if (ascii_lower(w->value) == "https")
        out.notes.push_back(d.loc.str() + ": " + d.text() + ": " + scheme_var +
                            " is https; the mock speaks plain HTTP, tested as http");
      if (auto r = assign(w, "http", d); !r) return r;
    }
    return true;
  }

  // The port part of an address to the mock's port: a literal is replaced, a variable's
  // set/map values are (so the URL keeps its variables and nginx's runtime semantics).
  result<bool> point_port(pass_url &u, const directive &d) {
    const std::string port = std::to_string(o.mock_port);
    auto *values = variable_name(u.port).empty() ? nullptr : literal_values(u.port);
    if (!values) {
      u.port = port;
      return true;
    }
    for (word *w : *values)
      if (auto r = assign(w, port, d); !r) return r;
    return true;
  }

  // grpc_pass/fastcgi_pass/...: the suite tests proxy_pass only; these point at a closed port
  // so a docker name ("php:9000") does not fail `nginx -t`.
  void point_other_pass(directive &d) {
    if (d.args.empty()) return;
    std::string a = d.arg(0), scheme;
    const auto sep = a.find("://");
    if (sep != std::string::npos) {
      const std::string s = a.substr(0, sep);
      scheme = s == "grpcs" ? "grpc://" : s == "suwsgi" ? "uwsgi://" : s + "://";
      a = a.substr(sep + 3);
    }
    if (is_upstream(a)) return;
    d.set_arg(0, scheme + dead);
    dead_passes.push_back(d.name + " at " + d.loc.str());
  }

  result<bool> passes(std::vector<directive> &tree, bool under_test, bool in_stream) {
    for (auto &d : tree) {
      if (!d.block && d.name == "proxy_pass") {
        auto r = rewrite_pass(d, under_test, in_stream);
        if (!r) return r;
      }
      if (!d.block && other_pass(d.name)) point_other_pass(d);
      if (d.block && d.name == "upstream") {
        for (auto &s : d.children)
          if (s.name == "server" && !s.args.empty()) {
            s.set_arg(0, mock);
            std::vector<word> kept{s.args[0]};
            for (std::size_t i = 1; i < s.args.size(); ++i) {
              const std::string &a = s.args[i].value;
              if (a != "resolve" && a.rfind("service=", 0) != 0 && a.rfind("route=", 0) != 0)
                kept.push_back(s.args[i]);
            }
            s.args = kept;
          }
        continue;
      }
      if (d.block) {
        auto r = passes(d.children, under_test || &d == chosen, in_stream || d.name == "stream");
        if (!r) return r;
      }
    }
    return true;
  }

  directive loopback_listen(const directive &d, unsigned short port, bool &tls) const {
    directive l = make("listen", {"127.0.0.1:" + std::to_string(port)});
    l.loc = d.loc;
    for (std::size_t i = 1; i < d.args.size(); ++i) {
      const std::string &a = d.args[i].value;
      if (a.rfind("ipv6only=", 0) == 0 || a == "proxy_protocol") continue;
      if (a == "ssl") tls = true;
      l.args.push_back(d.args[i]);
    }
    return l;
  }

  // A server not under test: its first listen, moved to 127.0.0.1:port, its flags kept.
  void relisten_other(directive &server, unsigned short port) {
    std::vector<directive> kept;
    bool done = false, tls = false;
    for (auto &d : server.children) {
      if (d.name != "listen") {
        kept.push_back(std::move(d));
        continue;
      }
      if (done || has_flag(d, "quic") || listen_port(d.arg(0)).empty()) continue;
      kept.push_back(loopback_listen(d, port, tls));
      done = true;
    }
    if (!done) kept.insert(kept.begin(), make("listen", {"127.0.0.1:" + std::to_string(port)}));
    server.children = std::move(kept);
  }

  struct candidate {
    std::size_t index;
    bool tls;
  };

  // `if ($scheme = http) { return 301 https://...; }` at server level: a browser on a plain
  // listener is sent to the TLS one and never streams through it.
  static const directive *https_redirect(const directive &server) {
    for (const auto &d : server.children) {
      if (!d.block || d.name != "if") continue;
      std::string condition;
      for (const auto &a : d.args)
        condition += a.value + " ";
      if (condition.find("$scheme") == std::string::npos &&
          condition.find("$https") == std::string::npos)
        continue;
      for (const auto &r : d.children)
        if (r.name == "return" && r.arg(0).size() == 3 && r.arg(0)[0] == '3' &&
            r.arg(1).rfind("https://", 0) == 0)
          return &d;
    }
    return nullptr;
  }

  static bool server_ssl_on(const directive &server) {
    for (const auto &d : server.children)
      if (d.name == "ssl" && d.arg(0) == "on") return true;
    return false;
  }

  // Which listens of the server under test the suite runs against: twins (IPv4 and IPv6 of
  // one port), HTTP/3, unix sockets and plain listeners that redirect to https are dropped
  // with a note.
  std::vector<candidate> reachable_listens(const directive &server, std::vector<bool> &drop) {
    std::vector<candidate> tested;
    const bool ssl_on = server_ssl_on(server); // the obsolete `ssl on;`: every listen is TLS
    std::map<std::string, std::string> seen;   // port + tls -> label
    drop.assign(server.children.size(), false);
    for (std::size_t i = 0; i < server.children.size(); ++i) {
      const directive &d = server.children[i];
      if (d.name != "listen") continue;
      const std::string label = d.text() + " (" + d.loc.str() + ")";
      const std::string port = listen_port(d.arg(0));
      const bool tls = ssl_on || has_flag(d, "ssl");
      drop[i] = true;
      if (has_flag(d, "quic")) {
        out.notes.push_back(label +
                            ": HTTP/3 is not tested (the suite speaks HTTP/1.1 and HTTP/2)");
        continue;
      }
      if (port.empty()) {
        out.notes.push_back(label + ": a unix socket, not reachable by a browser; not tested");
        continue;
      }
      if (has_flag(d, "proxy_protocol"))
        out.notes.push_back(label + ": tested without the PROXY protocol header its load "
                                    "balancer would send");
      const auto [it, fresh] = seen.emplace(port + (tls ? "s" : ""), label);
      if (!fresh) {
        out.notes.push_back(label + ": the same port as " + it->second + ", tested once");
        continue;
      }
      drop[i] = false;
      tested.push_back({i, tls});
    }
    std::stable_sort(tested.begin(), tested.end(),
                     [](const candidate &a, const candidate &b) { return a.tls && !b.tls; });
    const directive *redirect = https_redirect(server);
    if (redirect && !tested.empty() && tested.front().tls)
      for (auto it = tested.begin(); it != tested.end();) {
        if (it->tls) {
          ++it;
          continue;
        }
        const directive &d = server.children[it->index];
        out.notes.push_back(d.text() + " (" + d.loc.str() + "): redirects to https (the if at " +
                            redirect->loc.str() + "), not tested");
        drop[it->index] = true;
        it = tested.erase(it);
      }
    return tested;
  }

  // The server under test: every listen a browser could reach gets its own loopback port,
  // TLS ones first. Returns how many ports it took.
  result<std::size_t> relisten_tested(directive &server) {
    std::vector<bool> drop;
    const auto tested = reachable_listens(server, drop);
    if (tested.empty()) {
      for (const auto &d : server.children)
        if (d.name == "listen")
          return error{"the server at " + server.loc.str() +
                       " has no listener the suite can reach (only HTTP/3 or unix sockets)"};
      server.children.insert(server.children.begin(),
                             make("listen", {"127.0.0.1:" + std::to_string(o.ports[0])}));
      out.listeners.push_back({o.ports[0], false, "no listen (nginx's default, port 80)", false});
      return out.listeners.size();
    }
    std::map<std::size_t, directive> moved;
    for (std::size_t n = 0; n < tested.size(); ++n) {
      const directive &d = server.children[tested[n].index];
      bool flag = false;
      moved.emplace(tested[n].index, loopback_listen(d, o.ports[n], flag));
      out.listeners.push_back({o.ports[n], tested[n].tls, d.text() + " (" + d.loc.str() + ")",
                               !tested[n].tls && has_flag(d, "http2")});
    }
    std::vector<directive> kept;
    for (std::size_t i = 0; i < server.children.size(); ++i) {
      if (drop[i]) continue;
      auto m = moved.find(i);
      kept.push_back(m != moved.end() ? std::move(m->second) : std::move(server.children[i]));
    }
    server.children = std::move(kept);
    return out.listeners.size();
  }

  std::string in_prefix(const std::string &p) const { return o.prefix + "/" + p; }

  // A file path as nginx would open it: relative to the config's directory; under
  // --include-root when it is missing here.
  std::string resolve_file(const std::string &v) const {
    if (!literal_path(v)) return v;
    const std::string full = v[0] == '/' ? v : o.conf_dir + "/" + v;
    if (!readable_file(full) && v[0] == '/' && !o.include_root.empty() &&
        readable_file(o.include_root + v))
      return o.include_root + v;
    return full;
  }

  // In one block: a certificate or key that cannot be read here makes every certificate and
  // key of that block the throwaway pair (a real certificate with a throwaway key would not
  // load). Other missing TLS files are dropped.
  result<bool> certificates(std::vector<directive> &tree) {
    bool pair = false;
    std::vector<std::string> missing;
    std::vector<bool> unreadable(tree.size(), false);
    for (std::size_t i = 0; i < tree.size(); ++i) {
      directive &d = tree[i];
      const stand_in s = stand_in_for(d.name);
      if (s == stand_in::none || d.block || !literal_path(d.arg(0))) continue;
      const std::string path = resolve_file(d.arg(0));
      d.set_arg(0, path);
      if (readable_file(path)) continue;
      const std::string why = access(path.c_str(), F_OK) == 0 ? "not readable" : "missing";
      if (o.keep_certificates)
        return error{d.loc.str() + ": " + d.text() + ": " + why +
                     " here (a production-only path?); without --keep-certificates streamcheck "
                     "tests with a throwaway self-signed certificate"};
      unreadable[i] = true;
      pair = pair || s == stand_in::cert || s == stand_in::key;
      missing.push_back(d.loc.str() + ": " + d.text() + " is " + why);
    }
    if (missing.empty()) return true;
    std::vector<directive> kept;
    for (std::size_t i = 0; i < tree.size(); ++i) {
      directive &d = tree[i];
      const stand_in s = stand_in_for(d.name);
      if (unreadable[i] && s == stand_in::drop) continue;
      const bool own_pair = d.name == "ssl_certificate" || d.name == "ssl_certificate_key";
      if ((own_pair && pair) || (unreadable[i] && s != stand_in::none)) {
        d.set_arg(0, s == stand_in::key ? o.throwaway_key : o.throwaway_cert);
        out.throwaway_certificate = true;
      }
      kept.push_back(std::move(d));
    }
    tree = std::move(kept);
    std::string list;
    for (const auto &m : missing)
      list += (list.empty() ? "" : "; ") + m;
    out.notes.push_back(list + ": tested with a throwaway self-signed certificate (a missing "
                               "dhparam, CRL or ticket key is left out); --keep-certificates "
                               "insists on the real files");
    return true;
  }

  // load_module modules/x.so is relative to nginx's own prefix (Debian: /usr/share/nginx), not
  // the temp prefix nginx runs in here.
  void module_path(directive &d) {
    const std::string v = d.arg(0);
    if (v.empty() || v[0] == '/' || v.find('$') != std::string::npos) return;
    std::string full = o.nginx_prefix + "/" + v;
    if (!readable_file(full) && !o.modules_path.empty()) {
      const std::string alt = o.modules_path + "/" + std::filesystem::path(v).filename().string();
      if (readable_file(alt)) full = alt;
    }
    d.set_arg(0, full);
  }

  // Drops or redirects whatever writes outside the prefix; recurses into blocks.
  result<bool> paths(std::vector<directive> &tree) {
    if (auto r = certificates(tree); !r) return r;
    std::vector<directive> kept;
    for (auto &d : tree) {
      if (d.name == "error_log" || d.name == "pid" || d.name == "daemon" || d.name == "user" ||
          d.name == "lock_file" || ends_with(d.name, "_temp_path"))
        continue;
      if (d.name == "load_module" && !d.args.empty()) module_path(d);
      if (d.name == "access_log" && !d.args.empty() && d.arg(0) != "off" &&
          d.arg(0).rfind("syslog:", 0) != 0)
        d.set_arg(0, in_prefix("logs/access.log"));
      if (ends_with(d.name, "_cache_path") && !d.args.empty()) {
        // nginx creates the last directory of a cache path only: its parent must exist.
        out.dirs.push_back(in_prefix("cache"));
        d.set_arg(0, in_prefix("cache/" + std::to_string(++cache_paths)));
      }
      if (file_directive(d.name) && stand_in_for(d.name) == stand_in::none && !d.args.empty())
        d.set_arg(0, resolve_file(d.arg(0)));
      if (d.block)
        if (auto r = paths(d.children); !r) return r;
      kept.push_back(std::move(d));
    }
    tree = std::move(kept);
    return true;
  }
};

} // namespace

bool wrap_snippet(std::vector<directive> &top) {
  bool has_server = false;
  for (const auto &d : top) {
    if (d.name == "http" || d.name == "events" || d.name == "stream") return false;
    if (d.block && d.name == "server") has_server = true;
  }
  if (!has_server) return false;
  directive http = make("http", {});
  http.block = true;
  http.children = std::move(top);
  directive events = make("events", {});
  events.block = true;
  top = {std::move(events), std::move(http)};
  return true;
}

int ports_needed(const std::vector<directive> &top) {
  auto copy = top;
  std::vector<directive *> http, other;
  server_blocks(copy, http, other);
  int n = 0;
  for (auto *list : {&http, &other})
    for (const directive *s : *list) {
      int listens = 0;
      for (const auto &d : s->children)
        listens += d.name == "listen" ? 1 : 0;
      n += std::max(listens, 1);
    }
  return n;
}

std::string listener::url() const {
  return std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port);
}

namespace {

// --server NAME, else the first server with a proxy_pass, else the first.
result<directive *> choose_server(const std::vector<directive *> &http, const rewrite_options &o,
                                  std::vector<std::string> &notes) {
  directive *chosen = nullptr;
  if (o.server_name.empty()) {
    for (auto *s : http)
      if (!chosen && contains_proxy_pass(*s)) chosen = s;
    if (!chosen) chosen = http.front();
    if (http.size() > 1)
      notes.push_back("several server blocks: testing the one at " + chosen->loc.str() +
                      " (pick another with --server NAME)");
    return chosen;
  }
  std::vector<std::string> names;
  for (auto *s : http)
    for (const auto &d : s->children)
      if (d.name == "server_name")
        for (const auto &a : d.args) {
          if (!chosen && ascii_lower(a.value) == ascii_lower(o.server_name)) chosen = s;
          names.push_back(a.value);
        }
  if (chosen) return chosen;
  std::string list;
  for (const auto &n : names)
    list += (list.empty() ? "" : ", ") + n;
  return error{"--server " + o.server_name + ": no server block has that server_name (" +
               (list.empty() ? "none is named" : "names: " + list) + ")"};
}

// pid, error_log, user at the top; access_log and the temp paths in http { }.
void add_prefix_directives(std::vector<directive> &top, const rewriter &rw, bool as_root) {
  std::vector<directive> head = {make("pid", {rw.in_prefix("nginx.pid")}),
                                 make("error_log", {rw.in_prefix("logs/error.log")})};
  if (as_root) head.push_back(make("user", {"root"}));
  for (auto &d : top)
    if (d.block && d.name == "http") {
      bool has_access_log = false;
      for (const auto &c : d.children)
        if (c.name == "access_log") has_access_log = true;
      std::vector<directive> add;
      if (!has_access_log) add.push_back(make("access_log", {rw.in_prefix("logs/access.log")}));
      for (const char *t : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"})
        add.push_back(
            make(std::string(t) + "_temp_path", {rw.in_prefix(std::string(t) + "_temp")}));
      d.children.insert(d.children.begin(), add.begin(), add.end());
    }
  top.insert(top.begin(), head.begin(), head.end());
}

} // namespace

result<rewritten> rewrite(std::vector<directive> top, const rewrite_options &o) {
  rewriter rw{o,
              {},
              {},
              {},
              {},
              "127.0.0.1:" + std::to_string(o.mock_port),
              "127.0.0.1:" + std::to_string(o.dead_port),
              nullptr,
              {},
              0};
  rw.collect(top);
  std::vector<directive *> http, other;
  server_blocks(top, http, other);
  if (http.empty()) return error{"no server { } block inside http { }: nothing to test"};
  if (o.ports.size() < static_cast<std::size_t>(ports_needed(top)))
    return error{"internal: " + std::to_string(ports_needed(top)) + " ports needed"};
  auto chosen = choose_server(http, o, rw.out.notes);
  if (!chosen) return error{chosen.message()};
  rw.chosen = *chosen;
  if (auto r = rw.passes(top, false, false); !r) return error{r.message()};
  if (!rw.dead_passes.empty()) {
    std::string list;
    for (const auto &p : rw.dead_passes)
      list += (list.empty() ? "" : ", ") + p;
    rw.out.notes.push_back(list + ": pointed at a closed loopback port (the suite tests "
                                  "proxy_pass; these backends are not part of it)");
  }

  auto taken = rw.relisten_tested(**chosen);
  if (!taken) return error{taken.message()};
  std::size_t next = *taken;
  for (auto *s : http)
    if (s != *chosen) rw.relisten_other(*s, o.ports[next++]);
  for (auto *s : other)
    rw.relisten_other(*s, o.ports[next++]);
  rw.out.port = rw.out.listeners.front().port;
  rw.out.tls = rw.out.listeners.front().tls;
  rw.out.server_loc = (*chosen)->loc;
  rw.out.server_label = "server at " + (*chosen)->loc.str();
  for (const auto &d : (*chosen)->children)
    if (d.name == "server_name" && !d.args.empty())
      rw.out.server_label += " (server_name " + d.arg(0) + ")";
  rw.out.servers = static_cast<int>(http.size() + other.size());

  if (auto r = rw.paths(top); !r) return error{r.message()};
  add_prefix_directives(top, rw, o.as_root);
  rw.out.top = std::move(top);
  return std::move(rw.out);
}

} // namespace streamcheck::harness::nginx
