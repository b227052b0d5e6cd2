#include "harness/cli_options.h"

#include <algorithm>

#include "common/base64.h"
#include "common/options.h"
#include "harness/managed/targets.h"
#include "harness/report/report.h"
#include "mock_upstream/policy.h"

namespace streamcheck::harness {
namespace {

using options::expected;
using options::problem;
using options::takes;
using option = options::option<cli_options>;

constexpr std::size_t help_column = 39;

// Help sections: which options a command takes is which sections its help shows.
struct section {
  std::string id;
  std::string title;
  std::string footnote = {}; // printed after its options
};

const std::vector<section> &sections() {
  static const std::vector<section> all = {
      {"run", "Options for run and self-test:"},
      {"nginx", "Options for nginx:",
       "  nginx prints \"nginx listening on URL\" on stderr once it answers. Every listen of the "
       "server\n  under test a browser could reach is tested (TLS first); the report shows the "
       "worst verdicts.\n  exec takes --after-suite and --keep-temp (its output log) too; its "
       "command gets 15 s to listen.\n"},
      {"live", "Options for live (also --proxy, --header, --user, --origin, --report, --strict, "
               "--tolerance-mult, --proxy-kind, --no-color):"},
      {"list", "Options for list:"},
  };
  return all;
}

struct command {
  std::string name;
  std::string synopsis; // its left column under "Commands:"
  std::string help;
  std::vector<std::string> sections;
};

const std::vector<command> &commands() {
  static const std::vector<command> all = {
      {"run",
       "run --proxy URL --mock-control URL",
       "test a proxy that forwards to a running streamcheck-mock",
       {"run"}},
      {"nginx",
       "nginx CONF [options]",
       "CI gate for an nginx config: flattens its includes into a private temp prefix, moves "
       "listen/upstream addresses to loopback (the embedded mock plays every upstream), runs " +
           options::unbreakable("nginx -t") +
           ", starts nginx, runs the suite, stops nginx. CONF itself is never modified",
       {"run", "nginx"}},
      {"haproxy",
       "haproxy CFG [options]",
       "the same for an HAProxy config: every bind moved to a loopback port, every server to the "
       "embedded mock, chroot/user/daemon/stats socket left out, " +
           options::unbreakable("haproxy -c") +
           " (its errors at CFG's own lines), the suite on every bind (TLS ones with a throwaway "
           "certificate when the real one is absent)",
       {"run", "nginx"}},
      {"caddy",
       "caddy FILE [options]",
       "the same for a Caddyfile (or Caddy JSON): adapted by " +
           options::unbreakable("caddy adapt") +
           ", every server that proxies moved to a loopback port (plain HTTP), every "
           "reverse_proxy upstream to the mock; admin endpoint, ACME, internal CA and trust store "
           "off, HOME/XDG directories in the temp prefix",
       {"run", "nginx"}},
      {"lighttpd",
       "lighttpd CONF [options]",
       "the same for a lighttpd config, as " + options::unbreakable("lighttpd -p") +
           " reads it (includes resolved): server.port and every $SERVER[\"socket\"] on loopback "
           "ports, every proxy.server host the mock, " +
           options::unbreakable("lighttpd -tt") + ", the suite on every listener",
       {"run", "nginx"}},
      {"apache",
       "apache CONF [options]",
       "the same for an Apache httpd config (a full apache2.conf, or a site file, which runs "
       "after Debian's default modules with mod_proxy): Include/IncludeOptional inlined "
       "relative to ServerRoot, every Listen and its VirtualHosts on loopback ports, every "
       "ProxyPass/BalancerMember upstream the mock, run-time paths and APACHE_* variables in the "
       "temp prefix, " +
           options::unbreakable("apache2 -t") +
           " (its errors at CONF's own lines), the suite on every listener",
       {"run", "nginx"}},
      {"compare",
       "compare TARGET... [options]",
       "the suite against each target, one after another (each with its own embedded mock), as "
       "one matrix: rows checks, columns targets, each cell the verdict and its headline figure, "
       "then each target's failures with the fix. TARGET: nginx:FILE, haproxy:FILE, caddy:FILE, "
       "lighttpd:FILE, apache:FILE, exec:'CMD ARGS' (split on spaces, placeholders as for exec) "
       "or url:http://HOST:PORT (a proxy you run in front of a streamcheck-mock you started; "
       "its --mock-control URL given once for every url target). --report console, markdown "
       "or json; exit code the worst target's",
       {"run"}},
      {"exec",
       "exec [options] -- CMD [ARGS...]",
       "any proxy started by a command: starts an embedded mock, runs CMD with {listen} "
       "(127.0.0.1:PORT), {port}, {upstream} (127.0.0.1:MOCKPORT) and {upstream_port} filled in, "
       "waits until it listens, runs the suite, stops it by pid, e.g.\n"
       "streamcheck exec -- streamcheck-proxy --listen {listen}\n"
       "  --upstream http://{upstream} --allow-origin '*'",
       {"run", "nginx"}},
      {"live",
       "live --proxy URL [--direct URL]",
       "a running proxy in front of a real Ollama or OpenAI-compatible server: a reduced "
       "catalog judged from a real model's streams (through the proxy against --direct, or from "
       "the stream itself); timeouts, cancellation and truncation are listed as not run",
       {"live"}},
      {"self-test",
       "self-test",
       "run the suite against an embedded mock (no proxy): checks that this machine and the "
       "harness measure cleanly",
       {"run"}},
      {"list",
       "list [--json]",
       "the check catalog: id, level, requirement (its bounds as --profile and "
       "--tolerance-mult set them)",
       {"list"}},
      {"help", "help", "this text", {}},
  };
  return all;
}

std::string report_format_names() {
  std::string out;
  for (const auto &f : report_formats())
    out += (out.empty() ? "" : ", ") + std::string(f.name);
  return out;
}

// A Host header's value: a name or address with an optional port, nothing a header cannot carry.
bool host_name(const std::string &v) {
  return !v.empty() && v.find_first_of(" /\r\n") == std::string::npos;
}

problem http_url(std::string &to, const std::string &v, const char *what) {
  if (!options::is_http_url(v)) return std::string("not an http(s) ") + what + ": '" + v + "'";
  to = v;
  return std::nullopt;
}

problem set_header(cli_options &o, const std::string &v) {
  const auto colon = v.find(':');
  // The value is a secret (an API key): the refusal never repeats it.
  if (colon == std::string::npos || colon == 0 || v.find_first_of(" \t\r\n") < colon ||
      v.find_first_of("\r\n") != std::string::npos)
    return "expected 'Name: value', got a malformed header";
  o.run.extra_headers.push_back(v);
  return std::nullopt;
}

problem set_http(cli_options &o, const std::string &v) {
  if (!options::one_of(v, {"auto", "1.1", "2", "h2c", "both"}))
    return expected("auto, 1.1, 2, h2c or both", v);
  o.run.http = v;
  return std::nullopt;
}

problem set_report(cli_options &o, const std::string &v) {
  const auto colon = v.find(':');
  report_target t{v.substr(0, colon), colon == std::string::npos ? "" : v.substr(colon + 1)};
  if (!find_report_format(t.format))
    return "unknown format '" + t.format + "' (" + report_format_names() + ")";
  o.reports.push_back(t);
  return std::nullopt;
}

const std::vector<option> &table() {
  static const std::vector<option> rows = {
      // run and self-test
      {"proxy", "URL", "the proxy under test (run)",
       [](cli_options &o, const std::string &v) { return http_url(o.run.proxy_url, v, "URL"); }, "",
       takes::value, "run"},
      {"mock-control", "URL",
       "the control API of the streamcheck-mock behind it (run, and compare's url: targets)",
       [](cli_options &o, const std::string &v) { return http_url(o.run.mock_control, v, "URL"); },
       "", takes::value, "run"},
      {"profile", "quick|standard|thorough",
       "durations: silent first token and idle gap " + options::unbreakable("4 s / 65 s / 130 s") +
           ", long stream " + options::unbreakable("6 s / 35 s / 300 s"),
       [](cli_options &o, const std::string &v) -> problem {
         if (!find_profile(v)) return "unknown profile '" + v + "' (quick, standard, thorough)";
         o.run.profile = v;
         return std::nullopt;
       },
       "standard", takes::value, "run"},
      {"check", "GLOB", "only checks whose id matches (repeatable), e.g. 'stream.*'",
       options::append([](cli_options & o) -> auto & { return o.run.only; }), "", takes::value,
       "run"},
      {"skip", "GLOB", "leave out matching checks (repeatable)",
       options::append([](cli_options & o) -> auto & { return o.run.skip; }), "", takes::value,
       "run"},
      {"strict", "", "SHOULD-level failures fail the run",
       options::set_true([](cli_options & o) -> auto & { return o.run.strict; }), "",
       takes::nothing, "run"},
      {"tolerance-mult", "X", "scale every timing bound (slow or loaded machines)",
       [](cli_options &o, const std::string &v) -> problem {
         const auto x = options::parse_number(v, 0.1, 100);
         if (!x) return expected("a number between 0.1 and 100", v);
         o.run.tolerance_mult = *x;
         return std::nullopt;
       },
       "", takes::value, "run"},
      {"http", "auto|1.1|2|h2c|both",
       "towards the proxy: auto as a browser (TLS: ALPN offering h2 and http/1.1; cleartext: "
       "HTTP/1.1), 1.1, 2 (h2 over TLS, required: a target that does not negotiate it is a "
       "setup error), h2c (HTTP/2 with prior knowledge), both (the suite over 1.1, then over h2; "
       "each check reported as ID@h1 and ID@h2)",
       set_http, "auto", takes::value, "run"},
      {"proxy-kind", "KIND",
       "nginx|haproxy|caddy|apache|lighttpd|generic (default: detected from the Server or Via "
       "header, the proxy's own error pages, HAProxy's lower-case header names) - picks the "
       "remediation text",
       options::store([](cli_options & o) -> auto & { return o.run.proxy_kind; }), "", takes::value,
       "run"},
      {"report", "FORMAT[:FILE]",
       "console, json, junit, markdown, html (self-contained, with arrival timelines), sarif "
       "(2.1.0, located in the config for nginx), github (workflow annotations, and the Markdown "
       "report appended to $GITHUB_STEP_SUMMARY) (repeatable; FILE default stdout; console is "
       "the default)",
       set_report, "", takes::value, "run"},
      {"origin", "URL", "the browser app's origin for cors.*",
       [](cli_options &o, const std::string &v) {
         auto why = http_url(o.run.origin, v, "origin");
         o.live.origin = o.run.origin; // live's cors checks too
         return why;
       },
       "https://app.example.test", takes::value, "run"},
      {"public-host", "NAME", "the Host clients use for the proxy",
       [](cli_options &o, const std::string &v) -> problem {
         if (!host_name(v)) return "not a host name: '" + v + "'";
         o.run.public_host = v;
         o.public_host_given = true;
         return std::nullopt;
       },
       "llm.example.test (--host's NAME when given)", takes::value, "run"},
      {"host", "NAME",
       "send Host: NAME on every request (a frontend or vhost that routes by Host: the name "
       "your clients use); the URL still says where to connect. Managed HAProxy finds it from "
       "the config unless given",
       [](cli_options &o, const std::string &v) -> problem {
         if (!host_name(v)) return "not a host name: '" + v + "'";
         o.run.host = v;
         if (!o.public_host_given) o.run.public_host = v;
         return std::nullopt;
       },
       "", takes::value, "run"},
      {"upstream-profile", "P",
       "the upstream's policy the proxy must work with: ollama (default: Origin allow-list, Host "
       "check), ollama-lan (bound to a non-loopback address: no Host check), ollama-open, openai "
       "(CORS *), openai-only (only /v1/: vLLM, llama.cpp server, LiteLLM), bare (no CORS at "
       "all). nginx reads it from the config unless given",
       [](cli_options &o, const std::string &v) -> problem {
         if (!mock::policy_for_profile(v))
           return "unknown profile '" + v + "' (" + mock::profile_names() + ")";
         o.run.upstream_profile = v;
         o.upstream_profile_given = true;
         return std::nullopt;
       },
       "", takes::value, "run"},
      {"base-path", "PATH",
       "the proxy serves the API under PATH (/ollama/ for location /ollama/ { proxy_pass "
       "http://ollama:11434/; }): every request goes to PATH + the upstream path. nginx finds it "
       "from the config unless given",
       [](cli_options &o, const std::string &v) -> problem {
         std::string why;
         const auto p = normalize_base_path(v, why);
         if (!p) return why;
         o.run.routes.base_path = *p;
         o.base_path_given = true;
         return std::nullopt;
       },
       "", takes::value, "run"},
      {"header", "'Name: value'",
       "sent on every request through the proxy (an API-key gate), never printed in reports "
       "(repeatable)",
       set_header, "", takes::value, "run"},
      {"user", "USER:PASS", "HTTP Basic credentials for an auth_basic gate, same",
       [](cli_options &o, const std::string &v) -> problem {
         if (v.find(':') == std::string::npos) return "expected USER:PASS";
         o.run.extra_headers.push_back("Authorization: Basic " + base64_encode(v));
         return std::nullopt;
       },
       "", takes::value, "run"},
      // live
      {"direct", "URL",
       "the same server without the proxy; without it the streams are judged from themselves",
       [](cli_options &o, const std::string &v) { return http_url(o.live.direct_url, v, "URL"); },
       "none", takes::value, "live"},
      {"model", "NAME", "the model to stream from",
       options::store([](cli_options & o) -> auto & { return o.live.model; }),
       "the first the server lists", takes::value, "live"},
      {"api", "ollama|openai|auto", "which API to stream with (auto: /api/tags, then /v1/models)",
       [](cli_options &o, const std::string &v) -> problem {
         if (!options::one_of(v, {"ollama", "openai", "auto"}))
           return options::expected("ollama, openai or auto", v);
         o.live.flavour = v == "ollama"   ? live::api::ollama
                          : v == "openai" ? live::api::openai
                                          : live::api::automatic;
         return std::nullopt;
       },
       "auto", takes::value, "live"},
      {"max-tokens", "N", "num_predict / max_tokens of each generation",
       [](cli_options &o, const std::string &v) -> problem {
         const auto n = options::parse_integer(v, 2, 4096);
         if (!n) return options::expected("a number from 2 to 4096", v);
         o.live.max_tokens = static_cast<int>(*n);
         return std::nullopt;
       },
       "48", takes::value, "live"},
      {"no-color", "", "plain console output",
       [](cli_options &o, const std::string &) -> problem {
         o.color = false;
         return std::nullopt;
       },
       "", takes::nothing, "run"},
      // nginx (and exec)
      {"nginx", "PATH", "the nginx binary",
       options::store([](cli_options & o) -> auto & { return o.nginx_binary; }),
       "nginx on PATH, /usr/sbin/nginx", takes::value, "nginx"},
      {"server", "NAME", "the server block to test, by server_name",
       options::store([](cli_options & o) -> auto & { return o.server_name; }),
       "the first one with a proxy_pass", takes::value, "nginx"},
      {"prefix", "DIR", "where relative includes resolve",
       options::store([](cli_options & o) -> auto & { return o.include_prefix; }),
       "CONF's directory", takes::value, "nginx"},
      {"include-root", "DIR",
       "absolute include and certificate paths missing here (/config/nginx/proxy.conf from a "
       "container) are read from DIR/config/nginx/proxy.conf",
       options::store([](cli_options & o) -> auto & { return o.include_root; }), "", takes::value,
       "nginx"},
      {"keep-certificates", "",
       "a missing or unreadable ssl_certificate/key is an error (default: tested with a "
       "throwaway self-signed certificate)",
       options::set_true([](cli_options & o) -> auto & { return o.keep_certificates; }), "",
       takes::nothing, "nginx"},
      {"listen-port", "PORT", "the loopback port of the first listener tested",
       [](cli_options &o, const std::string &v) -> problem {
         const auto port = options::parse_integer(v, 1, 65535);
         if (!port) return expected("a port number", v);
         o.listen_port = static_cast<unsigned short>(*port);
         return std::nullopt;
       },
       "a free one", takes::value, "nginx"},
      {"after-suite", "CMD",
       "run CMD (/bin/sh -c, 120 s deadline) after the suite while nginx still runs, with "
       "STREAMCHECK_PROXY_URL set",
       options::store([](cli_options & o) -> auto & { return o.after_suite; }), "", takes::value,
       "nginx"},
      {"keep-temp", "", "keep the temp prefix (flattened config, logs) and print it",
       options::set_true([](cli_options & o) -> auto & { return o.keep_temp; }), "", takes::nothing,
       "nginx"},
      {"fix", "OUT",
       "after the run, write CONF with the remedy of every failing check applied where the "
       "analysis located it to OUT (default CONF.fixed.conf; never CONF itself), print the diff, "
       "run the suite again on it and report how many of the failing checks it makes pass (exit "
       "code: the first run)",
       [](cli_options &o, const std::string &v) -> problem {
         o.fix = true;
         o.fix_out = v;
         return std::nullopt;
       },
       "", takes::optional_value, "nginx"},
      // list
      {"json", "", "the catalog as JSON",
       options::set_true([](cli_options & o) -> auto & { return o.list_json; }), "", takes::nothing,
       "list"},
  };
  return rows;
}

const char *const intro = R"(usage: streamcheck COMMAND [options]

Proves whether a reverse proxy carries streaming LLM traffic correctly: tokens arrive as they
are generated, long generations are not cut, "Stop" reaches the model, crashes look like crashes.

)";

const char *const by_hand = R"(How to set it up by hand:
  streamcheck-mock --listen 127.0.0.1:11434 --control 127.0.0.1:11435 &
  # point your proxy's upstream at 127.0.0.1:11434, e.g. nginx on :8080, then:
  streamcheck run --proxy http://127.0.0.1:8080 --mock-control http://127.0.0.1:11435

)";

const char *const exit_codes =
    R"(Exit codes: 0 every MUST check passed (and SHOULD with --strict); 1 a check failed;
            2 setup or runtime error (mock or proxy unreachable, nginx -t failed, a --report
            file not writable: checked before the run; the other reports say what went wrong);
            3 usage error; 130/143 stopped by SIGINT/SIGTERM (the proxy stopped, the temp
            prefix removed unless --keep-temp).
  streamcheck COMMAND --help: that command's help.
)";

std::string section_text(const section &s) {
  return s.title + "\n" + options::help_text(table(), help_column, s.id) + s.footnote;
}

options::help_row entry(const command &c) {
  return {c.synopsis, c.help};
}

} // namespace

const std::vector<report_format> &report_formats() {
  static const std::vector<report_format> all = {
      {"console", write_console},
      {"json", [](std::ostream &out, const run_report &r, bool) { write_json(out, r); }},
      {"junit", [](std::ostream &out, const run_report &r, bool) { write_junit(out, r); }},
      {"markdown", [](std::ostream &out, const run_report &r, bool) { write_markdown(out, r); }},
      {"html", [](std::ostream &out, const run_report &r, bool) { write_html(out, r); }},
      {"sarif", [](std::ostream &out, const run_report &r, bool) { write_sarif(out, r); }},
      {"github", [](std::ostream &out, const run_report &r, bool) { write_github(out, r); }},
  };
  return all;
}

const report_format *find_report_format(const std::string &name) {
  for (const auto &f : report_formats())
    if (f.name == name) return &f;
  return nullptr;
}

result<cli_options> parse_command_line(int argc, char **argv) {
  if (argc < 2) return error{"missing command"};
  cli_options o;
  o.command = argv[1];
  auto parsed = options::parse<cli_options>(
      table(), std::vector<std::string>(argv + 2, argv + argc), o,
      [](cli_options &to, const std::string &word) -> std::optional<std::string> {
        if (managed::takes_config(to.command) && to.conf.empty() && word.rfind('-', 0) != 0) {
          to.conf = word;
          return std::nullopt;
        }
        if (to.command == "compare" && word.rfind('-', 0) != 0) {
          to.compare_targets.push_back(word);
          return std::nullopt;
        }
        return "unknown option '" + word + "'";
      });
  if (!parsed) return error{parsed.message()};
  if (parsed->rest) {
    if (o.command != "exec") return error{"unknown option '--'"};
    o.exec_argv = std::move(*parsed->rest);
  }
  if (o.reports.empty()) o.reports.push_back({"console", ""});
  return o;
}

std::string usage_text() {
  std::vector<options::help_row> rows;
  for (const auto &c : commands())
    rows.push_back(entry(c));
  std::string text = intro + std::string("Commands:\n") + options::format_rows(rows, help_column);
  for (const auto &s : sections())
    text += "\n" + section_text(s);
  return text + "\n" + by_hand + exit_codes;
}

std::optional<std::string> command_help(const std::string &name) {
  const auto c = std::find_if(commands().begin(), commands().end(),
                              [&](const command &k) { return k.name == name; });
  if (c == commands().end()) return std::nullopt;
  std::string text = "usage: streamcheck " + name + " [options]\n\n" +
                     options::format_rows({entry(*c)}, help_column) + "\n";
  for (const auto &s : sections())
    if (std::find(c->sections.begin(), c->sections.end(), s.id) != c->sections.end())
      text += section_text(s) + "\n";
  return text + exit_codes;
}

std::optional<std::string> wants_command_help(int argc, char **argv) {
  if (argc >= 3 && std::string(argv[1]) == "help") return std::string(argv[2]);
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    if (arg == "--help" || arg == "-h") return std::string(argv[1]);
  }
  return std::nullopt;
}

} // namespace streamcheck::harness
