#include "harness/lighttpd/config.h"

#include <filesystem>
#include <regex>
#include <sstream>

#include "harness/managed/packaged.h"

namespace streamcheck::harness::lighttpd {
namespace {

std::string trimmed(const std::string &s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

// "key = value" at any depth: the key, or "" when the line is not an assignment.
std::string key_of(const std::string &line) {
  static const std::regex assignment(R"(^\s*([A-Za-z][A-Za-z0-9_.-]*)\s*(=|\+=|:=))");
  std::smatch m;
  return std::regex_search(line, m, assignment) ? m[1].str() : "";
}

std::string quoted_value(const std::string &line) {
  const auto open = line.find('"');
  const auto close = line.rfind('"');
  return open == std::string::npos || close <= open ? "" : line.substr(open + 1, close - open - 1);
}

std::string indentation(const std::string &line) {
  return line.substr(0, line.find_first_not_of(" \t"));
}

const std::regex socket_block(R"re(^(\s*)\$SERVER\["socket"\]\s*==\s*"([^"]*)"\s*\{)re");
const std::regex host_entry(R"re("host"\s*=>\s*"[^"]*")re");
const std::regex port_entry(R"re("port"\s*=>\s*[0-9]+)re");

int paren_balance(const std::string &line) {
  int depth = 0;
  bool quoted = false;
  for (char c : line) {
    if (c == '"') quoted = !quoted;
    if (!quoted && c == '(') ++depth;
    if (!quoted && c == ')') --depth;
  }
  return depth;
}

} // namespace

std::string listener::url() const {
  return std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port);
}

std::string listener::label() const {
  return socket + (tls ? " (TLS)" : "");
}

result<std::string> from_printed(const std::string &printed) {
  auto lines = managed::split_lines(printed);
  while (!lines.empty() && trimmed(lines.back()).empty())
    lines.pop_back();
  if (lines.size() < 2 || trimmed(lines.front()) != "config {" || trimmed(lines.back()) != "}")
    return error{"lighttpd -p printed no config"};
  std::string out;
  for (std::size_t i = 1; i + 1 < lines.size(); ++i) {
    const std::string key = key_of(lines[i]);
    if (key == "var.CWD" || key == "var.PID") continue;
    out += (lines[i].rfind("    ", 0) == 0 ? lines[i].substr(4) : lines[i]) + "\n";
  }
  return out;
}

std::vector<listener> find_listeners(const std::string &normalized) {
  std::vector<listener> out;
  int depth = 0;
  bool top_tls = false;
  std::string port = "80";
  for (const auto &line : managed::split_lines(normalized)) {
    std::smatch m;
    if (std::regex_search(line, m, socket_block)) {
      out.push_back({"$SERVER[\"socket\"] == \"" + m[2].str() + "\"", false, 0});
      ++depth;
      continue;
    }
    const std::string t = trimmed(line);
    if (!t.empty() && t.back() == '{') ++depth;
    if (t.rfind('}', 0) == 0) --depth;
    const std::string key = key_of(line);
    if (key == "ssl.engine" && quoted_value(line) == "enable") {
      if (depth == 0)
        top_tls = true;
      else if (!out.empty())
        out.back().tls = true;
    }
    if (key == "server.port" && depth == 0) port = trimmed(line.substr(line.find('=') + 1));
  }
  out.insert(out.begin(), {"server.port " + port, top_tls, 0});
  return out;
}

result<rewritten> rewrite(const std::string &normalized, const rewrite_options &o) {
  rewritten r;
  r.listeners = find_listeners(normalized);
  if (o.ports.size() < r.listeners.size()) return error{"internal: fewer ports than listeners"};
  for (std::size_t i = 0; i < r.listeners.size(); ++i)
    r.listeners[i].port = o.ports[i];
  const std::string mock_host = "\"host\" => \"127.0.0.1\"";
  const std::string mock_port = "\"port\" => " + std::to_string(o.mock_port);
  std::ostringstream out;
  std::size_t next_socket = 1;
  int proxy_depth = 0; // > 0 inside a proxy.server value
  bool replaced_pem = false;
  // The listener under test first: server.port has a default (80) when the file sets none.
  out << "server.bind = \"127.0.0.1\"\nserver.port = " << r.listeners.front().port << "\n";
  for (const auto &line : managed::split_lines(normalized)) {
    const std::string key = key_of(line), indent = indentation(line);
    std::smatch m;
    if (proxy_depth > 0 || key == "proxy.server") {
      std::string l = std::regex_replace(line, host_entry, mock_host);
      l = std::regex_replace(l, port_entry, mock_port);
      r.upstreams += std::regex_search(line, host_entry);
      proxy_depth += paren_balance(line);
      out << l << "\n";
      continue;
    }
    if (std::regex_search(line, m, socket_block)) {
      out << m[1].str() << "$SERVER[\"socket\"] == \"127.0.0.1:" << r.listeners[next_socket++].port
          << "\" {\n";
    } else if ((key == "server.port" && indent.empty()) || key == "server.bind") {
      out << "# streamcheck: " << trimmed(line) << "\n";
    } else if (key == "server.errorlog") {
      out << "# streamcheck: " << trimmed(line) << " (to stderr)\n";
    } else if (key == "server.pid-file") {
      out << indent << "server.pid-file = \"" << o.prefix << "/lighttpd.pid\"\n";
    } else if (key == "accesslog.filename") {
      out << indent << "accesslog.filename = \"" << o.prefix << "/access.log\"\n";
    } else if (key == "ssl.pemfile" && !o.certificate.empty() &&
               !std::filesystem::exists(quoted_value(line))) {
      r.notes.push_back("certificate " + quoted_value(line) +
                        " not found: a throwaway one is used");
      out << indent << "ssl.pemfile = \"" << o.certificate << "\"\n";
      r.throwaway_certificate = replaced_pem = true;
    } else if (key == "ssl.privkey" && replaced_pem) {
      out << "# streamcheck: " << trimmed(line) << " (the throwaway PEM holds the key)\n";
    } else {
      out << line << "\n";
    }
  }
  if (r.upstreams == 0)
    return error{"no proxy.server with a \"host\": nothing proxies to an upstream"};
  r.text = out.str();
  return r;
}

} // namespace streamcheck::harness::lighttpd
