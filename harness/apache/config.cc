#include "harness/apache/config.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <glob.h>
#include <map>
#include <set>

namespace streamcheck::harness::apache {
namespace {

namespace fs = std::filesystem;

// Debian's apache2 has these compiled in (`apache2 -l`): <IfModule> of them is always true.
const std::set<std::string> builtin_modules = {
    "core_module",       "so_module",    "watchdog_module", "http_module",
    "log_config_module", "logio_module", "version_module",  "unixd_module",
    "mod_so.c",          "core.c",       "mod_watchdog.c",  "http_core.c",
    "mod_log_config.c",  "mod_logio.c",  "mod_version.c",   "mod_unixd.c"};

// Debian's default-enabled modules (a fresh `apt-get install apache2`), then what a reverse
// proxy for Ollama needs.
const char *const debian_default_modules[] = {
    "mpm_event",  "access_compat", "alias",      "auth_basic",  "authn_core", "authn_file",
    "authz_core", "authz_host",    "authz_user", "autoindex",   "deflate",    "dir",
    "env",        "filter",        "mime",       "negotiation", "reqtimeout", "setenvif",
    "status",     "proxy",         "proxy_http", "headers",     "rewrite"};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// One word of a line and where it is, so a rewrite replaces just that word.
struct word {
  std::string text;
  std::size_t begin = 0, end = 0;
};

std::vector<word> words_of(const std::string &line) {
  std::vector<word> out;
  std::size_t i = 0;
  while (true) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i])))
      ++i;
    if (i >= line.size()) break;
    word w;
    w.begin = i;
    if (line[i] == '"' || line[i] == '\'') {
      const char quote = line[i++];
      for (; i < line.size() && line[i] != quote; ++i) {
        if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == quote) ++i;
        w.text += line[i];
      }
      if (i < line.size()) ++i;
    } else {
      for (; i < line.size() && !std::isspace(static_cast<unsigned char>(line[i])); ++i)
        w.text += line[i];
    }
    w.end = i;
    out.push_back(std::move(w));
  }
  return out;
}

// A directive line's words; a container line's ("<VirtualHost *:80>") without its < and >.
std::vector<word> directive_words(const std::string &line) {
  auto w = words_of(line);
  if (w.empty() || w.front().text.rfind('<', 0) != 0) return w;
  w.front().text.erase(0, 1);
  w.front().begin += 1;
  if (w.back().text == ">") {
    w.pop_back();
  } else if (!w.back().text.empty() && w.back().text.back() == '>') {
    w.back().text.pop_back();
    w.back().end -= 1;
  }
  return w;
}

bool is_comment(const std::string &line) {
  const auto first = line.find_first_not_of(" \t");
  return first == std::string::npos || line[first] == '#';
}

std::string quoted(const std::string &s) {
  if (!s.empty() && s.find_first_of(" \t\"'") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '\\';
    out += c;
  }
  return out + "\"";
}

// The line with each (word, new text) replaced, the rest as the user wrote it.
std::string replaced(const std::string &line, std::vector<std::pair<word, std::string>> edits) {
  std::sort(edits.begin(), edits.end(),
            [](const auto &a, const auto &b) { return a.first.begin > b.first.begin; });
  std::string out = line;
  for (const auto &[w, text] : edits)
    out.replace(w.begin, w.end - w.begin, quoted(text));
  return out;
}

std::string expand_env(std::string s) {
  for (auto at = s.find("${"); at != std::string::npos; at = s.find("${", at)) {
    const auto close = s.find('}', at);
    if (close == std::string::npos) break;
    const char *value = std::getenv(s.substr(at + 2, close - at - 2).c_str());
    if (!value) {
      at = close;
      continue;
    }
    s.replace(at, close + 1 - at, value);
    at += std::string(value).size();
  }
  return s;
}

std::string absolute_in(const std::string &root, const std::string &path) {
  return path.rfind('/', 0) == 0 ? path : (fs::path(root) / path).lexically_normal().string();
}

// ---- reading: includes inlined --------------------------------------------------------------

struct reader {
  flat_config &out;
  std::vector<std::string> stack; // files being read (an include loop is an error)

  // The files an Include names, sorted as Apache reads them; an error as Apache gives it.
  result<std::vector<std::string>> included_files(const std::string &pattern, bool optional,
                                                  const origin &at) {
    const std::string path = absolute_in(out.server_root, expand_env(pattern));
    std::vector<std::string> files;
    std::error_code ec;
    if (path.find_first_of("*?[") != std::string::npos) {
      glob_t g{};
      if (glob(path.c_str(), 0, nullptr, &g) == 0)
        for (std::size_t i = 0; i < g.gl_pathc; ++i)
          files.emplace_back(g.gl_pathv[i]);
      globfree(&g);
      std::erase_if(files, [](const std::string &f) { return fs::is_directory(f); });
      if (files.empty() && !optional)
        return error{at.str() + ": Include " + pattern + ": no file matches the wildcard (" +
                     "IncludeOptional allows none)"};
    } else if (fs::is_directory(path, ec)) {
      for (const auto &e : fs::recursive_directory_iterator(path, ec))
        if (e.is_regular_file()) files.push_back(e.path().string());
    } else if (fs::exists(path, ec)) {
      files.push_back(path);
    } else if (!optional) {
      return error{at.str() + ": Include " + pattern + ": no such file (" + path + ")"};
    }
    std::sort(files.begin(), files.end());
    return files;
  }

  result<bool> read(const std::string &file, int depth) {
    if (depth > 16 || std::find(stack.begin(), stack.end(), file) != stack.end())
      return error{file + ": included from itself (an include loop)"};
    std::ifstream in(file);
    if (!in) return error{file + ": cannot read it"};
    stack.push_back(file);
    std::string line, pending;
    int number = 0, first = 0;
    while (std::getline(in, line)) {
      ++number;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (pending.empty()) first = number;
      if (!line.empty() && line.back() == '\\') { // continued on the next line
        pending += line.substr(0, line.size() - 1) + " ";
        continue;
      }
      if (auto added = add(pending + line, {file, first}, depth); !added) return added;
      pending.clear();
    }
    if (!pending.empty())
      if (auto added = add(pending, {file, first}, depth); !added) return added;
    stack.pop_back();
    return true;
  }

  result<bool> add(const std::string &line, const origin &at, int depth) {
    const auto w = is_comment(line) ? std::vector<word>{} : directive_words(line);
    const std::string name = w.empty() ? "" : lower(w[0].text);
    if ((name == "include" || name == "includeoptional") && w.size() >= 2) {
      out.lines.push_back("# streamcheck: " + line.substr(line.find_first_not_of(" \t")));
      out.origins.push_back(at);
      auto files = included_files(w[1].text, name == "includeoptional", at);
      if (!files) return error{files.message()};
      for (const auto &f : *files)
        if (auto read_it = read(f, depth + 1); !read_it) return read_it;
      return true;
    }
    out.lines.push_back(line);
    out.origins.push_back(at);
    return true;
  }
};

// The ServerRoot directive of the user's main file, if any (Apache needs it before relative
// includes, so it is at the top level of that file).
std::string server_root_directive(const std::string &file) {
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    const auto w = is_comment(line) ? std::vector<word>{} : directive_words(line);
    if (w.size() >= 2 && lower(w[0].text) == "serverroot") return expand_env(w[1].text);
  }
  return "";
}

// ---- which lines Apache acts on ---------------------------------------------------------------

struct line_scope {
  bool active = true; // not inside a false <IfModule>/<IfDefine>
  int vhost = -1;     // the <VirtualHost> line it is inside, or -1
};

std::string module_c_name(const std::string &so_path) {
  const std::string base = fs::path(so_path).stem().string(); // mod_proxy
  return base + ".c";
}

std::vector<line_scope> scopes_of(const flat_config &c) {
  std::vector<line_scope> scopes(c.lines.size());
  std::set<std::string> loaded = builtin_modules;
  std::set<std::string> defined = {"FOREGROUND"}; // the -D streamcheck runs apache2 with
  std::vector<line_scope> stack{{}};
  for (std::size_t i = 0; i < c.lines.size(); ++i) {
    const std::string &line = c.lines[i];
    scopes[i] = stack.back();
    if (is_comment(line)) continue;
    const auto w = directive_words(line);
    if (w.empty()) continue;
    const std::string name = lower(w[0].text);
    if (line.find_first_not_of(" \t") != std::string::npos &&
        line[line.find_first_not_of(" \t")] == '<') {
      if (name.rfind('/', 0) == 0) {
        if (stack.size() > 1) stack.pop_back();
        scopes[i] = stack.back();
        continue;
      }
      line_scope inner = stack.back();
      if ((name == "ifmodule" || name == "ifdefine") && w.size() >= 2) {
        std::string arg = w[1].text;
        const bool negated = !arg.empty() && arg[0] == '!';
        if (negated) arg.erase(0, 1);
        const bool known = name == "ifmodule" ? loaded.count(arg) > 0 : defined.count(arg) > 0;
        inner.active = inner.active && known != negated;
      }
      if (name == "virtualhost") inner.vhost = static_cast<int>(i);
      stack.push_back(inner);
      scopes[i] = inner;
      continue;
    }
    if (!scopes[i].active) continue;
    if (name == "loadmodule" && w.size() >= 3) {
      loaded.insert(w[1].text);
      loaded.insert(module_c_name(w[2].text));
    }
    if (name == "define" && w.size() >= 2) defined.insert(w[1].text);
  }
  return scopes;
}

// "0.0.0.0:80" -> "80", "[::]:443" -> "443", "8080" -> "8080", "*" -> "".
std::string port_of(const std::string &address) {
  if (address.rfind('[', 0) == 0) {
    const auto close = address.find("]:");
    return close == std::string::npos ? "" : address.substr(close + 2);
  }
  const auto colon = address.rfind(':');
  if (colon != std::string::npos) return address.substr(colon + 1);
  return std::all_of(address.begin(), address.end(), ::isdigit) && !address.empty() ? address : "";
}

std::string host_of(const std::string &address) {
  const std::string port = port_of(address);
  if (port.empty()) return address;
  return address.size() > port.size() ? address.substr(0, address.size() - port.size() - 1) : "";
}

bool opens(const std::vector<word> &w, const std::string &line, const std::string &container) {
  const auto first = line.find_first_not_of(" \t");
  return !w.empty() && first != std::string::npos && line[first] == '<' &&
         lower(w[0].text) == container;
}

// The ports of every VirtualHost whose block has `SSLEngine on`.
std::set<std::string> tls_vhost_ports(const flat_config &c, const std::vector<line_scope> &scopes) {
  std::set<std::string> ports;
  for (std::size_t i = 0; i < c.lines.size(); ++i) {
    if (!scopes[i].active || scopes[i].vhost < 0 || is_comment(c.lines[i])) continue;
    const auto w = directive_words(c.lines[i]);
    if (w.size() < 2 || lower(w[0].text) != "sslengine" || lower(w[1].text) != "on") continue;
    const auto vw = directive_words(c.lines[static_cast<std::size_t>(scopes[i].vhost)]);
    for (std::size_t k = 1; k < vw.size(); ++k)
      ports.insert(port_of(vw[k].text));
  }
  return ports;
}

// "http://backend:11434/api/" -> "http://127.0.0.1:MOCK/api/"; "" when it is no HTTP backend
// (balancer://, fcgi://, "!").
std::string to_mock(const std::string &url, unsigned short mock_port) {
  std::string target = url;
  if (lower(target).rfind("unix:", 0) == 0) { // unix:/run/x.sock|http://localhost/path
    const auto bar = target.find('|');
    if (bar == std::string::npos) return "";
    target = target.substr(bar + 1);
  }
  const auto scheme_end = target.find("://");
  if (scheme_end == std::string::npos) return "";
  const std::string scheme = lower(target.substr(0, scheme_end));
  if (scheme != "http" && scheme != "https" && scheme != "ws" && scheme != "wss" &&
      scheme != "h2" && scheme != "h2c")
    return "";
  const auto path = target.find('/', scheme_end + 3);
  return "http://127.0.0.1:" + std::to_string(mock_port) +
         (path == std::string::npos ? "" : target.substr(path));
}

// A RewriteRule's flags ("[P,L]", "[proxy]") include the proxy flag.
bool proxy_flag(const std::string &flags) {
  std::string list = lower(flags);
  std::erase_if(list, [](char ch) { return ch == '[' || ch == ']'; });
  for (std::size_t start = 0; start <= list.size();) {
    const auto comma = std::min(list.find(',', start), list.size());
    const std::string flag = list.substr(start, comma - start);
    if (flag == "p" || flag == "proxy") return true;
    start = comma + 1;
  }
  return false;
}

// ---- the rewrite -----------------------------------------------------------------------------

struct rewriter {
  rewriter(const flat_config &config, const rewrite_options &options) : c(config), o(options) {}

  const flat_config &c;
  const rewrite_options &o;
  rewritten out;
  std::vector<line_scope> scopes = scopes_of(c);
  std::set<int> vhosts_with_throwaway;

  // Whether a line sends requests to a backend (ProxyPass to a URL or a balancer, RewriteRule [P]).
  bool proxies(std::size_t i) const {
    if (!scopes[i].active || is_comment(c.lines[i])) return false;
    const auto w = directive_words(c.lines[i]);
    const std::string name = w.empty() ? "" : lower(w[0].text);
    if (name == "rewriterule")
      return w.size() >= 4 && proxy_flag(w[3].text) && !to_mock(w[2].text, 1).empty();
    if (name != "proxypass" && name != "proxypassmatch") return false;
    return std::any_of(w.begin() + 1, w.end(), [](const word &x) {
      return !to_mock(x.text, 1).empty() || lower(x.text).rfind("balancer://", 0) == 0;
    });
  }

  // Name-based virtual hosts: the suite's Host (127.0.0.1:PORT) matches no ServerName, so the
  // first VirtualHost on the port answers. When that one proxies nothing and a later one does,
  // the later one (its <VirtualHost> line) gets ServerAlias 127.0.0.1 so the suite reaches it.
  std::set<int> answering_vhosts() {
    std::map<int, bool> vhost_proxies; // by <VirtualHost> line, in file order
    for (std::size_t i = 0; i < c.lines.size(); ++i) {
      const int v = scopes[i].vhost;
      if (v == static_cast<int>(i) && scopes[i].active) vhost_proxies.emplace(v, false);
      if (v >= 0 && v != static_cast<int>(i) && proxies(i)) vhost_proxies[v] = true;
    }
    std::set<int> answering;
    std::set<std::string> ports_done;
    for (const auto &l : out.listeners) {
      if (!ports_done.insert(l.port).second) continue;
      std::vector<int> on_port;
      for (const auto &[v, proxying] : vhost_proxies) {
        const auto vw = directive_words(c.lines[static_cast<std::size_t>(v)]);
        if (std::any_of(vw.begin() + 1, vw.end(),
                        [&](const word &x) { return port_of(x.text) == l.port; }))
          on_port.push_back(v);
      }
      if (on_port.empty() || vhost_proxies[on_port.front()]) continue;
      const auto first_proxying =
          std::find_if(on_port.begin(), on_port.end(), [&](int v) { return vhost_proxies[v]; });
      if (first_proxying == on_port.end()) continue;
      answering.insert(*first_proxying);
      out.notes.push_back(
          "the first VirtualHost on port " + l.port + " (" +
          c.origins[static_cast<std::size_t>(on_port.front())].str() +
          ") proxies nothing: the one at " +
          c.origins[static_cast<std::size_t>(*first_proxying)].str() +
          " is tested (ServerAlias 127.0.0.1 added, so the suite's Host reaches it)");
    }
    return answering;
  }

  unsigned short port_for(const std::string &address) const {
    for (const auto &l : out.listeners) // the same address first, then the same port
      if (l.address == address) return l.test_port;
    for (const auto &l : out.listeners)
      if (l.port == port_of(address)) return l.test_port;
    return 0;
  }

  std::string private_path(const std::string &name) const { return o.prefix + "/" + name; }

  bool missing(const std::string &path) const {
    std::error_code ec;
    return !fs::exists(absolute_in(c.server_root, expand_env(path)), ec);
  }

  // The line as the run needs it ("" edits: as written).
  std::string rewrite_line(std::size_t i, std::size_t &listener_index) {
    const std::string &line = c.lines[i];
    if (is_comment(line)) return line;
    const auto w = directive_words(line);
    if (w.empty()) return line;
    const std::string name = lower(w[0].text);
    const line_scope &scope = scopes[i];
    std::vector<std::pair<word, std::string>> edits;
    if (opens(w, line, "virtualhost")) {
      for (std::size_t k = 1; k < w.size(); ++k)
        if (const unsigned short p = port_for(w[k].text); p != 0) {
          const std::string host = host_of(w[k].text);
          const bool any = host == "*" || lower(host) == "_default_";
          edits.push_back({w[k], (any ? host : "127.0.0.1") + ":" + std::to_string(p)});
        }
      return replaced(line, edits);
    }
    if (!scope.active) return line;
    if (name == "listen" && w.size() >= 2 && listener_index < out.listeners.size()) {
      const auto &l = out.listeners[listener_index++];
      edits.push_back({w[1], "127.0.0.1:" + std::to_string(l.test_port)});
    } else if ((name == "proxypass" || name == "proxypassmatch" || name == "proxypassreverse") &&
               w.size() >= 2) {
      for (std::size_t k = 1; k < w.size(); ++k)
        if (const std::string m = to_mock(w[k].text, o.mock_port); !m.empty()) {
          edits.push_back({w[k], m});
          if (name != "proxypassreverse") ++out.upstreams;
          break;
        }
    } else if (name == "balancermember" && w.size() >= 2) {
      if (const std::string m = to_mock(w[1].text, o.mock_port); !m.empty()) {
        edits.push_back({w[1], m});
        ++out.upstreams;
      }
    } else if (name == "rewriterule" && w.size() >= 4) {
      if (const std::string m = to_mock(w[2].text, o.mock_port);
          proxy_flag(w[3].text) && !m.empty()) {
        edits.push_back({w[2], m});
        ++out.upstreams;
      }
    } else if (name == "loadmodule" || name == "loadfile") {
      const std::size_t k = name == "loadmodule" ? 2 : 1;
      if (w.size() > k && w[k].text.rfind('/', 0) != 0 && !w[k].text.empty()) {
        const std::string in_root = absolute_in(c.server_root, w[k].text);
        std::error_code ec;
        edits.push_back(
            {w[k], fs::exists(in_root, ec) ? in_root : o.modules_dir + "/" + w[k].text});
      }
    } else if (name == "pidfile" && w.size() >= 2) {
      edits.push_back({w[1], private_path("apache2.pid")});
    } else if (name == "defaultruntimedir" && w.size() >= 2) {
      edits.push_back({w[1], private_path("run")});
    } else if (name == "scoreboardfile" && w.size() >= 2) {
      edits.push_back({w[1], private_path("run/scoreboard")});
    } else if ((name == "errorlog" || name == "globallog") && w.size() >= 2) {
      edits.push_back({w[1], private_path("logs/error.log")});
    } else if ((name == "customlog" || name == "transferlog") && w.size() >= 2) {
      edits.push_back({w[1], private_path("logs/access.log")});
    } else if (name == "mutex" && w.size() >= 2 && lower(w[1].text).rfind("file:", 0) == 0) {
      edits.push_back({w[1], "file:" + private_path("lock")});
    } else if (name == "sslsessioncache" && w.size() >= 2 &&
               w[1].text.find(':') != std::string::npos) {
      const std::string &v = w[1].text;
      const auto paren = v.find('(');
      edits.push_back({w[1], v.substr(0, v.find(':') + 1) + private_path("run/ssl_scache") +
                                 (paren == std::string::npos ? "" : v.substr(paren))});
    } else if (name == "sslcertificatefile" && w.size() >= 2 && missing(w[1].text)) {
      edits.push_back({w[1], o.certificate});
      vhosts_with_throwaway.insert(scope.vhost);
      out.throwaway_certificate = true;
    } else if (name == "sslcertificatekeyfile" && w.size() >= 2 &&
               (missing(w[1].text) || vhosts_with_throwaway.count(scope.vhost))) {
      edits.push_back({w[1], o.key});
      out.throwaway_certificate = true;
    } else if ((name == "sslcertificatechainfile" || name == "sslcacertificatefile") &&
               w.size() >= 2 && missing(w[1].text)) {
      return "# streamcheck: not on this machine: " + line;
    }
    return replaced(line, edits);
  }
};

} // namespace

std::string origin::str() const {
  return line == 0 ? file : file + ":" + std::to_string(line);
}

std::vector<std::string> split_words(const std::string &line) {
  std::vector<std::string> out;
  for (auto &w : words_of(line))
    out.push_back(std::move(w.text));
  return out;
}

result<flat_config> load(const std::string &user_file, const std::string &server_root) {
  flat_config c;
  c.server_root = server_root;
  if (c.server_root.empty()) c.server_root = server_root_directive(user_file);
  if (c.server_root.empty())
    c.server_root = fs::absolute(user_file).lexically_normal().parent_path().string();
  reader r{c, {}};
  if (auto read = r.read(user_file, 0); !read) return error{read.message()};
  return c;
}

bool wrap_fragment(flat_config &c, const std::string &modules_dir) {
  bool loads_modules = false, listens = false, ssl = false, balancer = false;
  std::vector<std::pair<std::string, origin>> vhost_ports;
  for (std::size_t i = 0; i < c.lines.size(); ++i) {
    if (is_comment(c.lines[i])) continue;
    const auto w = directive_words(c.lines[i]);
    if (w.empty()) continue;
    const std::string name = lower(w[0].text);
    loads_modules = loads_modules || name == "loadmodule";
    listens = listens || name == "listen";
    ssl = ssl || name.rfind("ssl", 0) == 0;
    balancer = balancer || name == "balancermember";
    if (opens(w, c.lines[i], "virtualhost"))
      for (std::size_t k = 1; k < w.size(); ++k)
        if (const std::string p = port_of(w[k].text);
            !p.empty() && std::none_of(vhost_ports.begin(), vhost_ports.end(),
                                       [&](const auto &v) { return v.first == p; }))
          vhost_ports.push_back({p, c.origins[i]});
  }
  if (loads_modules) return false;
  std::vector<std::string> modules(std::begin(debian_default_modules),
                                   std::end(debian_default_modules));
  if (ssl) modules.insert(modules.end(), {"socache_shmcb", "ssl"});
  if (balancer)
    modules.insert(modules.end(), {"slotmem_shm", "proxy_balancer", "lbmethod_byrequests"});
  std::vector<std::string> prelude;
  std::vector<origin> origins;
  const origin added{"(streamcheck: Debian's default modules)", 0};
  for (const auto &m : modules) {
    const std::string so = modules_dir + "/modules/mod_" + m + ".so";
    std::error_code ec;
    if (!fs::exists(so, ec)) continue;
    prelude.push_back("LoadModule " + m + "_module " + so);
    origins.push_back(added);
  }
  for (const auto &m : modules) {
    const std::string conf = "/etc/apache2/mods-available/" + m + ".conf";
    std::error_code ec;
    if (!fs::exists(conf, ec)) continue;
    prelude.push_back("Include " + conf);
    origins.push_back(added);
  }
  std::string ports_added;
  if (!listens)
    for (const auto &[port, at] : vhost_ports) {
      prelude.push_back("Listen " + port);
      origins.push_back(at);
      ports_added += (ports_added.empty() ? "" : ", ") + port;
    }
  c.lines.insert(c.lines.begin(), prelude.begin(), prelude.end());
  c.origins.insert(c.origins.begin(), origins.begin(), origins.end());
  c.fragment = true;
  c.notes.push_back(
      "the config loads no module: run as a Debian site, after Debian's default "
      "modules with mod_proxy, mod_proxy_http, mod_headers and mod_rewrite" +
      std::string(ssl ? ", mod_ssl" : "") +
      (ports_added.empty() ? "" : "; Listen " + ports_added + " added for its VirtualHosts"));
  return true;
}

std::string listener::url() const {
  return std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(test_port);
}

std::string listener::label() const {
  return "Listen " + address + " (" + at.str() + ")";
}

std::vector<listener> find_listeners(const flat_config &c) {
  const auto scopes = scopes_of(c);
  const auto tls_ports = tls_vhost_ports(c, scopes);
  std::vector<listener> out;
  for (std::size_t i = 0; i < c.lines.size(); ++i) {
    if (!scopes[i].active || is_comment(c.lines[i])) continue;
    const auto w = directive_words(c.lines[i]);
    if (w.size() < 2 || lower(w[0].text) != "listen") continue;
    listener l;
    l.address = w[1].text;
    l.port = port_of(l.address);
    l.at = c.origins[i];
    l.tls = (w.size() >= 3 && lower(w[2].text) == "https") || tls_ports.count(l.port) > 0;
    out.push_back(std::move(l));
  }
  return out;
}

result<rewritten> rewrite(const flat_config &c, const rewrite_options &o) {
  rewriter r(c, o);
  r.out.listeners = find_listeners(c);
  if (r.out.listeners.empty())
    return error{"no active Listen directive (nothing would listen): add Listen PORT"};
  if (o.ports.size() < r.out.listeners.size())
    return error{"internal: fewer ports than Listen directives"};
  for (std::size_t i = 0; i < r.out.listeners.size(); ++i)
    r.out.listeners[i].test_port = o.ports[i];
  const auto answering = r.answering_vhosts();
  std::size_t listener_index = 0;
  for (std::size_t i = 0; i < c.lines.size(); ++i) {
    r.out.text += r.rewrite_line(i, listener_index) + "\n";
    r.out.origins.push_back(c.origins[i]);
    if (answering.count(static_cast<int>(i))) {
      r.out.text += "\tServerAlias 127.0.0.1\n";
      r.out.origins.push_back(c.origins[i]);
    }
  }
  if (r.out.upstreams == 0)
    return error{"no ProxyPass, BalancerMember or RewriteRule [P] to an http:// backend: the "
                 "config proxies nothing to test"};
  // The run's own paths, whatever the config said (the last one wins).
  const origin added{"(streamcheck: the run's paths)", 0};
  for (const std::string &l :
       {"DefaultRuntimeDir " + r.private_path("run"), "PidFile " + r.private_path("apache2.pid"),
        "ErrorLog " + r.private_path("logs/error.log")}) {
    r.out.text += l + "\n";
    r.out.origins.push_back(added);
  }
  r.out.notes.insert(r.out.notes.begin(), c.notes.begin(), c.notes.end());
  for (const auto &l : r.out.listeners)
    if (l.tls && r.out.throwaway_certificate)
      r.out.notes.push_back(l.label() +
                            ": its certificate is not on this machine, a throwaway one is used");
  return std::move(r.out);
}

std::string map_back(const std::string &message, const std::string &copy_path,
                     const std::vector<origin> &origins, const std::string &user_file) {
  std::string out = message;
  const std::string of = " of " + copy_path;
  for (auto at = out.find("line "); at != std::string::npos; at = out.find("line ", at + 1)) {
    std::size_t end = at + 5;
    while (end < out.size() && std::isdigit(static_cast<unsigned char>(out[end])))
      ++end;
    if (end == at + 5 || out.compare(end, of.size(), of) != 0) continue;
    const auto n = std::stoul(out.substr(at + 5, end - at - 5));
    if (n == 0 || n > origins.size() || origins[n - 1].line == 0) continue;
    const origin &src = origins[n - 1];
    const std::string said = "line " + std::to_string(src.line) + " of " + src.file;
    out.replace(at, end + of.size() - at, said);
  }
  const std::string named = user_file + " (as streamcheck rewrote it)";
  for (auto at = out.find(copy_path); at != std::string::npos;
       at = out.find(copy_path, at + named.size()))
    out.replace(at, copy_path.size(), named);
  return out;
}

} // namespace streamcheck::harness::apache
