#include "harness/nginx/rewrite.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

namespace streamcheck::harness::nginx {
namespace {

std::string lower(std::string s) {
  for (auto &c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

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

// proxy_pass URL pieces: "https://" "backend:8080" "/v1/$x".
struct pass_url {
  std::string scheme, authority, rest;
};

bool split_url(const std::string &url, pass_url &u) {
  const auto sep = url.find("://");
  if (sep == std::string::npos) return false;
  u.scheme = url.substr(0, sep + 3);
  const std::string after = url.substr(sep + 3);
  std::size_t end;
  if (after.rfind("unix:", 0) == 0) {
    end = after.find(':', 5);
    end = end == std::string::npos ? after.size() : end + 1;
  } else {
    end = after.find('/');
    if (end == std::string::npos) end = after.size();
  }
  u.authority = after.substr(0, end);
  u.rest = after.substr(end);
  return true;
}

std::string host_of(const std::string &authority) {
  if (!authority.empty() && authority[0] == '[')
    return authority.substr(0, authority.find(']') + 1);
  return authority.substr(0, authority.find(':'));
}

// The variable an authority starts with ("$be", "${be}:8080", "$be$request_uri" - what follows
// the first variable cannot be told apart from the URI): its name, else "".
std::string leading_variable(const std::string &authority) {
  if (authority.size() < 2 || authority[0] != '$') return "";
  if (authority[1] == '{') {
    const auto close = authority.find('}');
    return close == std::string::npos ? "" : authority.substr(2, close - 2);
  }
  std::size_t i = 1;
  while (i < authority.size() &&
         (std::isalnum(static_cast<unsigned char>(authority[i])) || authority[i] == '_'))
    ++i;
  return authority.substr(1, i - 1);
}

struct rewriter {
  const rewrite_options &o;
  rewritten out;
  std::set<std::string> upstreams;                       // lower-case names
  std::map<std::string, std::vector<word *>> var_values; // $name -> every literal it can take
  std::string mock;

  void collect(std::vector<directive> &tree) {
    for (auto &d : tree) {
      if (d.block && d.name == "upstream" && !d.args.empty()) upstreams.insert(lower(d.arg(0)));
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

  bool is_upstream(const std::string &authority) const {
    return upstreams.count(lower(host_of(authority))) > 0;
  }

  result<bool> rewrite_pass(directive &d) {
    pass_url u;
    if (d.args.empty() || !split_url(d.arg(0), u)) {
      if (!d.args.empty() && d.arg(0).find('$') != std::string::npos)
        return error{d.loc.str() + ": \"" + d.text() +
                     "\": a proxy_pass built entirely from variables is not supported (use "
                     "proxy_pass http://$var... with an upstream block or a set/map value)"};
      return true;
    }
    if (u.scheme == "https://")
      out.notes.push_back(d.loc.str() + ": " + d.text() +
                          ": the mock speaks plain HTTP, tested as http://");
    if (u.authority.find('$') != std::string::npos) {
      const std::string var = leading_variable(u.authority);
      auto it = var.empty() ? var_values.end() : var_values.find(var);
      bool ok = it != var_values.end() && !it->second.empty();
      if (ok)
        for (const word *w : it->second)
          if (w->value.find('$') != std::string::npos) ok = false;
      if (!ok)
        return error{d.loc.str() + ": \"" + d.text() + "\": the upstream address comes from " +
                     (var.empty() ? u.authority : "$" + var) +
                     ", which streamcheck cannot resolve to upstream blocks or literal addresses "
                     "(set/map): unsupported; name an upstream block instead"};
      for (word *w : it->second)
        if (!is_upstream(w->value)) *w = {mock, mock};
      d.set_arg(0, "http://" + u.authority + u.rest);
      return true;
    }
    if (is_upstream(u.authority)) {
      d.set_arg(0, "http://" + u.authority + u.rest);
      return true;
    }
    d.set_arg(0, "http://" + mock + u.rest);
    return true;
  }

  result<bool> passes(std::vector<directive> &tree) {
    for (auto &d : tree) {
      if (!d.block && d.name == "proxy_pass") {
        auto r = rewrite_pass(d);
        if (!r) return r;
      }
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
        auto r = passes(d.children);
        if (!r) return r;
      }
    }
    return true;
  }

  // The listen of one server: the first one, moved to 127.0.0.1:port, its flags kept.
  void relisten(directive &server, unsigned short port, bool under_test) {
    std::vector<directive> kept;
    bool done = false, tls = false;
    for (auto &d : server.children) {
      if (d.name != "listen") {
        kept.push_back(std::move(d));
        continue;
      }
      bool quic = false;
      for (const auto &a : d.args)
        if (a.value == "quic") quic = true;
      if (done || quic) continue;
      directive l = make("listen", {"127.0.0.1:" + std::to_string(port)});
      l.loc = d.loc;
      for (std::size_t i = 1; i < d.args.size(); ++i) {
        const std::string &a = d.args[i].value;
        if (a.rfind("ipv6only=", 0) == 0) continue;
        if (a == "ssl") tls = true;
        l.args.push_back(d.args[i]);
      }
      kept.push_back(std::move(l));
      done = true;
    }
    if (!done) kept.insert(kept.begin(), make("listen", {"127.0.0.1:" + std::to_string(port)}));
    server.children = std::move(kept);
    if (under_test) out.tls = tls;
  }

  std::string in_prefix(const std::string &p) const { return o.prefix + "/" + p; }

  bool file_directive(const std::string &name) const {
    static const std::set<std::string> names = {"ssl_certificate",
                                                "ssl_certificate_key",
                                                "ssl_trusted_certificate",
                                                "ssl_client_certificate",
                                                "ssl_dhparam",
                                                "ssl_password_file",
                                                "ssl_crl",
                                                "ssl_stapling_file",
                                                "ssl_session_ticket_key",
                                                "auth_basic_user_file",
                                                "proxy_ssl_certificate",
                                                "proxy_ssl_certificate_key",
                                                "proxy_ssl_trusted_certificate"};
    return names.count(name) > 0;
  }

  int cache_paths = 0;

  // Drops or redirects whatever writes outside the prefix; recurses into blocks.
  void paths(std::vector<directive> &tree) {
    std::vector<directive> kept;
    for (auto &d : tree) {
      if (d.name == "error_log" || d.name == "pid" || d.name == "daemon" || d.name == "user" ||
          ends_with(d.name, "_temp_path"))
        continue;
      if (d.name == "access_log" && !d.args.empty() && d.arg(0) != "off" &&
          d.arg(0).rfind("syslog:", 0) != 0)
        d.set_arg(0, in_prefix("logs/access.log"));
      if (ends_with(d.name, "_cache_path") && !d.args.empty())
        d.set_arg(0, in_prefix("cache/" + std::to_string(++cache_paths)));
      if (file_directive(d.name) && !d.args.empty()) {
        const std::string v = d.arg(0);
        if (!v.empty() && v[0] != '/' && v.find('$') == std::string::npos &&
            v.rfind("data:", 0) != 0 && v.rfind("engine:", 0) != 0)
          d.set_arg(0, o.conf_dir + "/" + v);
      }
      if (d.block) paths(d.children);
      kept.push_back(std::move(d));
    }
    tree = std::move(kept);
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
  return static_cast<int>(http.size() + other.size());
}

result<rewritten> rewrite(std::vector<directive> top, const rewrite_options &o) {
  rewriter rw{o, {}, {}, {}, "127.0.0.1:" + std::to_string(o.mock_port)};
  rw.collect(top);
  auto r = rw.passes(top);
  if (!r) return error{r.message()};

  std::vector<directive *> http, other;
  server_blocks(top, http, other);
  if (http.empty()) return error{"no server { } block inside http { }: nothing to test"};
  if (o.ports.size() < http.size() + other.size())
    return error{"internal: " + std::to_string(http.size() + other.size()) + " ports needed"};
  directive *chosen = nullptr;
  if (!o.server_name.empty()) {
    std::vector<std::string> names;
    for (auto *s : http)
      for (const auto &d : s->children)
        if (d.name == "server_name")
          for (const auto &a : d.args) {
            if (!chosen && lower(a.value) == lower(o.server_name)) chosen = s;
            names.push_back(a.value);
          }
    if (!chosen) {
      std::string list;
      for (const auto &n : names)
        list += (list.empty() ? "" : ", ") + n;
      return error{"--server " + o.server_name + ": no server block has that server_name (" +
                   (list.empty() ? "none is named" : "names: " + list) + ")"};
    }
  } else {
    for (auto *s : http)
      if (!chosen && contains_proxy_pass(*s)) chosen = s;
    if (!chosen) chosen = http.front();
    if (http.size() > 1)
      rw.out.notes.push_back("several server blocks: testing the one at " + chosen->loc.str() +
                             " (pick another with --server NAME)");
  }
  std::size_t next = 1;
  for (auto *s : http) {
    const bool under_test = s == chosen;
    rw.relisten(*s, under_test ? o.ports[0] : o.ports[next++], under_test);
  }
  for (auto *s : other)
    rw.relisten(*s, o.ports[next++], false);
  rw.out.port = o.ports[0];
  rw.out.server_loc = chosen->loc;
  rw.out.server_label = "server at " + chosen->loc.str();
  for (const auto &d : chosen->children)
    if (d.name == "server_name" && !d.args.empty())
      rw.out.server_label += " (server_name " + d.arg(0) + ")";
  rw.out.servers = static_cast<int>(http.size() + other.size());

  rw.paths(top);
  std::vector<directive> head = {make("pid", {rw.in_prefix("nginx.pid")}),
                                 make("error_log", {rw.in_prefix("logs/error.log")})};
  if (o.as_root) head.push_back(make("user", {"root"}));
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
  rw.out.top = std::move(top);
  return std::move(rw.out);
}

} // namespace streamcheck::harness::nginx
