#include "harness/runner.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fnmatch.h>
#include <map>
#include <random>
#include <strings.h>

#include "common/go_json.h"
#include "harness/checks/requests.h"
#include "harness/diagnosis.h"
#include "harness/proxy_kind.h"
#include "harness/timeline.h"

namespace streamcheck::harness {

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

std::string trim_slash(std::string url) {
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  return url;
}

std::string run_id() {
  std::random_device rd;
  char buf[16];
  std::snprintf(buf, sizeof buf, "sc%08x", rd());
  return buf;
}

// scheme://host of a URL (what the mock's data port shares with its control URL).
std::string scheme_host(const std::string &url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  const auto host_start = scheme_end + 3;
  auto host_end = url.find('/', host_start);
  std::string authority = url.substr(host_start, host_end - host_start);
  const auto bracket = authority.find(']');
  const auto colon = authority.rfind(':');
  if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket))
    authority.resize(colon);
  return url.substr(0, host_start) + authority;
}

struct target {
  std::string base_url;
  char tag; // 'd' direct, 'p' proxy
};

struct planned_check {
  const check *c;
  std::vector<probe_spec> specs;
  std::size_t first_index[2] = {0, 0}; // into the scheduled vector, per target
};

std::string id_for(const std::string &run, const std::string &check_id, const std::string &probe,
                   char tag) {
  return run + "." + check_id + "." + probe + "." + tag;
}

scheduled_probe schedule(const probe_spec &spec, const target &t, const std::string &id,
                         const std::string &policy, const std::string &path,
                         const std::vector<std::string> &extra_headers) {
  scheduled_probe s;
  s.spec = spec;
  s.url = t.base_url + path;
  for (const auto &h : extra_headers) { // the user's gate credentials win over the probe's own
    const std::string name = h.substr(0, h.find(':') + 1);
    std::erase_if(s.spec.headers, [&](const std::string &mine) {
      return mine.size() >= name.size() &&
             std::equal(name.begin(), name.end(), mine.begin(), [](char a, char b) {
               return std::tolower(static_cast<unsigned char>(a)) ==
                      std::tolower(static_cast<unsigned char>(b));
             });
    });
    s.spec.headers.push_back(h);
  }
  if (!policy.empty())
    s.url += (spec.path.find('?') == std::string::npos ? "?" : "&") +
             std::string("streamcheck.policy=") + policy;
  json body = spec.body;
  if (body.is_object())
    body["streamcheck"]["id"] = id;
  else
    s.url +=
        (s.url.find('?') == std::string::npos ? "?" : "&") + std::string("streamcheck.id=") + id;
  if (spec.exact_body_bytes > 0)
    s.body = fit_body(std::move(body), spec.exact_body_bytes);
  else if (!spec.raw_body.empty())
    s.body = spec.raw_body;
  else if (body.is_object())
    s.body = go_json(body);
  // Pools are private to one check on one target: the probe id minus its probe name.
  if (!spec.connection_pool.empty())
    s.pool = id.substr(0, id.size() - spec.name.size() - 2) + t.tag + "." + spec.connection_pool;
  s.expected_ms = spec.timeline ? static_cast<int>(protocol::planned_duration_ms(*spec.timeline))
                                : spec.timeout_ms;
  return s;
}

bool has_header(const std::vector<std::string> &headers, const std::string &field) {
  return std::any_of(headers.begin(), headers.end(), [&](const std::string &h) {
    return strcasecmp(h.substr(0, h.find(':')).c_str(), field.c_str()) == 0;
  });
}

// --host: the routed name on every request that does not set its own Host.
void add_host(std::vector<std::string> &headers, const std::string &host) {
  if (!host.empty() && !has_header(headers, "Host")) headers.push_back("Host: " + host);
}

std::map<std::string, std::vector<journal_entry>>
fetch_journal(const std::string &control, const std::string &prefix, std::string &err) {
  std::string body;
  const long status =
      simple_request("GET", control + "/journal?prefix=" + prefix, "", 10'000, body, err);
  std::map<std::string, std::vector<journal_entry>> by_id;
  if (status != 200) {
    if (err.empty()) err = "HTTP " + std::to_string(status);
    return by_id;
  }
  const json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.contains("entries") || !doc["entries"].is_array()) {
    err = "malformed journal";
    return by_id;
  }
  for (const auto &e : doc["entries"]) {
    auto entry = protocol::journal_entry_from_json(e);
    if (!entry) {
      err = "malformed journal (" + entry.message() + ")";
      return {};
    }
    by_id[entry->id].push_back(std::move(*entry));
  }
  return by_id;
}

double check_seconds(const observations &o) {
  double s = 0;
  for (const auto &p : o.probes)
    s = std::max(s, static_cast<double>(p.finished_us) / 1e6);
  return s;
}

check_result skip_result(const check &c, const check_context &ctx, std::string why) {
  check_result s;
  s.id = c.id;
  s.title = c.title;
  s.severity = c.severity;
  s.requirement = c.requirement(ctx);
  s.result = outcome::skip;
  s.measured = std::move(why);
  return s;
}

// Why a check cannot be judged through this proxy ("" when it can): it is about Ollama's own
// routes and the upstream serves only the OpenAI API, or the proxy does not reach a route it uses.
std::string not_applicable(const check &c, const std::vector<probe_spec> &specs,
                           const run_options &o, const check_context &ctx) {
  if (ctx.openai_only && c.ollama_routes)
    return "the upstream serves only the OpenAI API (/v1/), this check is about Ollama's /api/ "
           "routes";
  if (specs.empty()) return "the proxy forwards none of its routes to the upstream";
  if (c.judges_request_headers)
    for (const auto &spec : specs)
      for (const auto &mine : spec.headers)
        for (const auto &h : o.extra_headers)
          if (strcasecmp(mine.substr(0, mine.find(':')).c_str(),
                         h.substr(0, h.find(':')).c_str()) == 0)
            return "your --header/--user replaces the " + h.substr(0, h.find(':')) +
                   " header it sends";
  for (const auto &spec : specs)
    if (!o.routes.find(spec.path)) {
      const std::string path = spec.path.substr(0, spec.path.find('?'));
      const auto why = o.routes.unreached.find(path);
      return "the proxy does not forward " + path + " to the upstream" +
             (why == o.routes.unreached.end() ? "" : " (" + why->second + ")");
    }
  return "";
}

// Where the check's requests went: the first one's client path, every distinct location.
void note_route(check_result &r, const std::vector<probe_spec> &specs, const route_map &routes) {
  for (const auto &spec : specs) {
    const auto found = routes.find(spec.path);
    if (!found) continue;
    if (r.path.empty()) r.path = found->client_path.substr(0, found->client_path.find('?'));
    if (!found->via.empty() && r.via.find(found->via) == std::string::npos)
      r.via += (r.via.empty() ? "" : "; ") + found->via;
  }
}

// The proxied probes speak the run's protocol. Over h2 each check's streams share a connection
// of their own (a browser's one per origin), so one check's fault cannot reset another's streams;
// a probe the harness abandons has its own, which the engine closes when it leaves (engine.cc).
void speak(scheduled_probe &s, client_http http, bool http2, const std::string &check_pool) {
  s.http = http;
  const bool aborts = s.spec.abort_after_ms >= 0 || s.spec.abort_after_events >= 0;
  // libcurl 7.88 fails a second stream on an h2c (prior knowledge) connection: one each there.
  const bool alone = aborts || http == client_http::h2c;
  if (http2 && (s.pool.empty() || http == client_http::h2c))
    s.pool = check_pool + ".p.h2" + (alone ? "." + s.spec.name : "");
}

} // namespace

bool selected(const std::string &id, const run_options &o) {
  auto matches = [&](const std::vector<std::string> &globs) {
    for (const auto &g : globs)
      if (fnmatch(g.c_str(), id.c_str(), 0) == 0) return true;
    return false;
  };
  return (o.only.empty() || matches(o.only)) && !matches(o.skip);
}

// A word in single quotes for a POSIX shell ("it's" -> 'it'\''s').
static std::string sh_quote(const std::string &s) {
  std::string out = "'";
  for (char ch : s)
    out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

std::string reproduction(const std::string &proxy_url, const std::string &path,
                         const probe_spec &spec, const std::string &body) {
  std::string cmd = "curl -N -sS -i";
  if (spec.method != "GET" && !(spec.method == "POST" && !body.empty()))
    cmd += " -X " + spec.method;
  if (spec.http10) cmd += " --http1.0";
  if (!spec.accept_encoding.empty())
    cmd += " --compressed -H " + sh_quote("Accept-Encoding: " + spec.accept_encoding);
  for (const auto &h : spec.headers)
    cmd += " -H " + sh_quote(h);
  cmd += " " + sh_quote(trim_slash(proxy_url) + path);
  if (!body.empty()) {
    cmd += " -H 'Content-Type: application/json'";
    cmd += body.size() <= 1024
               ? " --data-raw " + sh_quote(body)
               : " --data-binary @body.json  # " + std::to_string(body.size()) + " bytes";
  }
  return cmd;
}

std::string reproduction(const std::string &proxy_url, const probe_spec &spec,
                         const std::string &body) {
  return reproduction(proxy_url, spec.path, spec, body);
}

check_result judge_check(const check &c, const check_context &ctx, const observations &direct,
                         observations proxied, bool strict, const std::string &proxy_kind) {
  check_result r;
  r.id = c.id;
  r.title = c.title;
  r.severity = c.severity;
  r.requirement = c.requirement(ctx);
  r.seconds = check_seconds(proxied);
  // A check about what a proxy adds (forwarded headers) has nothing to verify directly.
  const verdict self = c.needs_proxy ? pass("n/a without a proxy") : c.judge(direct, ctx);
  if (!self.passed && !self.skipped) {
    r.result = outcome::error;
    r.measured = "fails against the mock directly";
    r.expected = self.expected;
    r.actual = "direct to the mock: " + self.actual;
    r.cause = "a harness or machine problem (not the proxy's fault): " + self.cause;
    r.measurements = {{"direct", self.measurements}};
    return r;
  }
  find_divergence(r, direct, proxied);
  proxied.baseline = &direct;
  verdict v = c.judge(proxied, ctx);
  if (c.id != "upstream.host-accepted")
    if (const auto host = refused_host(proxied))
      v = inconclusive("the upstream refused the request (HTTP 403 for Host " + *host + ")",
                       "the proxy passes the client's Host through and Ollama on loopback refuses "
                       "non-local names, so what this check measures never reached the client",
                       "upstream.host-accepted", v.measurements);
  r.measured = v.measured;
  r.measurements = v.measurements;
  if (v.skipped) {
    r.result = outcome::skip;
  } else if (v.inconclusive) {
    // No fix of the check's own: it found nothing wrong with what it tests, only that it could
    // not see it. What the proxy answered instead says why, and how to let the check see it.
    r.result = outcome::inconclusive;
    r.actual = v.actual;
    r.cause = v.cause;
    r.blocked_by = v.blocked_by;
    if (!c.judges_proxy_errors) explain_divergence(r);
  } else if (v.passed || c.severity == level::info) {
    r.result = outcome::pass;
  } else {
    r.result = c.severity == level::must || strict ? outcome::fail : outcome::warn;
    r.expected = v.expected;
    r.actual = v.actual;
    r.cause = v.cause;
    r.fix = c.fix_for(proxy_kind);
    if (!c.judges_proxy_errors) explain_divergence(r);
  }
  return r;
}

client_http client_http_for(const std::string &mode, const std::string &proxy_url) {
  if (mode == "2") return client_http::h2_tls;
  if (mode == "h2c") return client_http::h2c;
  if (mode == "auto" && proxy_url.rfind("https://", 0) == 0) return client_http::alpn;
  return client_http::h1;
}

std::string protocol_suffixed(const std::string &id, bool http2) {
  return id + (http2 ? "@h2" : "@h1");
}

namespace {

// What the proxied requests of a check spoke, as a report names it.
std::string protocol_of(const observations &proxied) {
  std::string out;
  for (const auto &p : proxied.probes) {
    if (p.http_version.empty()) continue;
    const std::string name = "HTTP/" + p.http_version;
    if (out.find(name) == std::string::npos) out += (out.empty() ? "" : " and ") + name;
  }
  return out;
}

// The setup request to the proxy, over the protocol the run will speak. "" when it answered
// over that protocol, else why the run cannot start.
std::string reach_proxy(const run_options &o, const std::string &proxy, client_http http,
                        std::string &negotiated) {
  // Through the route map: a prefixed API answers there, not necessarily at the root.
  const auto version = o.routes.find("/api/version");
  const std::string version_path = version ? version->client_path : "/api/version";
  std::string body, err;
  if (simple_request("GET", proxy + version_path, "", 5000, http, body, err, negotiated) == 0) {
    if (http == client_http::h2c)
      return "cannot reach the proxy at " + proxy +
             " over h2c (HTTP/2 with prior knowledge): " + err +
             " (a listener without h2c answers HTTP/1.1 only: --http 1.1 or auto)";
    return "cannot reach the proxy at " + proxy + ": " + err +
           (err.find("Timeout") != std::string::npos
                ? " (it accepted the connection but did not answer GET " + version_path +
                      " within 5 s)"
                : "");
  }
  if (http == client_http::h2_tls && negotiated != "2")
    return "the proxy at " + proxy + " did not negotiate HTTP/2 (it answered over HTTP/" +
           negotiated +
           (proxy.rfind("https://", 0) == 0 ? ": its TLS listener does not offer ALPN h2)"
                                            : ": h2 over TLS needs an https:// URL; --http h2c "
                                              "for a cleartext h2 listener)");
  return "";
}

result<run_report> run_over_one_protocol(const run_options &o, const run_callbacks &cb);

// The report's protocol line: what was spoken and which --http choice made it so.
std::string protocol_line(const run_options &o, client_http http, const std::string &negotiated) {
  const std::string spoken = "HTTP/" + (negotiated.empty() ? std::string("1.1") : negotiated);
  if (o.self_test) return spoken + " (the mock speaks HTTP/1.1 only)";
  switch (http) {
  case client_http::alpn:
    return spoken + " (--http auto: TLS, ALPN offered h2 and http/1.1" +
           (negotiated == "2" ? ")" : "; the listener chose http/1.1)");
  case client_http::h2_tls: return spoken + " (--http " + o.http + ": h2 over TLS)";
  case client_http::h2c: return spoken + " (--http " + o.http + ": h2 with prior knowledge)";
  case client_http::h1: break;
  }
  return spoken + (o.http == "auto" ? " (--http auto: cleartext)" : " (--http " + o.http + ")");
}

// --http both: the suite over HTTP/1.1, then over h2, each check reported twice (ID@h1, ID@h2).
result<run_report> run_over_both(const run_options &o, const run_callbacks &cb) {
  run_report merged;
  const bool tls = o.proxy_url.rfind("https://", 0) == 0;
  for (const bool http2 : {false, true}) {
    run_options leg = o;
    leg.http = !http2 ? "1.1" : tls ? "2" : "h2c";
    run_callbacks leg_cb = cb;
    if (cb.on_check)
      leg_cb.on_check = [&cb, http2](const check_result &c) {
        check_result named = c;
        named.id = protocol_suffixed(c.id, http2);
        cb.on_check(named);
      };
    auto report = run_over_one_protocol(leg, leg_cb);
    if (!report) return report;
    for (auto &c : report->checks) {
      c.id = protocol_suffixed(c.id, http2);
      if (!c.blocked_by.empty()) c.blocked_by = protocol_suffixed(c.blocked_by, http2);
    }
    if (!http2) {
      merged = std::move(*report);
      continue;
    }
    for (auto &c : report->checks)
      merged.checks.push_back(std::move(c));
    for (auto &n : report->notes)
      if (std::find(merged.notes.begin(), merged.notes.end(), n) == merged.notes.end())
        merged.notes.push_back(std::move(n));
    merged.seconds += report->seconds;
    merged.protocol = "--http both: " + merged.protocol + "; then " + report->protocol;
  }
  return merged;
}

} // namespace

result<run_report> run_suite(const run_options &o, const run_callbacks &cb) {
  // The mock speaks HTTP/1.1 only: a self-test has one protocol to run over.
  if (o.http == "both" && !o.self_test) return run_over_both(o, cb);
  return run_over_one_protocol(o, cb);
}

namespace {

result<run_report> run_over_one_protocol(const run_options &o, const run_callbacks &cb) {
  const profile *prof = find_profile(o.profile);
  if (!prof) return error{"unknown profile '" + o.profile + "' (quick, standard, thorough)"};
  const std::string control = trim_slash(o.mock_control);
  const std::string proxy = trim_slash(o.proxy_url);

  std::string body, err;
  const long health = simple_request("GET", control + "/health", "", 3000, body, err);
  const json h = json::parse(body, nullptr, false);
  if (health != 200 || h.is_discarded() || !h.contains("port"))
    return error{"cannot reach the mock's control API at " + control +
                 "/health: " + (err.empty() ? "HTTP " + std::to_string(health) : err)};
  const std::string direct = scheme_host(control) + ":" + std::to_string(h["port"].get<int>());

  const client_http http = o.self_test ? client_http::h1 : client_http_for(o.http, proxy);
  std::string negotiated;
  if (const std::string unreachable = reach_proxy(o, proxy, http, negotiated); !unreachable.empty())
    return error{unreachable};

  check_context ctx{.prof = *prof, .tol = tolerances{o.tolerance_mult}};
  ctx.origin = o.origin;
  ctx.public_host = o.public_host;
  ctx.upstream_profile = o.upstream_profile;
  ctx.openai_only = o.upstream_profile == "openai-only";
  ctx.http2 = negotiated == "2";
  ctx.reachable = [&o](const std::string &path) { return o.routes.find(path).has_value(); };
  const std::string run = run_id();
  const target targets[2] = {{direct, 'd'}, {proxy, 'p'}};

  std::vector<planned_check> plans;
  std::vector<scheduled_probe> scheduled;
  std::vector<check_result> skipped;
  for (const auto &c : catalog()) {
    const bool skip_in_self_test = o.self_test && c.needs_proxy;
    if (!selected(c.id, o) || skip_in_self_test) {
      skipped.push_back(skip_result(c, ctx, skip_in_self_test ? "needs a proxy" : "not selected"));
      continue;
    }
    planned_check pc{&c, c.probes(ctx), {}};
    if (ctx.openai_only)
      for (auto &spec : pc.specs)
        spec = for_openai_upstream(spec);
    const std::string unfit = not_applicable(c, pc.specs, o, ctx);
    if (!unfit.empty()) {
      skipped.push_back(skip_result(c, ctx, "not applicable: " + unfit));
      continue;
    }
    for (int t = 0; t < 2; ++t) {
      pc.first_index[t] = scheduled.size();
      for (const auto &spec : pc.specs) {
        // Direct: a permissive upstream for policy checks; proxied: the upstream under test.
        const std::string policy =
            t == 0 ? (c.policy_dependent ? "ollama-open" : "") : o.upstream_profile;
        const std::string path = t == 0 ? spec.path : o.routes.find(spec.path)->client_path;
        static const std::vector<std::string> none;
        scheduled.push_back(schedule(spec, targets[t], id_for(run, c.id, spec.name, targets[t].tag),
                                     policy, path, t == 0 ? none : o.extra_headers));
        if (t == 1) {
          add_host(scheduled.back().spec.headers, o.host);
          speak(scheduled.back(), http, ctx.http2, run + "." + c.id);
        }
        for (std::size_t k = 0; k < pc.specs.size(); ++k)
          if (!spec.after_probe.empty() && pc.specs[k].name == spec.after_probe)
            scheduled.back().after_index = static_cast<int>(pc.first_index[t] + k);
      }
    }
    plans.push_back(std::move(pc));
  }

  run_report report;
  report.tool_version = "0.1.0";
  report.profile = prof->name;
  report.strict = o.strict;
  report.upstream =
      "streamcheck-mock at " + direct + " (control " + control + "), profile " + o.upstream_profile;
  report.notes = o.notes;
  if (!o.host.empty())
    report.notes.push_back("every request through the proxy carried Host: " + o.host +
                           " (upstream.host-accepted's: " + o.public_host + ")");
  report.protocol = protocol_line(o, http, negotiated);
  report.started_at = utc_now();
  const auto t0 = std::chrono::steady_clock::now();

  std::vector<probe_result> results = run_probes(scheduled, cb.on_progress);
  if (o.proxy_kind.empty()) {
    const proxy_kind detected = detect_proxy_kind(results, proxy);
    report.proxy_kind = detected.kind;
    report.proxy_kind_source = detected.source;
  } else {
    report.proxy_kind = o.proxy_kind;
    report.proxy_kind_source = o.proxy_kind_source.empty() ? "--proxy-kind" : o.proxy_kind_source;
  }
  report.target =
      o.target_label.empty() ? "proxy " + proxy + " (" + report.proxy_kind + ")" : o.target_label;

  std::string journal_err;
  auto journal = fetch_journal(control, run, journal_err);
  for (const auto &pc : plans) {
    observations obs[2];
    for (int t = 0; t < 2; ++t)
      for (std::size_t k = 0; k < pc.specs.size(); ++k) {
        auto r = results[pc.first_index[t] + k];
        r.correlation_id = id_for(run, pc.c->id, pc.specs[k].name, targets[t].tag);
        obs[t].journal.push_back(journal[r.correlation_id]);
        obs[t].probes.push_back(std::move(r));
      }
    check_result cr = judge_check(*pc.c, ctx, obs[0], obs[1], o.strict, report.proxy_kind);
    note_route(cr, pc.specs, o.routes);
    cr.protocol = protocol_of(obs[1]);
    // Three streams show the pattern; conn.concurrent-streams' hundreds would bloat the report.
    if (pc.c->timing) cr.timelines = record_timelines(obs[1], obs[0], 3);
    if (cr.result != outcome::pass && cr.result != outcome::skip) {
      probe_spec spec = pc.specs.front();
      add_host(spec.headers, o.host);
      cr.reproduce = reproduction(proxy, o.routes.find(spec.path)->client_path, spec,
                                  scheduled[pc.first_index[1]].body);
      // The protocol the check spoke, where curl's own default would pick another (right after
      // "curl": the command may end in a comment).
      if (http == client_http::h2c) cr.reproduce.insert(4, " --http2-prior-knowledge");
      if (http == client_http::h1 && proxy.rfind("https://", 0) == 0)
        cr.reproduce.insert(4, " --http1.1");
      if (!o.extra_headers.empty()) cr.reproduce += "  # plus your --header/--user credentials";
      if (!journal_err.empty()) cr.cause += " (journal unavailable: " + journal_err + ")";
    }
    if (cb.on_check) cb.on_check(cr);
    report.checks.push_back(std::move(cr));
  }
  for (auto &s : skipped)
    report.checks.push_back(std::move(s));
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

} // namespace

} // namespace streamcheck::harness
