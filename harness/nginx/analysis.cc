#include "harness/nginx/analysis.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <functional>
#include <regex>

#include "common/ascii.h"
#include "harness/diagnosis.h"
#include "harness/nginx/locations.h"

namespace streamcheck::harness::nginx {
namespace {

// The rules, each naming the checks whose failure it explains (finding::check_id). analyse()
// applies them by name, so a rule's targets are stated here and nowhere else.
namespace rules {
const analysis_rule buffering{"buffering",
                              "proxy_buffering on, or not set (nginx buffers by default)",
                              {"stream.", "conn.concurrent-streams"}};
const analysis_rule http10_upstream{
    "http10_upstream",
    "proxy_http_version other than 1.1 (close-delimited upstream answers)",
    {"stream.", "abort.truncation-visible", "conn.concurrent-streams"}};
const analysis_rule read_timeout{
    "read_timeout",
    "proxy_read_timeout shorter than the profile's silence (default 60s)",
    {"timeout.slow-first-token", "timeout.idle-gap"}};
const analysis_rule ignore_client_abort{
    "ignore_client_abort", "proxy_ignore_client_abort on", {"abort.cancel-*"}};
const analysis_rule chunked_off{
    "chunked_off", "chunked_transfer_encoding off", {"abort.truncation-visible", "conn.keepalive"}};
const analysis_rule intercept_errors{
    "intercept_errors", "proxy_intercept_errors on", {"api.error-passthrough"}};
const analysis_rule gzip_stream_types{"gzip_stream_types",
                                      "gzip on with the stream types in gzip_types",
                                      {"stream.compressed-client"}};
const analysis_rule cors_without_always{"cors_without_always",
                                        "add_header Access-Control-* without always",
                                        {"cors.error-responses", "cors.proxy-errors"}};
const analysis_rule no_allow_origin{
    "no_allow_origin",
    "no add_header Access-Control-Allow-Origin ... always",
    {"cors.preflight", "cors.stream-response", "cors.error-responses", "cors.proxy-errors"}};
const analysis_rule allow_headers_short{
    "allow_headers_short",
    "Access-Control-Allow-Headers without the SDK headers a preflight asks for",
    {"cors.preflight"}};
const analysis_rule upstream_cors_not_hidden{
    "upstream_cors_not_hidden",
    "nginx's CORS headers without proxy_hide_header of the upstream's",
    {"cors.single-value", "cors.stream-response", "cors.error-responses"}};
const analysis_rule wildcard_credentials{
    "wildcard_credentials",
    "Access-Control-Allow-Origin * with Access-Control-Allow-Credentials true",
    {"cors.credentials"}};
const analysis_rule echo_without_vary{
    "echo_without_vary", "an echoed origin without add_header Vary Origin", {"cors.vary-origin"}};
const analysis_rule content_type_replaced{
    "content_type_replaced",
    "add_header Content-Type or proxy_hide_header Content-Type",
    {"stream.content-type", "stream.no-coalescing.sse"}};
const analysis_rule preflight_forwarded{
    "preflight_forwarded",
    "no if ($request_method = OPTIONS) { return 204; } in the location",
    {"cors.preflight"}};
const analysis_rule replays_post{
    "replays_post", "proxy_next_upstream ... non_idempotent", {"abort.no-replay"}};
const analysis_rule if_trap{
    "if_trap",
    "an if block with add_header of its own (it inherits none of the location's)",
    {"cors.preflight"}};
const analysis_rule public_host{
    "public_host", "proxy_set_header Host $host or $http_host", {"upstream.host-accepted"}};
const analysis_rule origin_forwarded{"origin_forwarded",
                                     "no proxy_set_header Origin "
                                     "",
                                     {"upstream.origin-accepted"}};
const analysis_rule authorization_replaced{
    "authorization_replaced", "proxy_set_header Authorization", {"headers.authorization"}};
const analysis_rule no_forwarded_headers{"no_forwarded_headers",
                                         "no proxy_set_header X-Forwarded-For/-Proto or Forwarded",
                                         {"headers.forwarded"}};
const analysis_rule small_body_limit{
    "small_body_limit",
    "client_max_body_size below the profile's request (default 1m)",
    {"body.large-request"}};
const analysis_rule few_worker_connections{"few_worker_connections",
                                           "worker_connections below two per concurrent stream",
                                           {"conn.concurrent-streams"}};
} // namespace rules

const analysis_rule *const all_rules[] = {&rules::buffering,
                                          &rules::http10_upstream,
                                          &rules::read_timeout,
                                          &rules::ignore_client_abort,
                                          &rules::chunked_off,
                                          &rules::intercept_errors,
                                          &rules::gzip_stream_types,
                                          &rules::cors_without_always,
                                          &rules::no_allow_origin,
                                          &rules::allow_headers_short,
                                          &rules::upstream_cors_not_hidden,
                                          &rules::wildcard_credentials,
                                          &rules::echo_without_vary,
                                          &rules::content_type_replaced,
                                          &rules::preflight_forwarded,
                                          &rules::replays_post,
                                          &rules::if_trap,
                                          &rules::public_host,
                                          &rules::origin_forwarded,
                                          &rules::authorization_replaced,
                                          &rules::no_forwarded_headers,
                                          &rules::small_body_limit,
                                          &rules::few_worker_connections};

std::string q(const directive &d) {
  return "`" + d.text() + "` at " + d.loc.str();
}

// The levels a request passes through, outermost first: main, http, server, location.
struct scope {
  std::vector<const std::vector<directive> *> levels;

  const directive *get(const std::string &name) const {
    for (auto it = levels.rbegin(); it != levels.rend(); ++it) {
      const directive *found = nullptr;
      for (const auto &d : **it)
        if (d.name == name) found = &d;
      if (found) return found;
    }
    return nullptr;
  }
  // Array directives (add_header, proxy_set_header): the innermost level that has any of them
  // replaces everything inherited.
  std::vector<const directive *> array(const std::string &name) const {
    for (auto it = levels.rbegin(); it != levels.rend(); ++it) {
      std::vector<const directive *> found;
      for (const auto &d : **it)
        if (d.name == name) found.push_back(&d);
      if (!found.empty()) return found;
    }
    return {};
  }
};

bool has_arg(const directive &d, const std::string &value) {
  for (const auto &a : d.args)
    if (ascii_lower(a.value) == value) return true;
  return false;
}

// `if (...) { return CODE ...; }` blocks (in the location, then the server) and plain `return`s.
void returns_with(const std::vector<directive> &level, const std::function<bool(int)> &code_ok,
                  std::vector<std::string> &out) {
  for (const auto &d : level) {
    if (d.block && d.name == "if")
      for (const auto &c : d.children)
        if (c.name == "return" && code_ok(std::atoi(c.arg(0).c_str())))
          out.push_back("`if " + d.args.front().raw + (d.args.size() > 1 ? " ..." : "") + "` at " +
                        d.loc.str() + " answers `" + c.text() + "` at " + c.loc.str());
    if (!d.block && d.name == "return" && code_ok(std::atoi(d.arg(0).c_str()))) out.push_back(q(d));
  }
}

// What browsers' preflights ask for (the OpenAI SDK's x-stainless-* among them), as in
// nginx/ollama.conf.
const std::string allow_headers_statement =
    "add_header Access-Control-Allow-Headers \"authorization, content-type, openai-beta, "
    "x-requested-with, x-stainless-arch, x-stainless-async, x-stainless-helper-method, "
    "x-stainless-lang, x-stainless-os, x-stainless-package-version, x-stainless-retry-count, "
    "x-stainless-runtime, x-stainless-runtime-version, x-stainless-timeout\" always";

// The headers cors.preflight requests; an Allow-Headers list must name each (or be *).
const char *const preflight_headers[] = {"authorization", "content-type", "x-stainless-os"};

// An `if ($request_method = OPTIONS)` block that returns: the preflight is answered here.
bool answers_preflight(const directive &location) {
  for (const auto &b : location.children)
    if (b.block && b.name == "if" && b.text().find("OPTIONS") != std::string::npos)
      for (const auto &d : b.children)
        if (d.name == "return") return true;
  return false;
}

// Directives that make nginx itself answer a status: what a divergent status is explained by.
void status_findings(const std::vector<directive> &top, const directive &server,
                     const directive *location, const scope &sc, const std::string &where,
                     const analysis_options &o, std::vector<finding> &out) {
  const directive &block = location ? *location : server;
  auto add_status = [&](long status, const std::string &text, const directive *at = nullptr,
                        std::vector<edit> edits = {}) {
    const directive &d = at ? *at : block;
    for (auto &e : edits)
      if (e.why.empty()) e.why = "HTTP " + std::to_string(status);
    out.push_back({"*", text, status, d.loc, d.block ? d.text() + " { ... }" : d.text(), edits});
  };
  std::vector<const std::vector<directive> *> levels{&server.children};
  if (location) levels.insert(levels.begin(), &location->children);

  // 401/403: an API-key or password gate.
  std::vector<std::string> gates;
  if (const directive *b = sc.get("auth_basic"); b && ascii_lower(b->arg(0)) != "off")
    gates.push_back(q(*b) + " asks for a password");
  if (const directive *r = sc.get("auth_request"); r && ascii_lower(r->arg(0)) != "off")
    gates.push_back(q(*r) + " lets an auth service decide");
  for (const auto *level : levels)
    returns_with(
        *level, [](int c) { return c == 401 || c == 403; }, gates);
  for (const auto &g : gates) {
    add_status(401, g);
    add_status(403, g);
  }

  // 400: framing headers set towards the upstream (the body is not re-framed to match them).
  for (const directive *h : sc.array("proxy_set_header")) {
    const std::string name = ascii_lower(h->arg(0));
    if (name == "transfer-encoding" || name == "content-length") {
      const std::string text = q(*h) + " sends a framing header that does not match the body "
                                       "nginx forwards, so the upstream cannot read the request: "
                                       "remove it (nginx frames the body itself)";
      add_status(400, text); // a body framed twice (Content-Length and chunked)
      add_status(-1, text);  // a body-less request announced as chunked: the upstream waits
    }
  }

  // 3xx: a redirect instead of the proxy.
  std::vector<std::string> redirects;
  for (const auto *level : levels)
    returns_with(
        *level, [](int c) { return c >= 301 && c <= 308; }, redirects);
  for (const auto &r : redirects)
    for (long status : {301L, 302L, 303L, 307L, 308L})
      add_status(status, r);

  // 500: try_files whose fallback leads back into itself (nginx: internal redirection cycle).
  if (location)
    for (const auto &d : location->children)
      if (d.name == "try_files")
        add_status(500, q(d) + " falls back to a URI this location handles again: nginx stops "
                               "after 10 internal redirects with a 500");

  // 503 (or limit_req_status): request or connection rate limits.
  for (const char *limit : {"limit_req", "limit_conn"}) {
    const auto limits = sc.array(limit);
    for (const directive *l : limits) {
      std::string text = q(*l);
      const std::string zone = l->arg(0).rfind("zone=", 0) == 0 ? l->arg(0).substr(5) : l->arg(0);
      for (const auto &h : top)
        if (h.block && h.name == "http")
          for (const auto &z : h.children)
            if (z.name == std::string(limit) + "_zone")
              for (const auto &a : z.args)
                if (a.value.find(zone + ":") != std::string::npos ||
                    a.value == "zone=" + zone.substr(0, zone.find(':')))
                  text += " (zone defined by " + q(z) + ")";
      text += " refuses requests beyond the limit; the suite's own bursts (" +
              std::to_string(o.concurrent_streams) + " streams at once) exceed it";
      const directive *st = sc.get(std::string(limit) + "_status");
      add_status(st ? std::atol(st->arg(0).c_str()) : 503, text);
    }
  }

  // 413: the body limit, quoting the configured value.
  const directive *mb = sc.get("client_max_body_size");
  const long long max_body = mb ? parse_size(mb->arg(0)) : 1 << 20;
  if (max_body > 0 && static_cast<std::size_t>(max_body) < o.large_body)
    add_status(
        413,
        (mb ? q(*mb) + " (" + std::to_string(max_body) + " bytes)"
            : "client_max_body_size is not set for " + where + " (nginx's default is 1m), which") +
            " is smaller than the " + std::to_string(o.large_body) + "-byte request body",
        mb,
        {mb ? edit{edit::kind::set, mb->loc, "client_max_body_size 100m",
                   rules::small_body_limit.targets_text()}
            : edit{edit::kind::add, block.loc, "client_max_body_size 100m",
                   rules::small_body_limit.targets_text()}});

  // No response at all: too few worker connections for the streams held open.
  for (const auto &d : top)
    if (d.block && d.name == "events")
      for (const auto &c : d.children)
        if (c.name == "worker_connections" &&
            parse_size(c.arg(0)) < 2LL * o.concurrent_streams + 16) {
          std::string text = q(c);
          for (const auto &w : top)
            if (w.name == "worker_processes") text += " with " + q(w);
          text += ": each stream holds two connections (client and upstream)";
          const edit more{edit::kind::set, c.loc,
                          "worker_connections " +
                              std::to_string(std::max(4096, 4 * o.concurrent_streams)),
                          rules::few_worker_connections.targets_text()};
          add_status(-1, text, &c, {more});
          add_status(500, text, &c, {more});
          for (const auto &id : rules::few_worker_connections.targets)
            out.push_back({id, text, 0, c.loc, c.text(), {more}});
        }
}

} // namespace

long long parse_time_ms(const std::string &s) {
  if (s.empty()) return -1;
  long long total = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return -1;
    long long n = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
      n = n * 10 + (s[i++] - '0');
    std::string unit;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i])))
      unit += s[i++];
    static const std::pair<const char *, long long> units[] = {
        {"ms", 1},          {"", 1000},           {"s", 1000},
        {"m", 60'000},      {"h", 3'600'000},     {"d", 86'400'000},
        {"w", 604'800'000}, {"M", 2'592'000'000}, {"y", 31'536'000'000}};
    bool known = false;
    for (const auto &[name, mult] : units)
      if (unit == name) {
        total += n * mult;
        known = true;
      }
    if (!known) return -1;
  }
  return total;
}

long long parse_size(const std::string &s) {
  if (s.empty()) return -1;
  std::size_t i = 0;
  long long n = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
    n = n * 10 + (s[i++] - '0');
  if (i == 0) return -1;
  const std::string unit = ascii_lower(s.substr(i));
  if (unit.empty()) return n;
  if (unit == "k") return n << 10;
  if (unit == "m") return n << 20;
  if (unit == "g") return n << 30;
  return -1;
}

std::string analysis_rule::targets_text() const {
  std::string out;
  for (const auto &id : targets)
    out += (out.empty() ? "" : ", ") + id;
  return out;
}

std::vector<const analysis_rule *> analysis_rules() {
  return {std::begin(all_rules), std::end(all_rules)};
}

std::vector<const analysis_rule *> rules_targeting(const std::string &check_id) {
  std::vector<const analysis_rule *> out;
  for (const analysis_rule *r : all_rules)
    for (const auto &target : r->targets) {
      finding f;
      f.check_id = target;
      if (matches(f, check_id)) {
        out.push_back(r);
        break;
      }
    }
  return out;
}

bool matches(const finding &f, const std::string &check_id) {
  const std::string &p = f.check_id;
  if (!p.empty() && p.back() == '*') return check_id.rfind(p.substr(0, p.size() - 1), 0) == 0;
  if (!p.empty() && p.back() == '.') return check_id.rfind(p, 0) == 0;
  return p == check_id;
}

std::vector<finding> analyse(const std::vector<directive> &top, const analysis_options &o) {
  std::vector<finding> out;
  const directive *http = nullptr;
  const directive *server = find_server(top, o.server, &http);
  if (!server) return out;
  const directive *location = find_location(*server, o.path);
  scope sc{{&top, &http->children, &server->children}};
  if (location) sc.levels.push_back(&location->children);
  const std::string where =
      location ? "`location " + location->args.back().raw + "` at " + location->loc.str()
               : "the server at " + server->loc.str();
  // Why nginx answered itself holds for any location; how it proxies only for one that does:
  // never judge the streaming settings of a location that does not proxy.
  status_findings(top, *server, location, sc, where, o, out);
  if (!location || !proxy_pass_of(*location)) return out;
  const directive &block = location ? *location : *server;
  auto add = [&](const analysis_rule &rule, const std::string &text, const directive *at = nullptr,
                 std::vector<edit> edits = {}) {
    const directive &d = at ? *at : block;
    const std::string subject = d.block ? d.text() + " { ... }" : d.text();
    const std::string why = rule.targets_text();
    for (auto &e : edits)
      e.why = why;
    for (const auto &id : rule.targets)
      out.push_back({id, text, 0, d.loc, subject, edits});
  };
  // A missing directive goes into the block under test; one present is replaced where it is.
  auto set_or_add = [&](const directive *d, const std::string &statement) {
    return d ? edit{edit::kind::set, d->loc, statement, ""}
             : edit{edit::kind::add, block.loc, statement, ""};
  };
  auto removal = [](const directive &d) { return edit{edit::kind::remove, d.loc, d.text(), ""}; };
  // Array directives (add_header, proxy_set_header) go where the ones in force are: a first one
  // in a deeper block would replace every inherited one.
  const directive *owners[] = {nullptr, http, server, location};
  auto array_block = [&](const std::string &name) -> const directive & {
    for (std::size_t k = sc.levels.size(); k-- > 1;)
      for (const auto &d : *sc.levels[k])
        if (d.name == name) return *owners[k];
    return block;
  };
  auto add_array = [&](const std::string &name, const std::string &statement) {
    return edit{edit::kind::add, array_block(name).loc, statement, ""};
  };

  // stream.*: response buffering and the HTTP/1.0 upstream (close-delimited answers).
  if (const directive *b = sc.get("proxy_buffering"); b && ascii_lower(b->arg(0)) == "on")
    add(rules::buffering, q(*b) + " makes nginx collect the response before sending it", b,
        {set_or_add(b, "proxy_buffering off")});
  else if (!b)
    add(rules::buffering,
        "no `proxy_buffering off` applies to " + where +
            ": nginx buffers proxied responses by default",
        nullptr, {set_or_add(nullptr, "proxy_buffering off")});
  const directive *v = sc.get("proxy_http_version");
  if (!v || v->arg(0) != "1.1") {
    const std::string text =
        (v ? q(*v) : "no `proxy_http_version 1.1` applies to " + where) +
        ": nginx talks HTTP/1.0 to the upstream, which then answers close-delimited";
    add(rules::http10_upstream, text, v, {set_or_add(v, "proxy_http_version 1.1")});
  }

  // timeout.*: proxy_read_timeout shorter than the profile's silence.
  const directive *rt = sc.get("proxy_read_timeout");
  const long long read_ms = rt ? parse_time_ms(rt->arg(0)) : 60'000;
  if (read_ms >= 0 && read_ms < o.silence_ms)
    add(rules::read_timeout,
        (rt ? q(*rt)
            : "proxy_read_timeout is not set for " + where + " (nginx's default is 60s), which") +
            " is shorter than the " + std::to_string(o.silence_ms / 1000) +
            " s the upstream stays silent",
        rt, {set_or_add(rt, "proxy_read_timeout 3600s")});

  if (const directive *a = sc.get("proxy_ignore_client_abort"); a && ascii_lower(a->arg(0)) == "on")
    add(rules::ignore_client_abort,
        q(*a) + " keeps the upstream request running after the client has gone", a, {removal(*a)});
  if (const directive *c = sc.get("chunked_transfer_encoding");
      c && ascii_lower(c->arg(0)) == "off")
    add(rules::chunked_off,
        q(*c) + " makes the response close-delimited (a cut stream looks complete, and the "
                "connection cannot be reused)",
        c, {removal(*c)});
  if (const directive *i = sc.get("proxy_intercept_errors"); i && ascii_lower(i->arg(0)) == "on")
    add(rules::intercept_errors,
        q(*i) + " replaces the upstream's error responses with nginx's own pages", i,
        {removal(*i)});

  if (const directive *g = sc.get("gzip"); g && ascii_lower(g->arg(0)) == "on") {
    const directive *types = sc.get("gzip_types");
    if (types && (has_arg(*types, "application/x-ndjson") || has_arg(*types, "text/event-stream") ||
                  has_arg(*types, "*")))
      add(rules::gzip_stream_types,
          q(*g) + " with " + q(*types) + " compresses the stream, and gzip buffers it", types,
          {edit{edit::kind::add, block.loc, "gzip off", ""}});
  }

  // add_header: CORS headers without `always` are left off 4xx/5xx responses.
  const auto headers = sc.array("add_header");
  // CORS answered here, in one layer, also on errors; the preflight never forwarded.
  auto cors_edits = [&]() {
    std::vector<edit> e;
    for (const std::string &h : {std::string("add_header Access-Control-Allow-Origin * always"),
                                 std::string("add_header Access-Control-Allow-Methods \"GET, POST, "
                                             "OPTIONS\" always"),
                                 allow_headers_statement})
      e.push_back(add_array("add_header", h));
    if (!answers_preflight(block))
      e.push_back(
          {edit::kind::add, block.loc, "if ($request_method = OPTIONS) { return 204; }", ""});
    for (const char *h : {"Access-Control-Allow-Origin", "Access-Control-Allow-Methods",
                          "Access-Control-Allow-Headers"})
      e.push_back({edit::kind::add, array_block("proxy_hide_header").loc,
                   std::string("proxy_hide_header ") + h, ""});
    return e;
  };
  auto removals = [&](const std::vector<const directive *> &ds) {
    std::vector<edit> e;
    for (const directive *d : ds)
      e.push_back(removal(*d));
    return e;
  };
  for (const directive *h : headers)
    if (ascii_lower(h->arg(0)).rfind("access-control-", 0) == 0 && !has_arg(*h, "always"))
      add(rules::cors_without_always,
          q(*h) + " has no `always`: nginx adds it to 2xx/3xx responses only", h,
          {edit{edit::kind::set, h->loc, h->text() + " always", ""}});
  bool allow_origin = false;
  for (const directive *h : headers)
    if (ascii_lower(h->arg(0)) == "access-control-allow-origin") allow_origin = true;
  if (!allow_origin)
    add(rules::no_allow_origin,
        "no `add_header Access-Control-Allow-Origin ... always` applies to " + where +
            (headers.empty() ? ""
                             : " (its add_header lines start at " + headers.front()->loc.str() +
                                   " and replace any inherited ones)"),
        nullptr, cors_edits());
  for (const directive *h : headers) {
    if (ascii_lower(h->arg(0)) != "access-control-allow-headers" || h->arg(1) == "*") continue;
    const std::string allowed = ascii_lower(h->arg(1));
    std::string missing;
    for (const char *name : preflight_headers)
      if (allowed.find(name) == std::string::npos)
        missing += (missing.empty() ? "" : ", ") + std::string(name);
    if (!missing.empty())
      add(rules::allow_headers_short,
          q(*h) + " does not allow " + missing + ", which browsers ask for in the preflight", h,
          {edit{edit::kind::set, h->loc, allow_headers_statement, ""}});
  }
  // One CORS layer: nginx adds its own, so the upstream's must be hidden, or a permissive
  // upstream (OLLAMA_ORIGINS=*, an OpenAI-compatible server) doubles every header.
  const auto hidden = sc.array("proxy_hide_header");
  auto hides = [&](const std::string &name) {
    return std::any_of(hidden.begin(), hidden.end(), [&](const directive *d) {
      return ascii_lower(d->arg(0)) == ascii_lower(name);
    });
  };
  if (allow_origin && !hides("Access-Control-Allow-Origin")) {
    std::vector<edit> e;
    for (const char *h : {"Access-Control-Allow-Origin", "Access-Control-Allow-Methods",
                          "Access-Control-Allow-Headers", "Access-Control-Allow-Credentials",
                          "Access-Control-Expose-Headers", "Access-Control-Max-Age", "Vary"})
      if (!hides(h))
        e.push_back({edit::kind::add, array_block("proxy_hide_header").loc,
                     std::string("proxy_hide_header ") + h, ""});
    add(rules::upstream_cors_not_hidden,
        "nginx adds CORS headers but no `proxy_hide_header Access-Control-Allow-Origin` applies "
        "to " +
            where + ": an upstream that sends its own doubles them",
        nullptr, e);
  }
  const directive *wildcard = nullptr, *credentials = nullptr, *echo = nullptr, *vary = nullptr;
  for (const directive *h : headers) {
    const std::string name = ascii_lower(h->arg(0));
    if (name == "access-control-allow-origin" && h->arg(1) == "*") wildcard = h;
    if (name == "access-control-allow-origin" && h->arg(1).rfind('$', 0) == 0) echo = h;
    if (name == "access-control-allow-credentials" && ascii_lower(h->arg(1)) == "true")
      credentials = h;
    if (name == "vary" && ascii_lower(h->arg(1)).find("origin") != std::string::npos) vary = h;
  }
  if (wildcard && credentials)
    add(rules::wildcard_credentials,
        q(*credentials) + " with " + q(*wildcard) +
            ": browsers refuse credentialed responses for `*`",
        credentials, {removal(*credentials)});
  if (echo && !vary)
    add(rules::echo_without_vary,
        q(*echo) + " echoes the origin without `add_header Vary Origin always`: a cache can serve "
                   "one origin's answer to another",
        echo, {add_array("add_header", "add_header Vary Origin always")});
  // A Content-Type set or hidden here replaces the upstream's stream type.
  for (const directive *h : headers)
    if (ascii_lower(h->arg(0)) == "content-type")
      add(rules::content_type_replaced, q(*h) + " replaces the stream's Content-Type", h,
          {removal(*h)});
  for (const directive *h : hidden)
    if (ascii_lower(h->arg(0)) == "content-type")
      add(rules::content_type_replaced,
          q(*h) + " drops the upstream's Content-Type (nginx then sends its default_type)", h,
          {removal(*h)});
  if (location && !answers_preflight(*location))
    add(rules::preflight_forwarded,
        "no `if ($request_method = OPTIONS) { return 204; }` in " + where +
            ": the preflight goes to the upstream, which may refuse it",
        nullptr,
        {edit{edit::kind::add, location->loc, "if ($request_method = OPTIONS) { return 204; }",
              ""}});
  if (const directive *n = sc.get("proxy_next_upstream"); n && has_arg(*n, "non_idempotent")) {
    std::string kept = "proxy_next_upstream";
    for (const auto &a : n->args)
      if (ascii_lower(a.value) != "non_idempotent") kept += " " + a.raw;
    add(rules::replays_post, q(*n) + " retries a POST on another attempt after an error", n,
        {edit{edit::kind::set, n->loc,
              kept == "proxy_next_upstream" ? "proxy_next_upstream off" : kept, ""}});
  }
  // The `if` trap: an if block with an add_header of its own inherits none of the location's.
  // When it sets CORS headers itself, those are what the preflight gets: quote them instead.
  if (location && !headers.empty())
    for (const auto &blk : location->children) {
      if (!blk.block || blk.name != "if") continue;
      std::vector<const directive *> own, cors;
      for (const auto &h : blk.children)
        if (h.name == "add_header") {
          own.push_back(&h);
          if (ascii_lower(h.arg(0)).rfind("access-control-", 0) == 0) cors.push_back(&h);
        }
      if (own.empty()) continue;
      if (cors.empty()) {
        add(rules::if_trap,
            q(*own.front()) + " inside `if` at " + blk.loc.str() +
                " replaces every add_header the location has: responses answered in that block "
                "carry none of the CORS headers",
            own.front(), removals(own));
        continue;
      }
      std::string quoted;
      for (const directive *h : cors)
        quoted += (quoted.empty() ? "" : ", ") + q(*h);
      add(rules::if_trap,
          "the `if` block at " + blk.loc.str() +
              " answers with its own CORS headers only: " + quoted,
          &blk, removals(own));
    }

  const auto set_headers = sc.array("proxy_set_header");
  auto set_header = [&](const std::string &name) -> const directive * {
    for (const directive *h : set_headers)
      if (ascii_lower(h->arg(0)) == ascii_lower(name)) return h;
    return nullptr;
  };
  if (const directive *h = set_header("Host");
      h && (h->arg(1) == "$host" || h->arg(1) == "$http_host"))
    add(rules::public_host,
        q(*h) + " passes the public Host to the upstream (Ollama on loopback refuses it with 403)",
        h, {edit{edit::kind::set, h->loc, "proxy_set_header Host localhost", ""}});
  if (const directive *h = set_header("Origin"); !h || !h->arg(1).empty())
    add(rules::origin_forwarded,
        (h ? q(*h) + " forwards an Origin"
           : "no `proxy_set_header Origin \"\"` applies to " + where +
                 ": the browser's Origin reaches the upstream") +
            ", whose allow-list refuses foreign origins",
        h,
        {h ? edit{edit::kind::set, h->loc, "proxy_set_header Origin \"\"", ""}
           : add_array("proxy_set_header", "proxy_set_header Origin \"\"")});
  if (const directive *h = set_header("Authorization"))
    add(rules::authorization_replaced, q(*h) + " replaces the client's Authorization header", h,
        {removal(*h)});
  if (!set_header("X-Forwarded-For") && !set_header("X-Forwarded-Proto") &&
      !set_header("Forwarded"))
    add(rules::no_forwarded_headers,
        "no `proxy_set_header X-Forwarded-For`/`X-Forwarded-Proto` applies "
        "to " +
            where,
        nullptr,
        {add_array("proxy_set_header",
                   "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for"),
         add_array("proxy_set_header", "proxy_set_header X-Forwarded-Proto $scheme")});

  return out;
}

namespace {

// What nginx's error log says about a status, when it says anything.
std::string log_evidence(long status, const std::vector<std::string> &log_lines) {
  std::vector<const char *> keys;
  if (status == 500) keys = {"internal redirection cycle", "worker_connections are not enough"};
  if (status == 503 || status == 429) keys = {"limiting requests", "limiting connections"};
  if (status == -1) keys = {"worker_connections are not enough"};
  for (const auto &l : log_lines)
    for (const char *k : keys)
      if (l.find(k) != std::string::npos) {
        const auto at = l.find(k);
        return l.substr(at, std::min<std::size_t>(l.find(", client", at) - at, 120));
      }
  return "";
}

} // namespace

void annotate(run_report &r, const std::vector<finding> &findings, const std::string &path,
              const std::vector<std::string> &log_lines) {
  for (auto &c : r.checks) {
    const bool by_status = divergence_explains(c);
    // An inconclusive check observed nothing of its own subject: only what the proxy answered
    // instead (an auth gate, a redirect, a limit) is worth quoting for it.
    if (c.result != outcome::fail && c.result != outcome::warn &&
        !(c.result == outcome::inconclusive && by_status))
      continue;
    if (!path.empty() && c.path != path) continue;
    std::string mine;
    for (const auto &f : findings)
      if (matches(f, c.id) && f.status == (by_status ? c.diverged_status : 0) &&
          mine.find(f.text) == std::string::npos) {
        mine += (mine.empty() ? "" : "; ") + f.text;
        if (f.loc.line > 0) c.locations.push_back({f.loc.file, f.loc.line, f.subject});
      }
    if (by_status) {
      const std::string seen = log_evidence(c.diverged_status, log_lines);
      if (!seen.empty()) c.cause += " (nginx's error log: \"" + seen + "\")";
      if (mine.empty()) c.cause += "; nothing in the config under test explains it";
    }
    if (mine.empty()) continue;
    c.fix += (c.fix.empty() ? "" : " | ") + std::string("in your config: ") + mine;
  }
}

void locate_unexplained(run_report &r, const config_location &server_block) {
  if (server_block.line <= 0) return;
  for (auto &c : r.checks)
    if ((c.result == outcome::fail || c.result == outcome::warn) && c.locations.empty())
      c.locations.push_back(server_block);
}

void note_rate_limits(run_report &r) {
  std::string ids, limit;
  int n = 0;
  for (const auto &c : r.checks) {
    if ((c.diverged_status != 503 && c.diverged_status != 429) || !divergence_explains(c)) continue;
    const std::string said = c.fix + " " + c.cause;
    const auto at = said.find("in your config: ");
    if (at == std::string::npos || said.find("limit_", at) == std::string::npos) continue;
    if (limit.empty()) limit = said.substr(at + 16);
    ids += (ids.empty() ? "" : ", ") + c.id;
    ++n;
  }
  if (n > 0)
    r.notes.push_back("the suite's own bursts tripped a rate limit (" + limit +
                      "): " + std::to_string(n) +
                      " checks got its refusal instead of a stream and could not be judged "
                      "(inconclusive): " +
                      ids);
}

} // namespace streamcheck::harness::nginx
