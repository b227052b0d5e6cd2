#include "harness/haproxy/config.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "common/ascii.h"
#include "harness/managed/packaged.h"

namespace streamcheck::harness::haproxy {
namespace {

const std::set<std::string> section_keywords = {
    "global",   "defaults", "frontend", "backend",     "listen",  "peers", "resolvers",
    "userlist", "program",  "cache",    "http-errors", "mailers", "ring",  "crt-store"};

// Global settings that need root, detach from the terminal or write outside the temp prefix.
const std::set<std::string> global_dropped = {"chroot", "user",   "group", "uid",
                                              "gid",    "daemon", "nbproc"};

// Server parameters that only make sense against the real upstream (TLS to it, health checks,
// which would add requests the mock's journal does not expect). Value-taking ones first.
const std::set<std::string> server_params_with_value = {"verify", "sni",       "ca-file", "crt",
                                                        "alpn",   "check-sni", "crl-file"};
const std::set<std::string> server_flags_dropped = {"ssl", "check", "check-ssl", "no-check-ssl",
                                                    "no-verifyhost"};

std::string indentation(const std::string &line) {
  return line.substr(0, line.find_first_not_of(" \t"));
}

// A word written back so HAProxy reads it as the same word.
std::string quoted(const std::string &w) {
  const bool plain = !w.empty() && w.find_first_of(" \t#'\"\\") == std::string::npos &&
                     w.find("${") == std::string::npos;
  if (plain) return w;
  std::string out = "\"";
  for (char c : w) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string joined(const std::string &indent, const std::vector<std::string> &words) {
  std::string out = indent;
  for (std::size_t i = 0; i < words.size(); ++i)
    out += (i ? " " : "") + quoted(words[i]);
  return out;
}

bool unreachable_address(const std::string &a) {
  for (const char *p : {"unix@", "abns@", "fd@", "sockpair@", "quic4@", "quic6@", "uxst@", "uxdg@"})
    if (a.rfind(p, 0) == 0) return true;
  return a.rfind('/', 0) == 0;
}

// The section a keyword line opens ("frontend ollama"), or "" when it opens none.
std::string section_of(const std::vector<std::string> &words) {
  if (words.empty() || !section_keywords.count(words[0])) return "";
  return words.size() > 1 ? words[0] + " " + words[1] : words[0];
}

std::string kind_of(const std::string &section) {
  return section.substr(0, section.find(' '));
}

bool is_bind(const parsed_line &p) {
  const std::string k = kind_of(p.section);
  return (k == "frontend" || k == "listen") && p.words.size() >= 2 && p.words[0] == "bind";
}

// Where the certificate of a `crt` parameter would be read from.
std::string certificate_path(const std::string &crt, const std::string &crt_base) {
  if (crt.empty() || crt.front() == '/' || crt_base.empty()) return crt;
  return crt_base + "/" + crt;
}

// A sample fetch of the whole Host header (with or without -i): what routes by name.
bool host_fetch(const std::string &word) {
  const std::string f = ascii_lower(word);
  return f == "hdr(host)" || f == "hdr_dom(host)" || f == "req.hdr(host)" ||
         f == "req.hdr_dom(host)";
}

// The first name `FETCH [-i] [-m str] NAME...` matches; words[at] is the fetch.
std::string matched_name(const std::vector<std::string> &words, std::size_t at) {
  for (std::size_t i = at + 1; i < words.size(); ++i) {
    if (words[i] == "-m") {
      ++i;
    } else if (words[i] == "}" || words[i] == "||" || words[i] == "or") {
      return "";
    } else if (words[i].front() != '-') {
      return words[i];
    }
  }
  return "";
}

struct host_route {
  std::string host;
  std::string backend;
  int line = 0;
};

// The host a `use_backend B if ...` condition requires: a named acl on the Host, or an
// anonymous one ({ hdr(host) -i NAME }). Negated acls (!name) route everything else.
std::string routed_host_of(const std::vector<std::string> &words,
                           const std::map<std::string, std::string> &host_acls) {
  if (words.size() < 4 || words[2] != "if") return "";
  for (std::size_t i = 3; i < words.size(); ++i) {
    if (const auto acl = host_acls.find(words[i]); acl != host_acls.end()) return acl->second;
    if (host_fetch(words[i])) return matched_name(words, i);
  }
  return "";
}

// Per frontend/listen section, its Host-routed use_backend rules; per backend, its servers.
struct routing {
  std::map<std::string, std::vector<host_route>> routes;
  std::map<std::string, std::string> default_backend;
  std::map<std::string, std::vector<std::string>> servers; // backend name -> addresses
};

routing routing_of(const std::vector<parsed_line> &parsed) {
  routing r;
  std::map<std::string, std::map<std::string, std::string>> host_acls; // section -> acl -> host
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    const auto &[section, w] = parsed[i];
    const std::string kind = kind_of(section);
    const std::string name = section.substr(section.find(' ') + 1);
    if ((kind == "backend" || kind == "listen") && w.size() >= 3 && w[0] == "server")
      r.servers[name].push_back(w[2]);
    if (kind != "frontend" && kind != "listen") continue;
    if (w.size() >= 4 && w[0] == "acl" && host_fetch(w[2])) {
      const std::string host = matched_name(w, 2);
      if (!host.empty()) host_acls[section].emplace(w[1], host);
    } else if (w.size() >= 2 && w[0] == "default_backend") {
      r.default_backend[section] = w[1];
    } else if (w.size() >= 4 && w[0] == "use_backend") {
      const std::string host = routed_host_of(w, host_acls[section]);
      if (!host.empty()) r.routes[section].push_back({host, w[1], static_cast<int>(i) + 1});
    }
  }
  return r;
}

// Whether a backend looks like the Ollama one: its name, or a server on Ollama's port.
bool looks_like_ollama(const std::string &backend, const std::vector<std::string> &servers) {
  if (ascii_lower(backend).find("ollama") != std::string::npos) return true;
  return std::any_of(servers.begin(), servers.end(), [](const std::string &a) {
    return a.size() > 6 && a.compare(a.size() - 6, 6, ":11434") == 0;
  });
}

// The route the suite must take to reach a backend with servers that the default does not
// serve: the Ollama-looking one first, else the first.
const host_route *suite_route(const routing &r, const std::string &section) {
  const auto routes = r.routes.find(section);
  if (routes == r.routes.end()) return nullptr;
  const auto def = r.default_backend.find(section);
  const host_route *first = nullptr;
  for (const auto &route : routes->second) {
    const auto servers = r.servers.find(route.backend);
    if (servers == r.servers.end() ||
        (def != r.default_backend.end() && def->second == route.backend))
      continue;
    if (looks_like_ollama(route.backend, servers->second)) return &route;
    if (!first) first = &route;
  }
  return first;
}

std::string rewritten_bind(const std::string &indent, std::vector<std::string> words,
                           unsigned short port, const rewrite_options &o,
                           const std::string &crt_base, rewritten &r) {
  words[1] = "127.0.0.1:" + std::to_string(port);
  for (std::size_t i = 2; i + 1 < words.size(); ++i) {
    if (words[i] == "crt-list") words[i] = "crt";
    if (words[i] != "crt") continue;
    std::error_code ec;
    if (!std::filesystem::exists(certificate_path(words[i + 1], crt_base), ec) &&
        !o.certificate.empty()) {
      r.notes.push_back("certificate " + words[i + 1] + " not found: a throwaway one is used");
      words[i + 1] = o.certificate;
      r.throwaway_certificate = true;
    }
  }
  return joined(indent, words);
}

// The words from `first_param` on without the parameters meant for the real upstream.
std::vector<std::string> without_upstream_params(const std::vector<std::string> &words,
                                                 std::size_t first_param) {
  std::vector<std::string> out(words.begin(), words.begin() + first_param);
  for (std::size_t i = first_param; i < words.size(); ++i) {
    if (server_params_with_value.count(words[i]))
      ++i;
    else if (!server_flags_dropped.count(words[i]))
      out.push_back(words[i]);
  }
  return out;
}

// `server NAME ADDR ...` (address_at 2) or `server-template PREFIX N ADDR ...` (3).
std::string rewritten_server(const std::string &indent, std::vector<std::string> words,
                             std::size_t address_at, unsigned short mock_port) {
  words[address_at] = "127.0.0.1:" + std::to_string(mock_port);
  return joined(indent, without_upstream_params(words, address_at + 1));
}

std::string commented_out(const std::string &line) {
  return "# streamcheck: " + line;
}

} // namespace

std::vector<parsed_line> parse(const std::vector<std::string> &lines) {
  std::vector<parsed_line> out;
  std::string section;
  for (const auto &line : lines) {
    auto words = split_words(line);
    if (const std::string opened = section_of(words); !opened.empty()) section = opened;
    out.push_back({section, std::move(words)});
  }
  return out;
}

std::string bind_site::url() const {
  return std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port);
}

std::string bind_site::label() const {
  return section + " (line " + std::to_string(line) + ": " + address + (tls ? ", TLS" : "") + ")";
}

std::vector<std::string> split_words(const std::string &line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < line.size()) {
        word += line[++i];
      } else {
        word += c;
      }
      continue;
    }
    if (c == '#') break;
    if (c == ' ' || c == '\t' || c == '\r') {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '\\' && i + 1 < line.size()) {
      word += line[++i];
    } else {
      word += c;
    }
  }
  if (in_word) words.push_back(word);
  return words;
}

std::vector<bind_site> find_binds(const std::string &text) {
  std::vector<bind_site> out;
  const auto parsed = parse(managed::split_lines(text));
  const routing routes = routing_of(parsed);
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    const auto &p = parsed[i];
    if (!is_bind(p) || unreachable_address(p.words[1])) continue;
    bind_site b;
    b.section = p.section;
    b.line = static_cast<int>(i) + 1;
    b.address = p.words[1];
    b.tls = std::find(p.words.begin() + 2, p.words.end(), "ssl") != p.words.end();
    if (const host_route *route = suite_route(routes, p.section)) {
      b.routed_host = route->host;
      b.routed_note = p.section + " routes Host " + route->host + " to backend " + route->backend +
                      " (line " + std::to_string(route->line) +
                      "): the suite sends Host: " + route->host + " (--host NAME overrides)";
    }
    out.push_back(b);
  }
  return out;
}

result<rewritten> rewrite(const std::string &text, const rewrite_options &o) {
  const auto lines = managed::split_lines(text);
  const auto parsed = parse(lines);
  rewritten r;
  r.listeners = find_binds(text);
  if (r.listeners.empty())
    return error{"no frontend or listen section with a bind line (TCP address): nothing to test"};
  if (o.ports.size() < r.listeners.size()) return error{"internal: fewer ports than bind lines"};
  std::string crt_base;
  std::size_t next_bind = 0;
  std::ostringstream out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto &w = parsed[i].words;
    const std::string kind = kind_of(parsed[i].section);
    const std::string indent = indentation(lines[i]);
    std::string line = lines[i];
    if (w.empty()) { // blank or a comment
      out << line << '\n';
      continue;
    }
    if (kind == "global" && w[0] == "crt-base" && w.size() > 1) {
      crt_base = w[1];
    } else if (kind == "global" && global_dropped.count(w[0])) {
      line = commented_out(lines[i]);
    } else if (kind == "global" && w[0] == "log" && w.size() >= 3) {
      auto logged = w; // to syslog or a UDP server: this run's lines go to stderr instead
      logged[1] = "stderr";
      line = joined(indent, logged);
    } else if (kind == "global" && w[0] == "pidfile") {
      line = indent + "pidfile " + quoted(o.prefix + "/haproxy.pid");
    } else if (kind == "global" && w[0] == "stats" && w.size() > 1 && w[1] == "socket") {
      line = commented_out(lines[i]);
      r.notes.push_back("stats socket " + (w.size() > 2 ? w[2] : "") + " left out");
    } else if (is_bind(parsed[i])) {
      if (unreachable_address(w[1])) {
        line = commented_out(lines[i]);
      } else {
        r.listeners[next_bind].port = o.ports[next_bind];
        line = rewritten_bind(indent, w, o.ports[next_bind], o, crt_base, r);
        ++next_bind;
      }
    } else if ((kind == "backend" || kind == "listen") && w[0] == "server" && w.size() >= 3) {
      line = rewritten_server(indent, w, 2, o.mock_port);
      ++r.servers;
    } else if ((kind == "backend" || kind == "listen") && w[0] == "server-template" &&
               w.size() >= 4) {
      line = rewritten_server(indent, w, 3, o.mock_port);
      ++r.servers;
    } else if (w[0] == "default-server") {
      line = joined(indent, without_upstream_params(w, 1));
    }
    out << line << '\n';
  }
  if (r.servers == 0)
    return error{"no server line in any backend or listen section: nothing proxies to an upstream"};
  r.text = out.str();
  return r;
}

std::string map_back(const std::string &message, const std::string &copy_path,
                     const std::string &user_path) {
  std::string out = message;
  for (auto at = out.find(copy_path); at != std::string::npos;
       at = out.find(copy_path, at + user_path.size()))
    out.replace(at, copy_path.size(), user_path);
  return out;
}

} // namespace streamcheck::harness::haproxy
