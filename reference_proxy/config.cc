#include "reference_proxy/config.h"

#include <charconv>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/endpoint.h"
#include "common/options.h"

namespace streamcheck::proxy {
namespace {

using json = nlohmann::json;
using options::expected;
using options::problem;
using option = options::option<proxy_config>;
using setter = std::function<problem(proxy_config &, const std::string &)>;

std::optional<unsigned long long> parse_count(const std::string &text) {
  unsigned long long v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return v;
}

setter duration_setter(duration proxy_config::*field) {
  return [field](proxy_config &c, const std::string &v) -> problem {
    const auto d = parse_duration(v);
    if (!d || d->count() <= 0) return expected("a duration like 30s, 500ms or 10m", v);
    c.*field = *d;
    return std::nullopt;
  };
}

setter size_setter(std::size_t proxy_config::*field, std::size_t minimum) {
  return [field, minimum](proxy_config &c, const std::string &v) -> problem {
    const auto n = parse_size(v);
    if (!n || *n < minimum) return expected("a size of at least " + std::to_string(minimum), v);
    c.*field = *n;
    return std::nullopt;
  };
}

std::string seconds_text(duration d) {
  return d.count() % 1000 == 0 ? std::to_string(d.count() / 1000) + "s"
                               : std::to_string(d.count()) + "ms";
}

problem set_upstream(proxy_config &c, const std::string &v) {
  std::string rest = v;
  if (rest.rfind("https://", 0) == 0) return "https upstreams are not supported (use http://)";
  if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
  while (!rest.empty() && rest.back() == '/')
    rest.pop_back();
  if (rest.empty() || rest.find('/') != std::string::npos)
    return "expected http://HOST:PORT (no path: requests keep their own)";
  std::string host = rest;
  std::string port = "80";
  if (rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string::npos) return "unclosed '[' in IPv6 address";
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') return "expected ':' after ']'";
      port = rest.substr(close + 2);
    }
  } else if (const auto colon = rest.rfind(':'); colon != std::string::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  const auto n = parse_count(port);
  if (host.empty() || !n || *n == 0 || *n > 65535) return "bad host or port";
  c.upstream = {host, static_cast<unsigned short>(*n)};
  return std::nullopt;
}

problem add_origin(proxy_config &c, const std::string &v) {
  if (v.empty() || (v != "*" && v.find("://") == std::string::npos))
    return "expected an origin like https://app.example.com, a glob like http://localhost:*, "
           "or *";
  if (v.back() == '/') return "an origin has no path (drop the trailing '/')";
  c.allow_origins.push_back(v);
  return std::nullopt;
}

const std::vector<option> &options() {
  static const proxy_config d;
  static const std::vector<option> table = {
      {"listen", "ADDR", "where clients connect, e.g. 0.0.0.0:8080 or [::1]:8080",
       [](proxy_config &c, const std::string &v) -> problem {
         auto ep = parse_listen_address(v, true);
         if (auto *e = std::get_if<endpoint_error>(&ep)) return e->message;
         c.listen = std::get<tcp::endpoint>(ep);
         return std::nullopt;
       },
       "127.0.0.1:8080"},
      {"upstream", "URL", "the Ollama or OpenAI-compatible server", set_upstream,
       "http://127.0.0.1:11434"},
      {"allow-origin", "ORIGIN",
       "a browser origin allowed to call the API (repeatable; globs like http://localhost:*; * for "
       "any). None: no CORS headers, preflights refused",
       add_origin, "none"},
      {"threads", "N", "event loops",
       [](proxy_config &c, const std::string &v) -> problem {
         const auto n = parse_count(v);
         if (!n || *n == 0 || *n > 256) return expected("1..256", v);
         c.threads = static_cast<unsigned>(*n);
         return std::nullopt;
       },
       "one per core"},
      {"connect-timeout", "DURATION", "connecting to the upstream",
       duration_setter(&proxy_config::connect_timeout), seconds_text(d.connect_timeout)},
      {"first-byte-timeout", "DURATION", "request sent to the upstream's response head",
       duration_setter(&proxy_config::first_byte_timeout), seconds_text(d.first_byte_timeout)},
      {"idle-timeout", "DURATION", "silence between two upstream reads (no total limit)",
       duration_setter(&proxy_config::idle_timeout), seconds_text(d.idle_timeout)},
      {"header-timeout", "DURATION", "a client's whole request head (slow clients)",
       duration_setter(&proxy_config::header_timeout), seconds_text(d.header_timeout)},
      {"body-timeout", "DURATION", "silence between two reads of a request body",
       duration_setter(&proxy_config::body_timeout), seconds_text(d.body_timeout)},
      {"send-timeout", "DURATION", "a client that stops reading",
       duration_setter(&proxy_config::send_timeout), seconds_text(d.send_timeout)},
      {"keepalive-timeout", "DURATION", "an idle client connection between requests",
       duration_setter(&proxy_config::keepalive_timeout), seconds_text(d.keepalive_timeout)},
      {"drain-timeout", "DURATION", "on SIGTERM/SIGINT, how long in-flight requests may finish",
       duration_setter(&proxy_config::drain_timeout), seconds_text(d.drain_timeout)},
      {"max-body", "SIZE", "largest request body (413 beyond)",
       size_setter(&proxy_config::max_body_bytes, 0), "1GiB"},
      {"max-header-bytes", "SIZE", "largest request head (431 beyond)",
       size_setter(&proxy_config::max_header_bytes, 1024), "64KiB"},
      {"max-header-line", "SIZE", "longest request header line (431 beyond)",
       size_setter(&proxy_config::max_header_line_bytes, 64), "8KiB"},
      {"max-headers", "N", "most request header lines (431 beyond)",
       size_setter(&proxy_config::max_headers, 1), std::to_string(d.max_headers)},
      {"underscores-in-headers", "on|off",
       "forward request headers whose name has '_' (off: dropped, as nginx; an upstream that "
       "reads '_' as '-' would take Content_Length for Content-Length)",
       [](proxy_config &c, const std::string &v) -> problem {
         if (v != "on" && v != "off") return expected("on or off", v);
         c.underscores_in_headers = v == "on";
         return std::nullopt;
       },
       "off"},
      {"max-target-bytes", "SIZE", "longest request target (414 beyond)",
       size_setter(&proxy_config::max_target_bytes, 64), "16KiB"},
      {"max-connections", "N", "client connections at once (more wait in the listen queue)",
       size_setter(&proxy_config::max_connections, 1), std::to_string(d.max_connections)},
      {"upstream-pool", "N", "idle upstream connections kept per event loop",
       size_setter(&proxy_config::upstream_pool_size, 0), std::to_string(d.upstream_pool_size)},
      {"tls-cert", "FILE",
       "PEM certificate chain: clients connect with TLS (HTTP/2 or HTTP/1.1 by ALPN); needs "
       "--tls-key",
       [](proxy_config &c, const std::string &v) -> problem {
         if (v.empty()) return "expected a file name";
         c.tls_cert = v;
         return std::nullopt;
       },
       "none: cleartext (HTTP/1.1, and HTTP/2 by prior knowledge)"},
      {"tls-key", "FILE", "PEM private key of --tls-cert",
       [](proxy_config &c, const std::string &v) -> problem {
         if (v.empty()) return "expected a file name";
         c.tls_key = v;
         return std::nullopt;
       },
       "none"},
      {"access-log", "FILE", "one line per request; - is stdout, off is none (./off: a file)",
       [](proxy_config &c, const std::string &v) -> problem {
         if (v.empty()) return "expected a file name, - or off";
         c.access_log = v;
         return std::nullopt;
       },
       "-"},
      {"log-format", "FORMAT", "json, text or off",
       [](proxy_config &c, const std::string &v) -> problem {
         if (v == "json")
           c.log = log_format::json;
         else if (v == "text")
           c.log = log_format::text;
         else if (v == "off")
           c.log = log_format::off;
         else
           return expected("json, text or off", v);
         return std::nullopt;
       },
       "json"},
      {"port-file", "FILE", "write the bound port to FILE once listening",
       [](proxy_config &c, const std::string &v) -> problem {
         c.port_file = v;
         return std::nullopt;
       },
       "none"},
      // Read before every flag by parse_args, whatever its place: flags win over the file.
      {"config", "FILE", "a JSON file of the options above",
       [](proxy_config &, const std::string &) -> problem { return std::nullopt; }},
  };
  return table;
}

const option *find_option(const std::string &name) {
  for (const auto &o : options())
    if (o.names == name) return &o;
  return nullptr;
}

// A JSON value as the flag text it stands for: numbers of seconds or bytes, strings as is.
std::optional<std::string> as_flag_text(const json &v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_unsigned()) return std::to_string(v.get<unsigned long long>());
  return std::nullopt;
}

std::optional<std::string> apply_file(proxy_config &c, const std::string &path) {
  std::ifstream in(path);
  if (!in) return "--config: cannot read " + path;
  std::stringstream text;
  text << in.rdbuf();
  const json doc = json::parse(text.str(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return "--config " + path + ": not a JSON object";
  const std::string where = path + ": ";
  for (const auto &[key, value] : doc.items()) {
    const option *o = key == "config" ? nullptr : find_option(key);
    if (!o) return where + "unknown key \"" + key + "\"";
    const json items = value.is_array() && key == "allow-origin" ? value : json::array({value});
    for (const auto &item : items) {
      const auto text_value = as_flag_text(item);
      if (!text_value) return where + key + ": expected a string or a non-negative number";
      if (auto e = o->set(c, *text_value)) return where + options::bad_value(key, *e);
    }
  }
  return std::nullopt;
}

} // namespace

std::string upstream_address::authority() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::optional<duration> parse_duration(const std::string &text) {
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])))
    ++digits;
  const auto n = parse_count(text.substr(0, digits));
  if (!n || *n > 100'000'000) return std::nullopt;
  const std::string unit = text.substr(digits);
  const long long v = static_cast<long long>(*n);
  if (unit == "ms") return duration(v);
  if (unit.empty() || unit == "s") return duration(v * 1000);
  if (unit == "m") return duration(v * 60'000);
  if (unit == "h") return duration(v * 3'600'000);
  return std::nullopt;
}

std::optional<std::size_t> parse_size(const std::string &text) {
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])))
    ++digits;
  const auto n = parse_count(text.substr(0, digits));
  if (!n) return std::nullopt;
  std::string unit = text.substr(digits);
  for (auto &ch : unit)
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  int shift = -1;
  if (unit.empty() || unit == "b")
    shift = 0;
  else if (unit == "k" || unit == "kb" || unit == "kib")
    shift = 10;
  else if (unit == "m" || unit == "mb" || unit == "mib")
    shift = 20;
  else if (unit == "g" || unit == "gb" || unit == "gib")
    shift = 30;
  if (shift < 0 || *n > (std::size_t{1} << (62 - shift))) return std::nullopt;
  return static_cast<std::size_t>(*n) << shift;
}

result<parsed_args> parse_args(const std::vector<std::string> &args) {
  parsed_args out;
  const auto &table = options();
  auto scanned = options::scan(options::specs(table), args);
  if (!scanned) return error{scanned.message()};
  if (scanned->help) {
    out.help = true;
    return out;
  }
  if (scanned->rest) return error{"unknown option '--'"};
  const std::size_t config_row = table.size() - 1;
  const std::string *config_file = nullptr; // the last --config counts
  for (const auto &a : scanned->args) {
    if (a.row == options::scanned_arg::positional) return error{"unknown option '" + a.value + "'"};
    if (a.row == config_row) config_file = &a.value;
  }
  if (config_file)
    if (auto e = apply_file(out.config, *config_file)) return error{*e};
  bool origins_from_flags = false;
  for (const auto &a : scanned->args) {
    if (a.row == config_row) continue;
    if (table[a.row].names == "allow-origin" && !origins_from_flags) {
      out.config.allow_origins.clear(); // flags replace the file's list
      origins_from_flags = true;
    }
    if (auto e = options::apply(table, a, out.config)) return error{*e};
  }
  if (out.config.tls_cert.empty() != out.config.tls_key.empty())
    return error{"--tls-cert and --tls-key go together"};
  return out;
}

std::string usage() {
  std::string text = R"(usage: streamcheck-proxy [options]

A reverse proxy for Ollama and OpenAI-compatible servers that streams every token as it is
generated: no buffering, chunked to HTTP/1.1 clients, CORS answered in one place, the client's
"Stop" passed on to the model at once, a crashed generation visible as a cut response.

Options (also keys of the --config JSON file, e.g. {"upstream": "http://10.0.0.5:11434",
"allow-origin": ["https://chat.example.com"], "idle-timeout": "15m"}; flags win):
)";
  text += options::help_text(options(), 32);
  text += R"(  --help                        this text

Durations: 500ms, 30s, 10m, 1h or a number of seconds. Sizes: bytes or 64KiB, 20MiB, 1GiB.
Signals: SIGTERM/SIGINT stop accepting, let in-flight requests finish (up to --drain-timeout),
then exit; a second signal exits at once. SIGHUP reopens the --access-log file (logrotate).
Exit codes: 0 stopped by a signal, 2 cannot listen, resolve the upstream or load the TLS
certificate and key, 3 usage error.
)";
  return text;
}

} // namespace streamcheck::proxy
