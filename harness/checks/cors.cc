// cors.*: a browser app on another origin must be able to stream through the proxy. Judged by the
// Fetch standard's rules (cors_rules.h), which tests/browser holds against Chromium's verdicts.
#include <algorithm>

#include "harness/checks/cors.h"

#include "common/ascii.h"
#include "harness/checks/catalog_parts.h"
#include "harness/checks/cors_rules.h"
#include "harness/checks/requests.h"

namespace streamcheck::harness {
namespace cors {
namespace {

// What the OpenAI JS SDK in a browser asks for (a subset of its x-stainless-* headers).
const std::vector<std::string> requested_headers = {"authorization", "content-type",
                                                    "x-stainless-os"};

// Judges iterate the probes they declared (not the ones that came back): a probe that was not
// sent, or got no response, leaves nothing to judge and must never read as a pass.
bool answered(const probe_result &r) {
  return r.started && r.status != 0;
}

bool has_cors_header(const probe_result &r) {
  for (const auto &line : r.header_lines)
    if (ascii_lower(line.substr(0, 15)) == "access-control-") return true;
  return false;
}

verdict unanswered(const probe_result &r, const std::string &name, std::string expected,
                   json m = json::object()) {
  return fail(std::move(expected), name + ": no response (" + describe_failure(r) + ")",
              "the request got no HTTP response, so its CORS headers cannot be judged",
              std::move(m));
}

} // namespace

probe_spec with_origin(probe_spec p, const check_context &c) {
  p.headers.push_back("Origin: " + c.origin);
  return p;
}

probe_spec preflight_probe(const check_context &c, std::string name) {
  probe_spec p = plain(std::move(name), "OPTIONS", "/v1/chat/completions");
  p.headers = {"Origin: " + c.origin, "Access-Control-Request-Method: POST",
               "Access-Control-Request-Headers: authorization,content-type,x-stainless-os"};
  return p;
}

verdict judge_preflight(const probe_result &r, const check_context &ctx) {
  json m = {{"status", r.status},
            {"allow_origin", r.header_values("Access-Control-Allow-Origin")},
            {"allow_methods", r.header_values("Access-Control-Allow-Methods")},
            {"allow_headers", r.header_values("Access-Control-Allow-Headers")}};
  if (auto problem = preflight_problem(r, ctx.origin, "POST", requested_headers))
    return fail("2xx allowing origin " + ctx.origin + ", POST and " +
                    "authorization, content-type, x-stainless-os",
                *problem, "the preflight is forwarded upstream or answered incompletely", m);
  const auto allowed = header_tokens(r.header_values("Access-Control-Allow-Headers"));
  const bool wildcard_auth =
      std::find(allowed.begin(), allowed.end(), "authorization") == allowed.end();
  return pass("HTTP " + std::to_string(r.status) + ", origin and requested headers allowed" +
                  (wildcard_auth ? " (authorization only through '*': browsers accept it, the "
                                   "Fetch standard does not; list it explicitly)"
                                 : ""),
              m);
}

verdict judge_stream_response(const probe_result &r, const check_context &ctx) {
  json m = {{"status", r.status},
            {"allow_origin", r.header_values("Access-Control-Allow-Origin")},
            {"events", r.events.size()}};
  if (r.status < 200 || r.status > 299)
    return fail("2xx", describe_failure(r), "the request from a foreign origin was refused", m);
  if (auto problem = cors_read_problem(r, ctx.origin))
    return fail("exactly one Access-Control-Allow-Origin: " + ctx.origin + " (or *)", *problem,
                "CORS headers are missing, doubled or wrong on the streamed response", m);
  return pass("readable from " + ctx.origin + ", " + std::to_string(r.events.size()) + " events",
              m);
}

verdict judge_single_value(const observations &o, const std::vector<std::string> &responses) {
  json m = json::object();
  for (const auto &name : responses) {
    const probe_result &r = *o.probe(name);
    if (!answered(r)) return unanswered(r, name, "each Access-Control-* header once", m);
    const auto doubled = doubled_cors_headers(r);
    m[name] = doubled;
    if (!doubled.empty())
      return fail("each Access-Control-* header once",
                  name + ": " + doubled.front() + " = " +
                      json(r.header_values(doubled.front())).dump(),
                  "both the proxy and the upstream add CORS headers", m);
  }
  // Nothing doubled is also true of a proxy and an upstream that add no CORS at all (stock
  // configs): said so, rather than counted as single headers.
  const auto with_cors = std::count_if(responses.begin(), responses.end(), [&](const auto &name) {
    return has_cors_header(*o.probe(name));
  });
  if (with_cors == 0)
    return pass("no Access-Control-* header on any of " + std::to_string(responses.size()) +
                    " responses, so none doubled",
                m);
  return pass("every CORS header single on " + std::to_string(responses.size()) + " responses", m);
}

verdict judge_credentials(const observations &o, const std::vector<std::string> &responses) {
  for (const auto &name : responses) {
    const probe_result &r = *o.probe(name);
    if (!answered(r)) return unanswered(r, name, "no '*' with credentials");
    for (const auto &acao : r.header_values("Access-Control-Allow-Origin"))
      for (const auto &acac : r.header_values("Access-Control-Allow-Credentials"))
        if (acao.find('*') != std::string::npos && acac == "true")
          return fail("no '*' with credentials",
                      name + ": Allow-Origin '*' and Allow-Credentials true",
                      "a copied CORS snippet combines a wildcard with credentials");
  }
  return pass("no wildcard combined with credentials");
}

verdict judge_vary_origin(const observations &o, const std::vector<std::string> &responses,
                          const check_context &ctx, const std::string &stream_check) {
  int echoed = 0, with_cors = 0;
  for (const auto &name : responses) {
    const probe_result &r = *o.probe(name);
    if (!answered(r)) return unanswered(r, name, "Vary: Origin with an echoed origin");
    const auto acao = r.header_values("Access-Control-Allow-Origin");
    with_cors += !acao.empty();
    if (acao.size() != 1 || acao.front() != ctx.origin) continue;
    ++echoed;
    const auto vary = header_tokens(r.header_values("Vary"));
    if (std::find(vary.begin(), vary.end(), "origin") == vary.end() &&
        std::find(vary.begin(), vary.end(), "*") == vary.end())
      return fail("Vary: Origin with an echoed origin",
                  name + ": Vary " + json(r.header_values("Vary")).dump(),
                  "the echoed origin is cacheable across origins");
  }
  if (with_cors == 0)
    return inconclusive("no Access-Control-Allow-Origin on the preflight or the stream, so no "
                        "echoed origin to vary by",
                        "the proxy answers without CORS headers", stream_check);
  return pass(echoed ? "Vary: Origin on every echoed origin" : "origin not echoed (wildcard)");
}

} // namespace cors

namespace {

using cors::with_origin;

probe_spec preflight(const check_context &c) {
  return cors::preflight_probe(c);
}

probe_spec browser_stream(const check_context &c) {
  return with_origin(chat_stream("stream", {.gap_ms = 20, .tokens = 5}), c);
}

std::vector<probe_spec> error_probes(const check_context &c) {
  probe_spec missing = with_origin(chat_stream("upstream-404"), c);
  missing.body["model"] = "no-such-model";
  return {missing, with_origin(chat_stream("upstream-500", {.status = 500}), c)};
}

std::vector<std::string> names_of(const std::vector<probe_spec> &specs) {
  std::vector<std::string> out;
  for (const auto &s : specs)
    out.push_back(s.name);
  return out;
}

std::vector<probe_spec> every_kind_of_response(const check_context &c) {
  std::vector<probe_spec> p{preflight(c), browser_stream(c)};
  for (auto &e : error_probes(c))
    p.push_back(e);
  return p;
}

const std::map<std::string, std::string> one_layer_fixes = {
    {"nginx", "answer CORS in nginx only: proxy_hide_header Access-Control-Allow-Origin (and the "
              "other Access-Control-* headers), then add_header ... always; answer OPTIONS with "
              "'return 204' in the same location"},
    {"generic", "emit CORS headers in exactly one layer (the proxy or the upstream)"},
};

// cors.stream-response: the one-layer advice, and per proxy the directives its fixture pair
// proved (fixtures/<kind>/origin fails, cors passes). cors.single-value has no such pair yet.
std::map<std::string, std::string> stream_response_fixes() {
  auto fixes = one_layer_fixes;
  fixes.insert(
      {{"haproxy", "http-after-response set-header access-control-allow-origin "
                   "%[var(txn.cors_origin)] for an allow-listed Origin, and http-request "
                   "del-header origin towards Ollama (proxies/haproxy/ollama.cfg)"},
       {"caddy", "header @allowed Access-Control-Allow-Origin {http.request.header.Origin} "
                 "(@allowed: header_regexp Origin with your app's origins), header_up -Origin "
                 "(proxies/caddy/Caddyfile)"},
       {"apache",
        "SetEnvIfNoCase Origin with your app's origins setting CORS_ORIGIN, Header always "
        "set Access-Control-Allow-Origin \"%{CORS_ORIGIN}e\" env=CORS_ORIGIN, "
        "RequestHeader unset Origin (proxies/apache/ollama.conf)"},
       {"lighttpd", "setenv.set-response-header = ( \"Access-Control-Allow-Origin\" => "
                    "\"https://your.app\" ) in a $REQUEST_HEADER[\"Origin\"] == "
                    "\"https://your.app\" block (proxies/lighttpd/ollama.conf)"}});
  return fixes;
}

check preflight_check() {
  // Fault: OPTIONS forwarded to an upstream that does not answer it (405), or answered without
  // the headers the SDK asks for: the browser never sends the POST.
  return {
      .id = "cors.preflight",
      .title = "The browser's preflight is allowed",
      .severity = level::must,
      .requirement =
          "OPTIONS with Origin, Access-Control-Request-Method: POST and Access-Control-Request-"
          "Headers: authorization, content-type, x-stainless-os gets a 2xx allowing all of them.",
      .fixes =
          {{"nginx", "if ($request_method = OPTIONS) { return 204; } with add_header "
                     "Access-Control-Allow-Origin/-Methods/-Headers (listing authorization, "
                     "content-type, x-stainless-*) ... always"},
           // fixtures/<kind>/origin fails, cors passes (HAProxy, Caddy, Apache, lighttpd).
           {"haproxy",
            "http-request return status 204 if METH_OPTIONS, with the Access-Control-* headers set "
            "by http-after-response for allowed origins (proxies/haproxy/ollama.cfg)"},
           {"caddy", "@preflight method OPTIONS and respond @preflight 204, with a header block "
                     "setting Access-Control-* for allowed origins (proxies/caddy/Caddyfile)"},
           {"apache",
            "RewriteCond %{REQUEST_METHOD} OPTIONS and RewriteRule ^ - [R=204,L], with Header "
            "always set Access-Control-* env=CORS_ORIGIN (proxies/apache/ollama.conf)"},
           {"lighttpd", "a mod_magnet script (Debian: lighttpd-modules-lua) returning 204 for "
                        "OPTIONS, with setenv.set-response-header Access-Control-* in a "
                        "$REQUEST_HEADER[\"Origin\"] block (proxies/lighttpd/ollama.conf)"},
           {"generic", "answer preflights at the proxy with a 204 and the Access-Control-Allow-* "
                       "headers"}},
      .probes = [](const check_context &ctx) { return std::vector{preflight(ctx)}; },
      .judge =
          [](const observations &o, const check_context &ctx) {
            return cors::judge_preflight(*o.probe("preflight"), ctx);
          },
      .policy_dependent = true};
}

check stream_response() {
  // Fault: no CORS on the streamed response (or a wrong origin): the preflight passes, the POST
  // is sent, the model generates, and the page still cannot read a single token.
  return {.id = "cors.stream-response",
          .title = "A browser can read the stream",
          .severity = level::must,
          .requirement = "A streamed POST from a foreign origin gets 2xx and exactly one valid "
                         "Access-Control-Allow-Origin.",
          .fixes = stream_response_fixes(),
          .probes = [](const check_context &ctx) { return std::vector{browser_stream(ctx)}; },
          .judge =
              [](const observations &o, const check_context &ctx) {
                return cors::judge_stream_response(*o.probe("stream"), ctx);
              },
          .policy_dependent = true};
}

check single_value() {
  // Fault: the proxy adds CORS headers and the upstream (OLLAMA_ORIGINS=*, an OpenAI-compatible
  // server) adds its own: "Access-Control-Allow-Origin: *, *" is rejected by every browser.
  return {.id = "cors.single-value",
          .title = "No CORS header is doubled",
          .severity = level::must,
          .requirement =
              "No Access-Control-* header appears twice (proxy and upstream both adding) on any "
              "response.",
          .fixes = one_layer_fixes,
          .probes = every_kind_of_response,
          .judge =
              [](const observations &o, const check_context &ctx) {
                return cors::judge_single_value(o, names_of(every_kind_of_response(ctx)));
              },
          .policy_dependent = true};
}

check error_responses() {
  // Fault: nginx's add_header without 'always' applies only to 2xx/3xx: "model not found"
  // reaches the page as an opaque network error instead of a readable message.
  return {
      .id = "cors.error-responses",
      .title = "Upstream errors are readable by the browser",
      .severity = level::must,
      .requirement = "Upstream 4xx/5xx responses carry valid CORS headers.",
      .fixes = {{"nginx", "add 'always' to every add_header Access-Control-* line"},
                // fixtures/<kind>/origin fails, cors passes (HAProxy, Caddy, Apache, lighttpd).
                {"haproxy",
                 "http-after-response (not http-response alone) for the Access-Control-* headers"},
                {"caddy",
                 "the header directive: it applies to every response, upstream errors included"},
                {"apache", "Header always set (plain Header set skips error responses)"},
                {"lighttpd",
                 "setenv.set-response-header: it applies to upstream error responses too"},
                {"generic", "add CORS headers to error responses too"}},
      .probes = [](const check_context &ctx) { return error_probes(ctx); },
      .judge = [](const observations &o, const check_context &ctx) -> verdict {
        json m = json::object();
        for (const auto &spec : error_probes(ctx)) {
          const probe_result &r = *o.probe(spec.name); // a missing probe reads as "not sent"
          m[spec.name] = {{"status", r.status},
                          {"allow_origin", r.header_values("Access-Control-Allow-Origin")}};
          if (r.status < 400)
            return fail("an upstream error status", spec.name + ": " + describe_failure(r),
                        "the upstream error did not reach the client", m);
          // Ollama's origin policy answered instead of the error asked for: the proxy adds no
          // CORS to that refusal either, which says nothing of its successful responses.
          const auto *seen = o.journal_of(spec.name);
          const bool refused = r.status == 403 && !seen->empty() && seen->back().status == 403;
          if (auto problem = cors_read_problem(r, ctx.origin))
            return fail("valid CORS headers on HTTP " + std::to_string(r.status),
                        spec.name + ": " + *problem,
                        refused ? "the upstream refused the request by its origin policy "
                                  "(upstream.origin-accepted), and the proxy adds no CORS "
                                  "headers to upstream errors"
                                : "CORS headers are added to successful responses only",
                        m);
        }
        return pass("404 and 500 readable cross-origin", m);
      },
      .policy_dependent = true};
}

// An error status the proxy made up: its usual 413/502/503/504, or any 5xx when the upstream
// sent no response head at all (lighttpd answers an upstream reset with its own 500).
bool made_by_the_proxy(const probe_result &r, const std::vector<journal_entry> &seen) {
  if (r.status == 413 || r.status == 502 || r.status == 503 || r.status == 504) return true;
  const bool upstream_answered = std::any_of(
      seen.begin(), seen.end(), [](const journal_entry &e) { return e.head_sent_us >= 0; });
  return r.status >= 500 && !seen.empty() && !upstream_answered;
}

// Neither provocation made the proxy answer with an error of its own, so there was no proxy
// error page whose CORS could be judged: never a pass. Why, from what the upstream saw of the
// reset probe (the one every proxy answers with its own 502 once the reset reaches it).
verdict nothing_provoked(const observations &o, json m) {
  const probe_result &reset = *o.probe("upstream-reset");
  const auto &seen = *o.journal_of("upstream-reset");
  const std::string client = "the client got " + describe_failure(reset);
  if (seen.empty())
    return inconclusive("no proxy error to judge: the reset probe never reached the upstream (" +
                            client + ") and the large body was accepted",
                        "the proxy answered the request itself instead of forwarding it", "", m);
  const journal_entry &e = seen.back();
  if (e.outcome != stream_end::aborted_rst && e.status == 403) {
    // Ollama's policy refused the request before the reset: the Origin it was forwarded with,
    // or else its Host.
    const bool with_origin = count_header(e.headers, "Origin") > 0;
    return inconclusive(
        "no proxy error to judge: the upstream refused the reset probe with its policy 403 "
        "instead of resetting (" +
            client + "), and the large body was accepted",
        std::string("the upstream refuses the ") + (with_origin ? "Origin" : "Host") +
            " the proxy forwards, so the proxy never saw an upstream failure",
        with_origin ? "upstream.origin-accepted" : "upstream.host-accepted", m);
  }
  return inconclusive("no proxy error to judge: the upstream reset the connection and " + client +
                          " (no error response of the proxy's own), and the large body was "
                          "accepted",
                      "the proxy does not answer an upstream failure with an error page", "", m);
}

check proxy_errors() {
  // Fault: the proxy's own error pages (502 when the model server restarts, 413 for an image too
  // large, 504 on a timeout) have no CORS, so the page shows "network error" and nothing else.
  return {
      .id = "cors.proxy-errors",
      .title = "Proxy-generated errors are readable",
      .severity = level::should,
      .requirement = "Proxy-generated 502/504/413 responses carry valid CORS headers.",
      .fixes = {{"nginx", "add_header ... always in the server block (it applies to error_page "
                          "responses), or error_page with a location that adds the headers"},
                // fixtures/<kind>/origin fails, cors passes (HAProxy, Caddy, Apache, lighttpd).
                {"haproxy", "http-after-response set-header access-control-*: it also covers "
                            "HAProxy's own 502/503/504, which http-response never sees"},
                {"caddy",
                 "the header directive before reverse_proxy: its headers stay on Caddy's own 502"},
                {"apache", "Header always set: it covers Apache's own 502 too"},
                {"lighttpd", "setenv.set-response-header with the Access-Control-* headers: "
                             "lighttpd puts them on its own 500 (an upstream reset) too"},
                {"generic", "add CORS headers to the proxy's own error responses"}},
      .probes =
          [](const check_context &ctx) {
            probe_spec reset = with_origin(
                chat_stream("upstream-reset", {.abort_after = 0, .abort = abort_kind::rst}), ctx);
            probe_spec big = with_origin(chat_stream("large-body", {.tokens = 1}), ctx);
            big.body["messages"][0]["images"] =
                json::array({std::string(ctx.prof.large_body, 'A')});
            big.timeout_ms = 60'000;
            big.start_after_ms = heavy_start_ms;
            return std::vector{reset, big};
          },
      .judge = [](const observations &o, const check_context &ctx) -> verdict {
        json m = json::object();
        int provoked = 0;
        // Nothing provoked is a pass only when both provocations were actually sent.
        for (const char *name : {"upstream-reset", "large-body"})
          if (!o.probe(name)->started)
            return fail(
                "valid CORS headers on the proxy's own errors", std::string(name) + ": not sent",
                "the probe that provokes a proxy error was not sent, so nothing was judged");
        for (const auto &r : o.probes) {
          const bool proxy_error = made_by_the_proxy(r, *o.journal_of(r.name));
          m[r.name] = {{"status", r.status},
                       {"allow_origin", r.header_values("Access-Control-Allow-Origin")}};
          if (!proxy_error) continue;
          ++provoked;
          if (auto problem = cors_read_problem(r, ctx.origin))
            return fail("valid CORS headers on the proxy's HTTP " + std::to_string(r.status),
                        r.name + ": " + *problem, "the proxy's own error responses carry no CORS",
                        m);
        }
        if (provoked == 0) return nothing_provoked(o, m);
        return pass(std::to_string(provoked) + " proxy errors readable cross-origin", m);
      },
      .policy_dependent = true,
      .needs_proxy = true,
      .judges_proxy_errors = true};
}

check credentials() {
  // Fault: "Access-Control-Allow-Origin: *" together with "Allow-Credentials: true" (copied
  // snippets): browsers reject every credentialed request, and it signals an unsafe intent.
  return {
      .id = "cors.credentials",
      .title = "No wildcard with credentials",
      .severity = level::must,
      .requirement =
          "Access-Control-Allow-Origin: * is never combined with Access-Control-Allow-Credentials: "
          "true.",
      .fixes = {{"nginx",
                 "either drop Access-Control-Allow-Credentials or echo an allow-listed origin "
                 "(map $http_origin $cors_origin { ... }) instead of *"},
                {"generic", "echo an allow-listed origin when credentials are allowed"}},
      .probes =
          [](const check_context &ctx) {
            return std::vector{preflight(ctx), browser_stream(ctx)};
          },
      .judge =
          [](const observations &o, const check_context &) {
            return cors::judge_credentials(o, {"preflight", "stream"});
          },
      .policy_dependent = true};
}

check vary_origin() {
  // Fault: an echoed origin without "Vary: Origin": a shared cache serves one site's CORS answer
  // to another, which then fails intermittently.
  return {
      .id = "cors.vary-origin",
      .title = "Echoed origins vary by Origin",
      .severity = level::should,
      .requirement = "A response that echoes the request's Origin carries Vary: Origin.",
      .fixes = {{"nginx",
                 "add_header Vary Origin always; next to the echoed Access-Control-Allow-Origin"},
                // fixtures/<kind>/origin fails, cors passes (HAProxy, Caddy, Apache, lighttpd).
                {"haproxy",
                 "http-after-response set-header vary Origin where the origin is echoed"},
                {"caddy", "Vary Origin in the header block that echoes the origin"},
                {"apache", "Header always merge Vary Origin env=CORS_ORIGIN"},
                {"lighttpd", "\"Vary\" => \"Origin\" in the setenv.set-response-header block"},
                {"generic",
                 "send Vary: Origin whenever Access-Control-Allow-Origin echoes the origin"}},
      .probes =
          [](const check_context &ctx) {
            return std::vector{preflight(ctx), browser_stream(ctx)};
          },
      .judge =
          [](const observations &o, const check_context &ctx) {
            return cors::judge_vary_origin(o, {"preflight", "stream"}, ctx, "cors.stream-response");
          },
      .policy_dependent = true};
}

} // namespace

void add_cors_checks(std::vector<check> &out) {
  out.push_back(preflight_check());
  out.push_back(stream_response());
  out.push_back(single_value());
  out.push_back(error_responses());
  out.push_back(proxy_errors());
  out.push_back(credentials());
  out.push_back(vary_origin());
}

} // namespace streamcheck::harness
