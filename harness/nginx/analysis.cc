#include "harness/nginx/analysis.h"

#include <algorithm>
#include <cctype>
#include <regex>

namespace streamcheck::harness::nginx {
namespace {

std::string lower(std::string s) {
  for (auto &c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

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

const directive *find_server(const std::vector<directive> &top, const source_loc &loc,
                             const directive **http) {
  for (const auto &d : top)
    if (d.block && d.name == "http")
      for (const auto &s : d.children)
        if (s.block && s.name == "server" && s.loc.file == loc.file && s.loc.line == loc.line) {
          *http = &d;
          return &s;
        }
  return nullptr;
}

// nginx's location choice for a path: exact, then the longest prefix (final with ^~), then the
// first matching regex, else the longest prefix.
const directive *find_location(const directive &server, const std::string &path) {
  const directive *longest = nullptr;
  std::size_t longest_len = 0;
  bool longest_final = false;
  for (const auto &l : server.children) {
    if (!l.block || l.name != "location" || l.args.empty()) continue;
    const std::string m = l.arg(0);
    if (m == "=" && l.args.size() > 1 && l.arg(1) == path) return &l;
    if (m == "=" || m == "~" || m == "~*" || m[0] == '@') continue;
    const bool final = m == "^~";
    const std::string prefix = final ? l.arg(1) : m;
    if (path.rfind(prefix, 0) == 0 && prefix.size() >= longest_len) {
      longest = &l;
      longest_len = prefix.size();
      longest_final = final;
    }
  }
  if (longest_final) return longest;
  for (const auto &l : server.children) {
    if (!l.block || l.name != "location" || l.args.size() < 2) continue;
    const std::string m = l.arg(0);
    if (m != "~" && m != "~*") continue;
    try {
      const auto flags =
          m == "~*" ? std::regex::ECMAScript | std::regex::icase : std::regex::ECMAScript;
      if (std::regex_search(path, std::regex(l.arg(1), flags))) return &l;
    } catch (const std::regex_error &) {
      // PCRE syntax std::regex does not know: not this location, as far as we can tell.
    }
  }
  return longest;
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

bool has_arg(const directive &d, const std::string &value) {
  for (const auto &a : d.args)
    if (lower(a.value) == value) return true;
  return false;
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
  const std::string unit = lower(s.substr(i));
  if (unit.empty()) return n;
  if (unit == "k") return n << 10;
  if (unit == "m") return n << 20;
  if (unit == "g") return n << 30;
  return -1;
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
  const directive &block = location ? *location : *server;
  auto add = [&](std::vector<std::string> ids, const std::string &text,
                 const directive *at = nullptr, std::vector<edit> edits = {}) {
    const directive &d = at ? *at : block;
    const std::string subject = d.block ? d.text() + " { ... }" : d.text();
    std::string why;
    for (const auto &id : ids)
      why += (why.empty() ? "" : ", ") + id;
    for (auto &e : edits)
      e.why = why;
    for (auto &id : ids)
      out.push_back({std::move(id), text, d.loc, subject, edits});
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
  if (const directive *b = sc.get("proxy_buffering"); b && lower(b->arg(0)) == "on")
    add({"stream.", "conn.concurrent-streams"},
        q(*b) + " makes nginx collect the response before sending it", b,
        {set_or_add(b, "proxy_buffering off")});
  else if (!b)
    add({"stream.", "conn.concurrent-streams"},
        "no `proxy_buffering off` applies to " + where +
            ": nginx buffers proxied responses by default",
        nullptr, {set_or_add(nullptr, "proxy_buffering off")});
  const directive *v = sc.get("proxy_http_version");
  if (!v || v->arg(0) != "1.1") {
    const std::string text =
        (v ? q(*v) : "no `proxy_http_version 1.1` applies to " + where) +
        ": nginx talks HTTP/1.0 to the upstream, which then answers close-delimited";
    add({"stream.", "abort.truncation-visible", "conn.concurrent-streams"}, text, v,
        {set_or_add(v, "proxy_http_version 1.1")});
  }

  // timeout.*: proxy_read_timeout shorter than the profile's silence.
  const directive *rt = sc.get("proxy_read_timeout");
  const long long read_ms = rt ? parse_time_ms(rt->arg(0)) : 60'000;
  if (read_ms >= 0 && read_ms < o.silence_ms)
    add({"timeout.slow-first-token", "timeout.idle-gap"},
        (rt ? q(*rt)
            : "proxy_read_timeout is not set for " + where + " (nginx's default is 60s), which") +
            " is shorter than the " + std::to_string(o.silence_ms / 1000) +
            " s the upstream stays silent",
        rt, {set_or_add(rt, "proxy_read_timeout 3600s")});

  if (const directive *a = sc.get("proxy_ignore_client_abort"); a && lower(a->arg(0)) == "on")
    add({"abort.cancel-*"}, q(*a) + " keeps the upstream request running after the client has gone",
        a, {removal(*a)});
  if (const directive *c = sc.get("chunked_transfer_encoding"); c && lower(c->arg(0)) == "off")
    add({"abort.truncation-visible", "conn.keepalive"},
        q(*c) + " makes the response close-delimited (a cut stream looks complete, and the "
                "connection cannot be reused)",
        c, {removal(*c)});
  if (const directive *i = sc.get("proxy_intercept_errors"); i && lower(i->arg(0)) == "on")
    add({"api.error-passthrough"},
        q(*i) + " replaces the upstream's error responses with nginx's own pages", i,
        {removal(*i)});

  if (const directive *g = sc.get("gzip"); g && lower(g->arg(0)) == "on") {
    const directive *types = sc.get("gzip_types");
    if (types && (has_arg(*types, "application/x-ndjson") || has_arg(*types, "text/event-stream") ||
                  has_arg(*types, "*")))
      add({"stream.compressed-client"},
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
    if (lower(h->arg(0)).rfind("access-control-", 0) == 0 && !has_arg(*h, "always"))
      add({"cors.error-responses", "cors.proxy-errors"},
          q(*h) + " has no `always`: nginx adds it to 2xx/3xx responses only", h,
          {edit{edit::kind::set, h->loc, h->text() + " always", ""}});
  bool allow_origin = false;
  for (const directive *h : headers)
    if (lower(h->arg(0)) == "access-control-allow-origin") allow_origin = true;
  if (!allow_origin)
    add({"cors.preflight", "cors.stream-response", "cors.error-responses", "cors.proxy-errors"},
        "no `add_header Access-Control-Allow-Origin ... always` applies to " + where +
            (headers.empty() ? ""
                             : " (its add_header lines start at " + headers.front()->loc.str() +
                                   " and replace any inherited ones)"),
        nullptr, cors_edits());
  for (const directive *h : headers) {
    if (lower(h->arg(0)) != "access-control-allow-headers" || h->arg(1) == "*") continue;
    const std::string allowed = lower(h->arg(1));
    std::string missing;
    for (const char *name : preflight_headers)
      if (allowed.find(name) == std::string::npos)
        missing += (missing.empty() ? "" : ", ") + std::string(name);
    if (!missing.empty())
      add({"cors.preflight"},
          q(*h) + " does not allow " + missing + ", which browsers ask for in the preflight", h,
          {edit{edit::kind::set, h->loc, allow_headers_statement, ""}});
  }
  // One CORS layer: nginx adds its own, so the upstream's must be hidden, or a permissive
  // upstream (OLLAMA_ORIGINS=*, an OpenAI-compatible server) doubles every header.
  const auto hidden = sc.array("proxy_hide_header");
  auto hides = [&](const std::string &name) {
    return std::any_of(hidden.begin(), hidden.end(),
                       [&](const directive *d) { return lower(d->arg(0)) == lower(name); });
  };
  if (allow_origin && !hides("Access-Control-Allow-Origin")) {
    std::vector<edit> e;
    for (const char *h : {"Access-Control-Allow-Origin", "Access-Control-Allow-Methods",
                          "Access-Control-Allow-Headers", "Access-Control-Allow-Credentials",
                          "Access-Control-Expose-Headers", "Access-Control-Max-Age", "Vary"})
      if (!hides(h))
        e.push_back({edit::kind::add, array_block("proxy_hide_header").loc,
                     std::string("proxy_hide_header ") + h, ""});
    add({"cors.single-value", "cors.stream-response", "cors.error-responses"},
        "nginx adds CORS headers but no `proxy_hide_header Access-Control-Allow-Origin` applies "
        "to " +
            where + ": an upstream that sends its own doubles them",
        nullptr, e);
  }
  const directive *wildcard = nullptr, *credentials = nullptr, *echo = nullptr, *vary = nullptr;
  for (const directive *h : headers) {
    const std::string name = lower(h->arg(0));
    if (name == "access-control-allow-origin" && h->arg(1) == "*") wildcard = h;
    if (name == "access-control-allow-origin" && h->arg(1).rfind('$', 0) == 0) echo = h;
    if (name == "access-control-allow-credentials" && lower(h->arg(1)) == "true") credentials = h;
    if (name == "vary" && lower(h->arg(1)).find("origin") != std::string::npos) vary = h;
  }
  if (wildcard && credentials)
    add({"cors.credentials"},
        q(*credentials) + " with " + q(*wildcard) +
            ": browsers refuse credentialed responses for `*`",
        credentials, {removal(*credentials)});
  if (echo && !vary)
    add({"cors.vary-origin"},
        q(*echo) + " echoes the origin without `add_header Vary Origin always`: a cache can serve "
                   "one origin's answer to another",
        echo, {add_array("add_header", "add_header Vary Origin always")});
  // A Content-Type set or hidden here replaces the upstream's stream type.
  for (const directive *h : headers)
    if (lower(h->arg(0)) == "content-type")
      add({"stream.content-type", "stream.no-coalescing.sse"},
          q(*h) + " replaces the stream's Content-Type", h, {removal(*h)});
  for (const directive *h : hidden)
    if (lower(h->arg(0)) == "content-type")
      add({"stream.content-type", "stream.no-coalescing.sse"},
          q(*h) + " drops the upstream's Content-Type (nginx then sends its default_type)", h,
          {removal(*h)});
  if (location && !answers_preflight(*location))
    add({"cors.preflight"},
        "no `if ($request_method = OPTIONS) { return 204; }` in " + where +
            ": the preflight goes to the upstream, which may refuse it",
        nullptr,
        {edit{edit::kind::add, location->loc, "if ($request_method = OPTIONS) { return 204; }",
              ""}});
  if (const directive *n = sc.get("proxy_next_upstream"); n && has_arg(*n, "non_idempotent")) {
    std::string kept = "proxy_next_upstream";
    for (const auto &a : n->args)
      if (lower(a.value) != "non_idempotent") kept += " " + a.raw;
    add({"abort.no-replay"}, q(*n) + " retries a POST on another attempt after an error", n,
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
          if (lower(h.arg(0)).rfind("access-control-", 0) == 0) cors.push_back(&h);
        }
      if (own.empty()) continue;
      if (cors.empty()) {
        add({"cors.preflight"},
            q(*own.front()) + " inside `if` at " + blk.loc.str() +
                " replaces every add_header the location has: responses answered in that block "
                "carry none of the CORS headers",
            own.front(), removals(own));
        continue;
      }
      std::string quoted;
      for (const directive *h : cors)
        quoted += (quoted.empty() ? "" : ", ") + q(*h);
      add({"cors.preflight"},
          "the `if` block at " + blk.loc.str() +
              " answers with its own CORS headers only: " + quoted,
          &blk, removals(own));
    }

  const auto set_headers = sc.array("proxy_set_header");
  auto set_header = [&](const std::string &name) -> const directive * {
    for (const directive *h : set_headers)
      if (lower(h->arg(0)) == lower(name)) return h;
    return nullptr;
  };
  if (const directive *h = set_header("Host");
      h && (h->arg(1) == "$host" || h->arg(1) == "$http_host"))
    add({"upstream.host-accepted"},
        q(*h) + " passes the public Host to the upstream (Ollama on loopback refuses it with 403)",
        h, {edit{edit::kind::set, h->loc, "proxy_set_header Host localhost", ""}});
  if (const directive *h = set_header("Origin"); !h || !h->arg(1).empty())
    add({"upstream.origin-accepted"},
        (h ? q(*h) + " forwards an Origin"
           : "no `proxy_set_header Origin \"\"` applies to " + where +
                 ": the browser's Origin reaches the upstream") +
            ", whose allow-list refuses foreign origins",
        h,
        {h ? edit{edit::kind::set, h->loc, "proxy_set_header Origin \"\"", ""}
           : add_array("proxy_set_header", "proxy_set_header Origin \"\"")});
  if (const directive *h = set_header("Authorization"))
    add({"headers.authorization"}, q(*h) + " replaces the client's Authorization header", h,
        {removal(*h)});
  if (!set_header("X-Forwarded-For") && !set_header("X-Forwarded-Proto") &&
      !set_header("Forwarded"))
    add({"headers.forwarded"},
        "no `proxy_set_header X-Forwarded-For`/`X-Forwarded-Proto` applies "
        "to " +
            where,
        nullptr,
        {add_array("proxy_set_header",
                   "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for"),
         add_array("proxy_set_header", "proxy_set_header X-Forwarded-Proto $scheme")});

  const directive *mb = sc.get("client_max_body_size");
  const long long max_body = mb ? parse_size(mb->arg(0)) : 1 << 20;
  if (max_body > 0 && static_cast<std::size_t>(max_body) < o.large_body)
    add({"body.large-request"},
        (mb ? q(*mb)
            : "client_max_body_size is not set for " + where + " (nginx's default is 1m), which") +
            " is smaller than the " + std::to_string(o.large_body >> 20) + " MiB request",
        mb, {set_or_add(mb, "client_max_body_size 100m")});

  for (const auto &d : top)
    if (d.block && d.name == "events")
      for (const auto &c : d.children)
        if (c.name == "worker_connections" &&
            parse_size(c.arg(0)) < 2LL * o.concurrent_streams + 16) {
          std::string text = q(c);
          for (const auto &w : top)
            if (w.name == "worker_processes") text += " with " + q(w);
          add({"conn.concurrent-streams"},
              text + ": each stream holds two connections (client and upstream)", &c,
              {edit{edit::kind::set, c.loc,
                    "worker_connections " +
                        std::to_string(std::max(4096, 4 * o.concurrent_streams)),
                    ""}});
        }
  return out;
}

void annotate(run_report &r, const std::vector<finding> &findings,
              const config_location &server_block) {
  for (auto &c : r.checks) {
    if (c.result != outcome::fail && c.result != outcome::warn) continue;
    std::string mine;
    for (const auto &f : findings) {
      if (!matches(f, c.id) || mine.find(f.text) != std::string::npos) continue;
      mine += (mine.empty() ? "" : "; ") + f.text;
      c.locations.push_back({f.loc.file, f.loc.line, f.subject});
    }
    if (c.locations.empty() && server_block.line > 0) c.locations.push_back(server_block);
    if (mine.empty()) continue;
    c.fix += (c.fix.empty() ? "" : " | ") + std::string("in your config: ") + mine;
  }
}

} // namespace streamcheck::harness::nginx
