// The live catalog. Each check states the proxy fault it catches and why it can be judged
// against a real model: every verdict reads only what the client saw (arrivals, status, headers,
// bodies) and what the server itself reports in its stream (Ollama's eval_duration); never the
// mock's timing stamps, which a real server does not send.
#include "harness/live/checks.h"

#include <algorithm>

#include "common/http_text.h"
#include "harness/checks/cors.h"
#include "harness/checks/requests.h"
#include "harness/timing.h"

namespace streamcheck::harness::live {
namespace {

constexpr const char *prompt = "Count from 1 to 200, one number per line, nothing else.";
constexpr int stream_timeout_ms = 120'000; // a real server may load the model first
constexpr const char *unknown_model = "streamcheck-no-such-model";

probe_spec stream_probe(std::string name, bool openai, const std::string &model, int tokens) {
  probe_spec p;
  p.name = std::move(name);
  p.timeout_ms = stream_timeout_ms;
  const json messages = json::array({{{"role", "user"}, {"content", prompt}}});
  if (openai) {
    p.path = "/v1/chat/completions";
    p.headers = {"Accept: text/event-stream"};
    p.body = {{"model", model},
              {"messages", messages},
              {"stream", true},
              {"max_tokens", tokens},
              {"temperature", 0}};
  } else {
    p.path = "/api/chat";
    p.headers = {"Accept: application/x-ndjson"};
    p.body = {{"model", model},
              {"messages", messages},
              {"stream", true},
              {"options", {{"num_predict", tokens}, {"temperature", 0}}}};
  }
  return p;
}

std::string run_name(int i) {
  return i == 0 ? "stream" : "stream-" + std::to_string(i);
}

bool is_run(const std::string &name) {
  return name == "stream" || name.rfind("stream-", 0) == 0;
}

// What one streamed answer showed the client. Times in ms since the request was sent.
struct stream_stats {
  std::string problem; // "" when the stream completed with at least two tokens
  int tokens = 0;
  int reads = 0;
  bool finished = false;     // the final object / [DONE] arrived
  double first_ms = -1;      // first token
  double spread_ms = 0;      // first token to last token
  double max_gap_ms = 0;     // longest wait between two tokens
  double last_byte_ms = -1;  // the whole exchange
  double generation_ms = -1; // the server's own eval_duration (Ollama), -1 unknown
};

bool is_token(const parsed_event &e) {
  const json &v = e.value;
  if (!v.is_object()) return false;
  if (v.contains("done")) return v["done"] == false;
  const auto c = v.find("choices");
  return c != v.end() && c->is_array() && !c->empty() && (*c)[0].is_object() &&
         (*c)[0].value("finish_reason", json()).is_null();
}

bool is_final(const parsed_event &e) {
  if (e.text == "[DONE]") return true;
  return e.value.is_object() && e.value.value("done", false);
}

stream_stats stats_of(const probe_result &r) {
  stream_stats s;
  std::vector<std::size_t> reads;
  double last_ms = -1;
  for (const auto &e : r.events) {
    const double at = static_cast<double>(e.arrival_us) / 1000.0;
    if (is_final(e)) {
      s.finished = true;
      if (e.value.is_object() && e.value.contains("eval_duration") &&
          e.value["eval_duration"].is_number())
        s.generation_ms = e.value["eval_duration"].get<double>() / 1e6;
    }
    if (!is_token(e)) continue;
    ++s.tokens;
    if (s.first_ms < 0) s.first_ms = at;
    if (last_ms >= 0) s.max_gap_ms = std::max(s.max_gap_ms, at - last_ms);
    last_ms = at;
    if (reads.empty() || reads.back() != e.write_index) reads.push_back(e.write_index);
  }
  s.reads = static_cast<int>(reads.size());
  if (s.first_ms >= 0) s.spread_ms = last_ms - s.first_ms;
  s.last_byte_ms = static_cast<double>(r.finished_us) / 1000.0;
  if (r.status != 200 || !r.complete())
    s.problem = describe_failure(r);
  else if (s.tokens < 2)
    s.problem = std::to_string(s.tokens) + " token events (not a token stream)";
  else if (!s.finished)
    s.problem = "the stream ended without its final object";
  return s;
}

std::vector<stream_stats> runs_of(const observations &o) {
  std::vector<stream_stats> out;
  for (const auto &p : o.probes)
    if (is_run(p.name)) out.push_back(stats_of(p));
  return out;
}

bool has_direct(const observations &o) {
  return o.baseline && !o.baseline->probes.empty();
}

std::string ms(double v) {
  return format_ms(v, 1);
}

double median_of(const std::vector<stream_stats> &runs, double stream_stats::*field) {
  std::vector<double> v;
  for (const auto &r : runs)
    v.push_back(r.*field);
  return v.empty() ? 0 : percentile(v, 50);
}

std::optional<verdict> unless_streams_completed(const std::vector<stream_stats> &runs) {
  for (const auto &r : runs)
    if (!r.problem.empty())
      return inconclusive("a complete token stream (got " + r.problem + ")",
                          "the stream failed, so token timing could not be observed",
                          "live.stream-completes");
  if (runs.empty()) return inconclusive("a token stream", "none was sent");
  return std::nullopt;
}

const std::map<std::string, std::string> buffering_fixes = {
    {"nginx", "proxy_buffering off; proxy_http_version 1.1; (or X-Accel-Buffering: no from "
              "the upstream)"},
    {"haproxy", "option http-no-delay; no compression on stream types"},
    {"generic", "disable response buffering for /api/chat, /api/generate and /v1/*"}};

// Tokens arrive as generated: their spread at the client is not far below the generation time.
// With --direct, the generation time is what the direct stream showed; without, Ollama's own
// eval_duration, or (SSE, which reports no duration) the time to the last byte.
verdict judge_buffering(const std::vector<stream_stats> &runs, const observations &o,
                        const check_context &ctx) {
  if (auto v = unless_streams_completed(runs)) return *v;
  const double spread = median_of(runs, &stream_stats::spread_ms);
  const double gap = median_of(runs, &stream_stats::max_gap_ms);
  json m = {{"runs", runs.size()},
            {"spread_ms", spread},
            {"max_gap_ms", gap},
            {"reads", runs[0].reads},
            {"tokens", runs[0].tokens}};
  const double floor_ms = 50 * ctx.tol.mult;
  double reference = 0, share = 0.5;
  std::string what;
  if (has_direct(o)) {
    const auto direct = runs_of(*o.baseline);
    reference = median_of(direct, &stream_stats::spread_ms);
    what = "the direct stream's spread of " + ms(reference);
    m["direct_spread_ms"] = reference;
    const double direct_gap = median_of(direct, &stream_stats::max_gap_ms);
    m["direct_max_gap_ms"] = direct_gap;
    if (reference >= floor_ms && gap > direct_gap + ctx.tol.max_ms())
      return fail("no wait between tokens more than " + bound_text(ctx.tol.max_ms()) +
                      " longer than directly (" + ms(direct_gap) + ")",
                  "a " + ms(gap) + " wait",
                  "the proxy holds tokens back and releases them in bursts", m);
  } else if (runs[0].generation_ms >= 0) {
    reference = median_of(runs, &stream_stats::generation_ms);
    what = "the server's eval_duration of " + ms(reference);
    m["eval_duration_ms"] = reference;
  } else {
    reference = median_of(runs, &stream_stats::last_byte_ms);
    share = 0.25;
    what = "the time to the last byte, " + ms(reference);
    m["last_byte_ms"] = reference;
  }
  if (reference < floor_ms)
    return inconclusive(
        "a generation long enough to show buffering (" + what + ")",
        "the model answered faster than " + bound_text(floor_ms) + ": raise --max-tokens", "", m);
  const std::string summary = std::to_string(runs[0].tokens) + " tokens over " + ms(spread) +
                              " in " + std::to_string(runs[0].reads) + " reads (median of " +
                              std::to_string(runs.size()) + ")";
  if (spread < share * reference)
    return fail("tokens spread over at least " + std::to_string(static_cast<int>(share * 100)) +
                    "% of " + what,
                summary, "the proxy buffers the answer and releases it at once (fake streaming)",
                m);
  return pass(summary, m);
}

check stream_completes() {
  // Fault: a proxy that cuts, rejects or times out a real streamed answer (502/504, a body
  // limit, an auth gate eating the credentials).
  return {.id = "live.stream-completes",
          .title = "Streamed answers arrive whole",
          .severity = level::must,
          .requirement = "Every streamed answer through the proxy is HTTP 200, complete, and ends "
                         "with the server's final object ([DONE] for SSE).",
          .fixes = {{"generic", "forward /api/chat and /v1/chat/completions to the server "
                                "unchanged, with no read timeout below the generation time"}},
          .probes = nullptr,
          .judge = [](const observations &o, const check_context &) -> verdict {
            const auto runs = runs_of(o);
            for (std::size_t i = 0; i < runs.size(); ++i)
              if (!runs[i].problem.empty())
                return fail("HTTP 200 and a whole stream",
                            "run " + std::to_string(i + 1) + ": " + runs[i].problem,
                            "the proxy did not deliver the stream", {{"runs", runs.size()}});
            return pass(std::to_string(runs.size()) + " streams complete", {{"runs", runs.size()}});
          },
          .timing = true};
}

check first_token() {
  // Fault: buffering or a slow forwarder delays the first token (scripted: stream.first-token).
  return {.id = "live.first-token",
          .title = "The first token is not delayed",
          .severity = level::must,
          .requirement =
              [](const check_context &ctx) {
                return "With --direct: the median first token through the proxy arrives within " +
                       bound_text(ctx.tol.first_token_ms()) +
                       " (plus the direct runs' spread) of the direct median.";
              },
          .fixes = buffering_fixes,
          .probes = nullptr,
          .judge = [](const observations &o, const check_context &ctx) -> verdict {
            if (!has_direct(o)) {
              verdict v;
              v.skipped = true;
              v.measured = "needs --direct: without it the proxy's delay cannot be told from the "
                           "model's prefill (live.no-buffering judges the stream itself)";
              return v;
            }
            const auto runs = runs_of(o);
            if (auto v = unless_streams_completed(runs)) return *v;
            const auto direct = runs_of(*o.baseline);
            std::vector<double> firsts;
            for (const auto &r : direct)
              firsts.push_back(r.first_ms);
            const double spread = *std::max_element(firsts.begin(), firsts.end()) -
                                  *std::min_element(firsts.begin(), firsts.end());
            const double proxied = median_of(runs, &stream_stats::first_ms);
            const double base = median_of(direct, &stream_stats::first_ms);
            const double added = proxied - base;
            const double bound = ctx.tol.first_token_ms() + spread;
            json m = {{"proxied_ms", proxied},
                      {"direct_ms", base},
                      {"direct_spread_ms", spread},
                      {"added_ms", added},
                      {"bound_ms", bound}};
            const std::string figure = "added " + ms(added) + " (median " + ms(proxied) + " vs " +
                                       ms(base) + " direct, spread " + ms(spread) + ")";
            if (added > bound)
              return fail("at most " + ms(bound) + " added", figure,
                          "the proxy holds the first token back (buffering)", m);
            return pass(figure, m);
          },
          .timing = true};
}

check no_buffering() {
  // Fault: proxy_buffering on / HTTP/1.0 upstream: the whole answer arrives at once when the
  // model is done ("fake streaming"; scripted: stream.no-coalescing.*).
  return {.id = "live.no-buffering",
          .title = "Tokens arrive as they are generated",
          .severity = level::must,
          .requirement = "Tokens reach the client spread over at least half the generation time "
                         "(the direct stream's with --direct, else the server's eval_duration; "
                         "SSE without --direct: a quarter of the time to the last byte), with no "
                         "wait between tokens much longer than directly.",
          .fixes = buffering_fixes,
          .probes = nullptr,
          .judge = [](const observations &o,
                      const check_context &ctx) { return judge_buffering(runs_of(o), o, ctx); },
          .timing = true};
}

check compressed_client() {
  // Fault: gzip/brotli on stream content types: a browser (which always sends Accept-Encoding)
  // gets the stream in compressor-block bursts (scripted: stream.compressed-client).
  return {.id = "live.compressed-client",
          .title = "Streams survive a browser's Accept-Encoding",
          .severity = level::must,
          .requirement = "With Accept-Encoding: gzip, deflate, br, zstd, tokens still arrive "
                         "as they are generated (as live.no-buffering).",
          .fixes = {{"nginx", "gzip off (or remove application/x-ndjson and text/event-stream "
                              "from gzip_types)"},
                    {"generic", "do not compress text/event-stream and application/x-ndjson"}},
          .probes = nullptr,
          .judge =
              [](const observations &o, const check_context &ctx) {
                verdict v = judge_buffering({stats_of(*o.probe("compressed"))}, o, ctx);
                const std::string enc = o.probe("compressed")->header("Content-Encoding");
                v.measurements["content_encoding"] = enc;
                if (!enc.empty()) v.measured += " (Content-Encoding: " + enc + ")";
                return v;
              },
          .timing = true};
}

check content_type() {
  // Fault: a proxy that replaces Content-Type (default_type, add_header), so the client's
  // SSE/NDJSON parser never engages (scripted: stream.content-type).
  return {.id = "live.content-type",
          .title = "Stream content types are preserved",
          .severity = level::must,
          .requirement = "application/x-ndjson (Ollama's /api/chat) and text/event-stream "
                         "(/v1/chat/completions) reach the client as the server sent them.",
          .fixes = {{"nginx", "do not override Content-Type (no add_header Content-Type, no "
                              "proxy_hide_header Content-Type)"},
                    {"generic", "pass the upstream's Content-Type through"}},
          .probes = nullptr,
          .judge = [](const observations &o, const check_context &ctx) -> verdict {
            json m = json::object();
            for (const char *name : {"stream", "sse"}) {
              const probe_result *r = o.probe(name);
              if (!r->started) continue; // no "sse" probe against an OpenAI-only server
              const bool sse = std::string(name) == "sse" || ctx.openai_only;
              const std::string want =
                  has_direct(o) ? media_type(o.baseline->probe(name)->header("Content-Type"))
                                : (sse ? "text/event-stream" : "application/x-ndjson");
              const std::string got = media_type(r->header("Content-Type"));
              m[name] = got;
              if (r->status != 200)
                return inconclusive(std::string(name) + ": a streamed answer (got " +
                                        describe_failure(*r) + ")",
                                    "the stream failed", "live.stream-completes", m);
              if (got != want)
                return fail(want, "'" + got + "'", "the proxy rewrote Content-Type", m);
            }
            std::string seen;
            for (const auto &[name, type] : m.items())
              seen += (seen.empty() ? "" : ", ") + type.get<std::string>();
            return pass(seen, m);
          }};
}

check keepalive() {
  // Fault: HTTP/1.0 or Connection: close towards clients: every stream pays a new handshake and
  // a browser's six-connection limit bites (scripted: conn.keepalive).
  return {.id = "live.keepalive",
          .title = "Client connections are reused",
          .severity = level::should,
          .requirement = "The client's connection is reused for a second streamed request.",
          .fixes = {{"nginx", "keep chunked_transfer_encoding on and keepalive_timeout above 0"},
                    {"generic", "keep HTTP/1.1 keep-alive (chunked streams) towards clients"}},
          .probes = nullptr,
          .judge = [](const observations &o, const check_context &) -> verdict {
            const probe_result *a = o.probe("first");
            const probe_result *b = o.probe("second");
            json m = {{"first_framing", to_string(a->framing)},
                      {"second_reused", b->reused_connection}};
            for (const probe_result *p : {a, b})
              if (p->status != 200 || !p->complete())
                return inconclusive("two complete streams (got " + describe_failure(*p) + ")",
                                    "a stream failed, so connection reuse could not be observed",
                                    "live.stream-completes", m);
            if (b->reused_connection) return pass("second stream reused the connection", m);
            return fail("the second request on the same connection",
                        "a new connection (first response " + std::string(to_string(a->framing)) +
                            ")",
                        "the proxy closes the client connection after each stream", m);
          }};
}

check routes() {
  // Fault: a location that only covers the chat route, path rewriting, or body rewriting
  // (scripted: api.endpoints).
  return {.id = "live.routes",
          .title = "Non-streaming routes pass intact",
          .severity = level::must,
          .requirement = "The listing routes (/api/tags, /api/version, /v1/models) answer 200 "
                         "with JSON, the same as directly with --direct.",
          .fixes = {{"nginx", "proxy_pass http://upstream; without a URI part, one location / "
                              "for all routes, no sub_filter"},
                    {"generic", "forward every path and body unchanged"}},
          .probes = nullptr,
          .judge = [](const observations &o, const check_context &) -> verdict {
            json m = json::object();
            int n = 0;
            for (const auto &r : o.probes) {
              if (r.name.rfind("route:", 0) != 0) continue;
              ++n;
              const json body = json::parse(r.body, nullptr, false);
              const probe_result *base = has_direct(o) ? o.baseline->probe(r.name) : nullptr;
              const bool same = !base || json::parse(base->body, nullptr, false) == body;
              m[r.name] = {{"status", r.status}, {"json", !body.is_discarded()}, {"same", same}};
              if (r.status != 200 || !r.complete() || body.is_discarded() || !same)
                return fail("HTTP 200 and the server's JSON",
                            r.name.substr(6) + ": " +
                                (r.status == 200 && r.complete()
                                     ? (body.is_discarded() ? "not JSON: " + r.body.substr(0, 60)
                                                            : "body differs from the server's")
                                     : describe_failure(r)),
                            "the proxy does not forward this route unchanged", m);
            }
            return pass(std::to_string(n) + " routes intact", m);
          }};
}

check error_passthrough() {
  // Fault: proxy_intercept_errors + error_page: "model not found" becomes an HTML page and
  // clients show "Unexpected token <" (scripted: api.error-passthrough).
  return {.id = "live.error-passthrough",
          .title = "Upstream errors reach the client",
          .severity = level::must,
          .requirement = "A request for a model that does not exist gets the server's 4xx and "
                         "its JSON {\"error\":...} (the same status as directly with --direct).",
          .fixes = {{"nginx", "proxy_intercept_errors off; (the default) or limit error_page "
                              "to proxy errors"},
                    {"generic", "pass upstream error responses through"}},
          .probes = nullptr,
          .judge = [](const observations &o, const check_context &) -> verdict {
            const probe_result *r = o.probe("unknown-model");
            const json body = json::parse(r->body, nullptr, false);
            const bool json_error = body.is_object() && body.contains("error");
            const long want = has_direct(o) ? o.baseline->probe("unknown-model")->status : 0;
            json m = {{"status", r->status}, {"json_error", json_error}};
            const bool status_ok = want ? r->status == want : r->status >= 400 && r->status < 500;
            if (!status_ok || !json_error)
              return fail((want ? "HTTP " + std::to_string(want) : std::string("a 4xx")) +
                              " with the server's JSON {\"error\":...}",
                          describe_failure(*r) + ", body " + r->body.substr(0, 80),
                          "the proxy replaced the server's error response", m);
            return pass("HTTP " + std::to_string(r->status) + " " + body["error"].dump(), m);
          }};
}

const check &scripted(const std::string &id) {
  const auto &all = harness::catalog();
  return *std::find_if(all.begin(), all.end(), [&](const check &c) { return c.id == id; });
}

// The scripted check the live run reuses as is: its judge reads only the client's reads.
check framing() {
  return scripted("stream.framing");
}

// --- cors: the server's real policy, judged as a browser would ---------------------------------
// The harness scripts no CORS header here: whatever the server and the proxy answer together is
// what a browser at ctx.origin gets, so every cors verdict reads the proxy's answers alone. With
// --direct the same judge on the server's own answers says who is the cause.

const std::vector<std::string> cors_responses = {"cors:preflight", "cors:stream",
                                                 "cors:unknown-model"};
const std::vector<std::string> cors_browser_responses = {"cors:preflight", "cors:stream"};
constexpr const char *judged_alone =
    " Judged from the proxy's answers alone, as a browser would; --direct says whether the "
    "server answers so itself.";

using cors_judge = std::function<verdict(const observations &, const check_context &)>;

// A failure through the proxy, explained by what the server answers directly.
verdict with_server_view(const cors_judge &judge, const observations &o, const check_context &ctx) {
  verdict v = judge(o, ctx);
  if (v.passed || v.skipped || v.inconclusive) return v;
  if (!has_direct(o)) {
    v.cause += " (run with --direct to tell the server's own answer from the proxy's)";
    return v;
  }
  const verdict direct = judge(*o.baseline, ctx);
  v.measurements["direct_passes"] = direct.passed;
  if (direct.passed) {
    v.cause += "; directly the server's answer passes, so the proxy is the cause";
  } else if (!direct.skipped && !direct.inconclusive) {
    v.cause = "the server answers so itself (directly: " + direct.actual +
              ") and the proxy passes it on: answer CORS at the proxy in one layer (or allow "
              "the origin at the server, e.g. OLLAMA_ORIGINS)";
  }
  return v;
}

// The scripted check's title, level and proven fixes, on the live probes.
check cors_check(const std::string &scripted_id, const std::string &requirement, cors_judge judge) {
  check c = scripted(scripted_id);
  c.id = "live." + scripted_id;
  c.requirement = requirement_text((requirement + judged_alone).c_str());
  c.probes = nullptr;
  c.policy_dependent = false;
  c.needs_proxy = true; // the direct answers explain a failure; they are no self-test
  c.judge = [judge = std::move(judge)](const observations &o, const check_context &ctx) {
    return with_server_view(judge, o, ctx);
  };
  return c;
}

check cors_preflight() {
  // Fault: the preflight forwarded to a server that refuses the origin (Ollama's 403) or does
  // not answer OPTIONS, or answered without the SDK's headers: the browser never sends the POST.
  return cors_check(
      "cors.preflight",
      "OPTIONS with Origin, Access-Control-Request-Method: POST and Access-Control-Request-"
      "Headers: authorization, content-type, x-stainless-os gets a 2xx allowing all of them.",
      [](const observations &o, const check_context &ctx) {
        return cors::judge_preflight(*o.probe("cors:preflight"), ctx);
      });
}

check cors_stream_response() {
  // Fault: no (or a wrong, or a doubled) Access-Control-Allow-Origin on the streamed answer: the
  // model generates and the page cannot read a token.
  return cors_check("cors.stream-response",
                    "A streamed POST from a foreign origin gets 2xx and exactly one valid "
                    "Access-Control-Allow-Origin.",
                    [](const observations &o, const check_context &ctx) {
                      return cors::judge_stream_response(*o.probe("cors:stream"), ctx);
                    });
}

check cors_single_value() {
  // Fault: the proxy adds CORS and the server (OLLAMA_ORIGINS=*, an OpenAI-compatible server)
  // adds its own: "*, *" is refused by every browser.
  return cors_check("cors.single-value",
                    "No Access-Control-* header appears twice on the preflight, the streamed "
                    "answer or the unknown model's error.",
                    [](const observations &o, const check_context &) {
                      return cors::judge_single_value(o, cors_responses);
                    });
}

check cors_credentials() {
  // Fault: a copied snippet combining "*" with Allow-Credentials: true.
  return cors_check("cors.credentials",
                    "Access-Control-Allow-Origin: * is never combined with "
                    "Access-Control-Allow-Credentials: true.",
                    [](const observations &o, const check_context &) {
                      return cors::judge_credentials(o, cors_browser_responses);
                    });
}

check cors_vary_origin() {
  // Fault: an echoed origin without Vary: Origin: a shared cache serves it to another site.
  return cors_check(
      "cors.vary-origin", "A response that echoes the request's Origin carries Vary: Origin.",
      [](const observations &o, const check_context &ctx) {
        return cors::judge_vary_origin(o, cors_browser_responses, ctx, "live.cors.stream-response");
      });
}

} // namespace

std::vector<probe_spec> probes(const request_plan &plan, const check_context &ctx) {
  std::vector<probe_spec> out;
  for (int i = 0; i < plan.runs; ++i)
    out.push_back(stream_probe(run_name(i), plan.openai, plan.model, plan.max_tokens));
  probe_spec compressed = stream_probe("compressed", plan.openai, plan.model, plan.max_tokens);
  compressed.accept_encoding = "gzip, deflate, br, zstd";
  out.push_back(compressed);
  constexpr int short_answer = 8;
  if (!plan.openai) out.push_back(stream_probe("sse", true, plan.model, short_answer));
  probe_spec first = stream_probe("first", plan.openai, plan.model, short_answer);
  probe_spec second = stream_probe("second", plan.openai, plan.model, short_answer);
  first.connection_pool = second.connection_pool = "pair";
  out.push_back(first);
  out.push_back(second);
  std::vector<std::string> listing = {"/v1/models"};
  if (!plan.openai) listing = {"/api/tags", "/api/version", "/v1/models"};
  for (const auto &path : listing)
    out.push_back(plain("route:" + path, "GET", path));
  probe_spec missing = stream_probe("unknown-model", plan.openai, unknown_model, short_answer);
  out.push_back(missing);
  // Apart from the others: an Origin the server refuses must not fail the streaming checks.
  out.push_back(cors::preflight_probe(ctx, "cors:preflight"));
  out.push_back(
      cors::with_origin(stream_probe("cors:stream", plan.openai, plan.model, short_answer), ctx));
  out.push_back(cors::with_origin(
      stream_probe("cors:unknown-model", plan.openai, unknown_model, short_answer), ctx));
  return out;
}

int generations(const request_plan &plan) {
  return plan.runs + 1 + (plan.openai ? 0 : 1) + 2 + 1;
}

const std::vector<live_check> &catalog() {
  static const std::vector<live_check> all = {
      {stream_completes(), "stream", ""},
      {first_token(), "stream", "stream.first-token"},
      {no_buffering(), "stream", "stream.no-coalescing.ndjson", "stream.no-coalescing.sse"},
      {compressed_client(), "compressed", "stream.compressed-client"},
      {content_type(), "stream", "stream.content-type"},
      {framing(), "stream", "stream.framing"},
      {keepalive(), "first", "conn.keepalive"},
      {routes(), "route:/v1/models", "api.endpoints"},
      {error_passthrough(), "unknown-model", "api.error-passthrough"},
      {cors_preflight(), "cors:preflight", "cors.preflight"},
      {cors_stream_response(), "cors:stream", "cors.stream-response"},
      {cors_single_value(), "cors:preflight", "cors.single-value"},
      {cors_credentials(), "cors:preflight", "cors.credentials"},
      {cors_vary_origin(), "cors:preflight", "cors.vary-origin"}};
  return all;
}

std::vector<check_result> not_run() {
  // The scripted checks live mode judges under its own id (live.*) are not listed again.
  std::vector<std::string> covered;
  for (const auto &lc : catalog())
    for (const std::string *twin : {&lc.scripted, &lc.scripted_sse})
      if (!twin->empty()) covered.push_back(*twin);
  static const std::vector<std::pair<std::string, std::string>> why = {
      {"timeout.", "a real model cannot be made to stay silent or stream for a set time"},
      {"abort.", "cancellation and truncation need an upstream that reports when the client's "
                 "close reached it, and one that can be made to cut a stream"},
      {"cors.error-responses", "a real server cannot be made to answer a 500; the unknown "
                               "model's 404 is judged by live.cors.single-value"},
      {"cors.proxy-errors", "a real server cannot be made to reset a stream, and a 20 MiB "
                            "upload to it is not polite"},
      {"upstream.origin-accepted", "live.cors.stream-response fails a refused Origin, whoever "
                                   "refuses it (--direct says whether the server does)"},
      {"upstream.host-accepted", "needs the public Host a deployed proxy is reached by, which "
                                 "the proxy's URL here is not"},
      {"headers.", "needs the upstream to report the headers it received"},
      {"body.", "a 20 MiB upload to a real server is not polite, and only the mock reports "
                "what it received"},
      {"conn.", "needs hundreds of streams or the upstream's view of its connections"},
      {"stream.", "needs a scripted 400-token answer"},
      {"api.", "a real server cannot be made to fail mid-stream"}};
  std::vector<check_result> out;
  for (const auto &c : harness::catalog()) {
    if (std::find(covered.begin(), covered.end(), c.id) != covered.end()) continue;
    check_result r;
    r.id = c.id;
    r.title = c.title;
    r.severity = c.severity;
    r.result = outcome::skip;
    std::string reason = "needs the scripted upstream";
    for (const auto &[prefix, text] : why)
      if (c.id.rfind(prefix, 0) == 0) {
        reason = text;
        break;
      }
    r.requirement = "not run in live mode: " + reason;
    r.measured = "not run: " + reason + "; scripted: streamcheck nginx|exec|run --check " + c.id;
    out.push_back(std::move(r));
  }
  return out;
}

} // namespace streamcheck::harness::live
