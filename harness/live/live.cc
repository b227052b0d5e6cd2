#include "harness/live/live.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "harness/engine.h"
#include "harness/live/checks.h"
#include "harness/proxy_kind.h"
#include "harness/runner.h"

namespace streamcheck::harness::live {
namespace {

constexpr int discovery_timeout_ms = 5'000;

std::string trim_slash(std::string url) {
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  return url;
}

// The user's credentials replace a probe's own header of the same name.
void add_headers(probe_spec &spec, const std::vector<std::string> &headers) {
  for (const auto &h : headers) {
    std::string name = h.substr(0, h.find(':') + 1);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::erase_if(spec.headers, [&](const std::string &mine) {
      std::string lower = mine.substr(0, name.size());
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      return lower == name;
    });
    spec.headers.push_back(h);
  }
}

scheduled_probe schedule(probe_spec spec, const std::string &base, const options &o) {
  add_headers(spec, o.headers);
  scheduled_probe s;
  s.url = base + spec.path;
  if (!spec.body.is_null()) s.body = spec.body.dump();
  s.expected_ms = 2'000;
  s.spec = std::move(spec);
  return s;
}

// One GET, with the user's headers, bounded by discovery_timeout_ms.
probe_result get(const std::string &base, const std::string &path, const options &o) {
  probe_spec spec;
  spec.name = "discover";
  spec.method = "GET";
  spec.path = path;
  spec.timeout_ms = discovery_timeout_ms;
  std::vector<scheduled_probe> one{schedule(spec, base, o)};
  return run_probes(one, nullptr).front();
}

struct server_facts {
  bool openai = false;
  std::vector<std::string> models;
};

std::string what_answered(const probe_result &r) {
  std::string ct = r.header("Content-Type");
  std::string text = "HTTP " + std::to_string(r.status) + (ct.empty() ? "" : ", " + ct);
  std::string start = r.body.substr(0, 40);
  std::replace_if(
      start.begin(), start.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return text + (start.empty() ? "" : ": " + start);
}

// The message of a JSON error body ({"error":"..."} or OpenAI's {"error":{"message":"..."}}),
// nullopt when the body is not one: a server's API-key check answers JSON, a proxy's auth gate
// (nginx auth_basic, an HTML login page) does not.
std::optional<std::string> json_error(const probe_result &r) {
  const json body = json::parse(r.body, nullptr, false);
  if (!body.is_object() || !body.contains("error")) return std::nullopt;
  const json &e = body["error"];
  if (e.is_string()) return e.get<std::string>();
  if (e.is_object() && e.contains("message") && e["message"].is_string())
    return e["message"].get<std::string>();
  return e.dump();
}

// A 401/403 in one line, naming who refused and how to pass credentials. Through the proxy it
// is the server's own refusal when the body is the server's JSON error (and the direct server
// refuses too, with --direct), the proxy's when the server answers directly or the body is a
// page of the proxy's.
std::string refusal(const std::string &role, const std::string &base, const std::string &path,
                    const probe_result &r, bool server_answers_directly) {
  const std::string what =
      "GET " + path + " with HTTP " + std::to_string(r.status) +
      (r.header("WWW-Authenticate").empty() ? "" : " (" + r.header("WWW-Authenticate") + ")");
  const auto message = json_error(r);
  if (role != "proxy")
    return "the " + role + " at " + base + " refused " + what +
           ": it wants credentials (pass them with --header 'Authorization: Bearer ...')";
  if (message && !server_answers_directly)
    return "the server behind the proxy at " + base + " refused " + what + " \"" +
           message->substr(0, 60) +
           "\" (the proxy passed it on): it wants an API key, pass it with --header "
           "'Authorization: Bearer KEY'";
  return "the proxy at " + base + " refused " + what + " itself (" +
         (server_answers_directly ? "the server answers directly" : "not the server's JSON error") +
         "): it wants credentials, pass them with --header 'Authorization: ...' or --user "
         "USER:PASS";
}

// Which API the server at `base` speaks and the models it lists; an error says why it is not
// an LLM API we can test (unreachable, 401, HTML, no model).
result<server_facts> discover(const std::string &role, const std::string &base, const options &o,
                              bool server_answers_directly = false) {
  server_facts facts;
  std::vector<std::pair<std::string, bool>> tries;
  if (o.flavour != api::openai) tries.emplace_back("/api/tags", false);
  if (o.flavour != api::ollama) tries.emplace_back("/v1/models", true);
  std::string seen;
  for (const auto &[path, openai] : tries) {
    const probe_result r = get(base, path, o);
    if (r.status == 0)
      return error{"cannot reach the " + role + " at " + base + ": " +
                   (r.curl_error.empty() ? "no answer" : r.curl_error)};
    if (r.status == 401 || r.status == 403)
      return error{refusal(role, base, path, r, server_answers_directly)};
    const json body = json::parse(r.body, nullptr, false);
    const char *list = openai ? "data" : "models";
    if (r.status == 200 && body.is_object() && body.contains(list) &&
        (body[list].is_array() || body[list].is_null())) {
      facts.openai = openai;
      if (body[list].is_array())
        for (const auto &m : body[list])
          if (m.is_object()) {
            const json name = m.value(openai ? "id" : "name", json());
            if (name.is_string()) facts.models.push_back(name.get<std::string>());
          }
      return facts;
    }
    seen += (seen.empty() ? "" : "; ") + ("GET " + path + ": " + what_answered(r));
  }
  return error{"the " + role + " at " + base +
               " does not answer as an Ollama or OpenAI-compatible API (" + seen + ")"};
}

bool names_model(const std::string &listed, const std::string &wanted) {
  return listed == wanted || listed == wanted + ":latest";
}

result<std::string> pick_model(const server_facts &facts, const std::string &base,
                               const options &o) {
  if (o.model.empty()) {
    if (facts.models.empty())
      return error{"the server behind " + base +
                   " lists no model: pull one (ollama pull llama3.2) or load one, or name it "
                   "with --model"};
    return facts.models.front();
  }
  if (std::any_of(facts.models.begin(), facts.models.end(),
                  [&](const std::string &m) { return names_model(m, o.model); }))
    return o.model;
  std::string listed;
  for (std::size_t i = 0; i < facts.models.size() && i < 5; ++i)
    listed += (i ? ", " : "") + facts.models[i];
  return error{"model '" + o.model + "' is not listed by " + base +
               (listed.empty() ? " (it lists none)" : " (it lists " + listed + ")")};
}

check_result judged(const live_check &lc, const check_context &ctx, const observations *direct,
                    const observations &proxied, const options &o, const std::string &kind) {
  check_result r;
  if (direct) {
    r = judge_check(lc.c, ctx, *direct, proxied, o.strict, kind);
  } else {
    // Nothing to self-test against: judged from the proxied stream alone.
    check c = lc.c;
    c.needs_proxy = true;
    r = judge_check(c, ctx, observations{}, proxied, o.strict, kind);
  }
  if (r.result == outcome::error) { // judge_check words it for the mock
    r.measured = "fails against the server directly";
    r.actual = "direct to the server: " + r.actual.substr(r.actual.find(": ") + 2);
    r.cause = "the server itself, not the proxy: " + r.cause.substr(r.cause.find(": ") + 2);
  }
  return r;
}

} // namespace

result<run_report> run(const options &o, const std::function<void(const std::string &)> &say) {
  const auto started = std::chrono::steady_clock::now();
  const std::string proxy = trim_slash(o.proxy_url);
  const std::string direct = trim_slash(o.direct_url);
  // The direct server first: whether it answers tells a refusal of the proxy's own from the
  // server's refusal passed on.
  if (!direct.empty()) {
    auto d = discover("direct server", direct, o);
    if (!d) return error{d.message()};
  }
  auto facts = discover("proxy", proxy, o, !direct.empty());
  if (!facts) return error{facts.message()};
  auto model = pick_model(*facts, proxy, o);
  if (!model) return error{model.message()};

  request_plan plan{
      .openai = facts->openai, .model = *model, .max_tokens = o.max_tokens, .runs = o.runs};
  static const profile quick = *find_profile("quick");
  const check_context ctx{.prof = quick,
                          .tol = tolerances{o.tolerance_mult},
                          .origin = o.origin,
                          .openai_only = plan.openai};
  const auto specs = probes(plan, ctx);
  const int per_target = generations(plan);
  say("streamcheck live: " + std::to_string(per_target * (direct.empty() ? 1 : 2)) +
      " generations of at most " + std::to_string(o.max_tokens) + " tokens from '" + *model +
      "' (" + (plan.openai ? "OpenAI API" : "Ollama API") + "), " + std::to_string(per_target) +
      " through " + proxy + (direct.empty() ? "" : " and as many direct to " + direct) +
      ", one at a time");

  // Interleaved, one at a time: proxy then direct for each probe, so both see the same
  // server state (warm model, load) and a server that generates one answer at a time never
  // queues one of ours behind another.
  std::vector<scheduled_probe> scheduled;
  std::vector<bool> proxied;
  for (const auto &spec : specs)
    for (const std::string *base : {&proxy, &direct}) {
      if (base->empty()) continue;
      scheduled_probe s = schedule(spec, *base, o);
      if (!s.spec.connection_pool.empty())
        s.spec.connection_pool += base == &proxy ? ".proxy" : ".direct";
      s.pool = s.spec.connection_pool;
      s.after_index = static_cast<int>(scheduled.size()) - 1;
      scheduled.push_back(std::move(s));
      proxied.push_back(base == &proxy);
    }
  int reported = 0;
  const auto results = run_probes(scheduled, [&](const engine_progress &p) {
    if (p.finished == reported) return; // a line per finished request, not per tick
    reported = p.finished;
    say("  " + std::to_string(p.finished) + "/" + std::to_string(p.total) + " requests done");
  });

  observations through, straight;
  for (std::size_t i = 0; i < results.size(); ++i)
    (proxied[i] ? through : straight).probes.push_back(results[i]);

  const proxy_kind kind =
      o.proxy_kind.empty() ? detect_proxy_kind(through.probes) : proxy_kind{o.proxy_kind, ""};

  run_report report;
  report.tool_version = "0.1.0";
  report.target = "proxy " + proxy + " (live, model " + *model + ")";
  report.proxy_kind = kind.kind;
  report.proxy_kind_source = o.proxy_kind.empty() ? kind.source : "--proxy-kind";
  report.profile = "live";
  report.upstream = direct.empty() ? "a real server behind the proxy (no --direct: judged from "
                                     "the stream itself)"
                                   : "a real server, also measured directly at " + direct;
  report.strict = o.strict;
  report.started_at = utc_now();
  for (const auto &lc : catalog()) {
    check_result r = judged(lc, ctx, direct.empty() ? nullptr : &straight, through, o, kind.kind);
    r.scripted = lc.twin(plan.openai);
    const auto spec = std::find_if(specs.begin(), specs.end(),
                                   [&](const probe_spec &s) { return s.name == lc.probe; });
    if (spec != specs.end() && r.result != outcome::pass && r.result != outcome::skip) {
      r.reproduce = reproduction(proxy, *spec, spec->body.is_null() ? "" : spec->body.dump());
      if (!o.headers.empty()) r.reproduce += "  # plus your --header credentials";
    }
    report.checks.push_back(std::move(r));
  }
  for (auto &r : not_run())
    report.checks.push_back(std::move(r));
  report.notes.push_back("live mode: " + std::to_string(o.runs) +
                         " interleaved streaming runs per target, medians; timeouts, "
                         "cancellation and truncation are not run (see the skipped checks)");
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

} // namespace streamcheck::harness::live
