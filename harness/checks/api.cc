// api.*: everything that is not a token stream must come through intact too.
#include "harness/checks/catalog_parts.h"
#include "harness/checks/requests.h"

namespace streamcheck::harness {
namespace {

// Fields that legitimately differ between two identical requests.
json without_volatile(json v) {
  if (v.is_object()) {
    for (const char *k : {"created_at", "created", "id", "streamcheck"})
      v.erase(k);
    for (auto &[k, child] : v.items())
      child = without_volatile(child);
  } else if (v.is_array()) {
    for (auto &child : v)
      child = without_volatile(child);
  }
  return v;
}

json parsed(const std::string &body) {
  json v = json::parse(body, nullptr, false);
  return v.is_discarded() ? json(body) : without_volatile(v);
}

// Ollama's routes and the OpenAI ones, less those the upstream or the proxy does not serve.
std::vector<probe_spec> endpoint_probes(const check_context &ctx) {
  const json chat = {{"model", "llama3.2"},
                     {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})},
                     {"stream", false},
                     {"streamcheck", protocol::to_overrides({.gap_ms = 1, .tokens = 5})}};
  json v1 = chat;
  v1.erase("stream");
  std::vector<probe_spec> all = {
      plain("root", "GET", "/"),
      plain("version", "GET", "/api/version"),
      plain("tags", "GET", "/api/tags"),
      plain("ps", "GET", "/api/ps"),
      plain("show", "POST", "/api/show", {{"model", "llama3.2"}}),
      plain("embed", "POST", "/api/embed", {{"model", "llama3.2"}, {"input", "hello <world>"}}),
      plain("chat", "POST", "/api/chat", chat),
      plain("v1-models", "GET", "/v1/models"),
      plain("v1-chat", "POST", "/v1/chat/completions", v1)};
  std::erase_if(all, [&](const probe_spec &p) {
    return (ctx.openai_only && p.path.rfind("/v1/", 0) != 0) || !ctx.reaches(p.path);
  });
  return all;
}

check endpoints() {
  // Fault: path rewriting (proxy_pass with a URI part, double slashes -> Ollama's 301 -> the POST
  // becomes a GET -> 405), sub_filter/body rewriting, or a location that only covers /api/chat.
  return {
      .id = "api.endpoints",
      .title = "Non-streaming routes pass intact",
      .severity = level::must,
      .requirement = "Non-streaming routes return the upstream's status and body unchanged.",
      .fixes = {{"nginx", "proxy_pass http://upstream; without a URI part, one location / for all "
                          "routes, no sub_filter"},
                {"generic", "forward every path and body unchanged"}},
      .probes = endpoint_probes,
      .judge = [](const observations &o, const check_context &ctx) -> verdict {
        json m = json::object();
        std::string bad;
        const auto routes = endpoint_probes(ctx);
        for (const auto &spec : routes) {
          const probe_result &r = *o.probe(spec.name); // a missing route reads as "not sent"
          const probe_result *base = o.baseline ? o.baseline->probe(spec.name) : nullptr;
          const bool ok =
              r.status == 200 && r.complete() && (!base || parsed(r.body) == parsed(base->body));
          m[spec.name] = {{"status", r.status}, {"bytes", r.body_bytes}, {"intact", ok}};
          if (!ok && bad.empty())
            bad = spec.name + " (" + (r.url.empty() ? spec.path : r.url) + "): " +
                  (r.status == 200 && r.complete() ? "body differs from the upstream's"
                                                   : describe_failure(r));
        }
        if (!bad.empty())
          return fail("HTTP 200 and the upstream's body on every route", bad,
                      "the proxy rewrote the path or the body", m);
        return pass(std::to_string(routes.size()) + " routes intact", m);
      }};
}

std::vector<probe_spec> error_probes() {
  probe_spec missing = chat_stream("not-found");
  missing.body["model"] = "no-such-model";
  return {missing, chat_stream("server-error", {.status = 500}),
          sse_stream("v1-not-found", {.status = 404})};
}

check error_passthrough() {
  // Fault: proxy_intercept_errors on + error_page: "model not found" becomes an HTML page and
  // clients show "Unexpected token <" instead of the real error.
  return {
      .id = "api.error-passthrough",
      .title = "Upstream errors reach the client",
      .severity = level::must,
      .requirement =
          "Upstream 404/500 statuses and their JSON bodies reach the client (no proxy error page).",
      .fixes = {{"nginx",
                 "proxy_intercept_errors off; (the default) or limit error_page to proxy errors"},
                {"generic", "pass upstream error responses through"}},
      .probes = [](const check_context &) { return error_probes(); },
      .judge = [](const observations &o, const check_context &) -> verdict {
        json m = json::object();
        for (const auto &spec : error_probes()) {
          const probe_result &r = *o.probe(spec.name); // a missing probe reads as "not sent"
          const json body = json::parse(r.body, nullptr, false);
          const bool ok = body.is_object() && body.contains("error");
          const probe_result *base = o.baseline ? o.baseline->probe(spec.name) : nullptr;
          const long want = base ? base->status : r.status;
          m[spec.name] = {{"status", r.status}, {"json_error", ok}};
          if (r.status != want || !ok)
            return fail(
                "HTTP " + std::to_string(want) + " with the upstream's JSON {\"error\":...}",
                spec.name + ": HTTP " + std::to_string(r.status) + ", body " + r.body.substr(0, 80),
                "the proxy replaced the upstream's error response", m);
        }
        return pass("404, 500 and OpenAI 404 passed through", m);
      }};
}

// An in-band error line ends the stream after a few tokens.
const scenario error_midway{.tokens = 10, .error_after = 4};

check in_band_error() {
  // Fault: a proxy or filter that drops or rewrites the body after the status line was sent
  // (sub_filter, a response-body rule): the user sees an answer stop with no reason.
  return {
      .id = "api.in-band-error",
      .title = "Mid-stream errors reach the client",
      .severity = level::must,
      .requirement = "A mid-stream {\"error\":...} line reaches the client.",
      .fixes = {{"generic", "do not filter streamed bodies"}},
      .probes =
          [](const check_context &) { return std::vector{chat_stream("stream", error_midway)}; },
      .judge = [](const observations &o, const check_context &) -> verdict {
        const probe_result *r = o.probe("stream");
        for (const auto &e : r->events)
          if (e.value.is_object() && e.value.contains("error"))
            return pass("error line arrived after " + std::to_string(e.seq) + " events",
                        {{"error", e.value["error"]}});
        return fail("an {\"error\":...} line after " + std::to_string(error_midway.error_after) +
                        " tokens",
                    std::to_string(r->events.size()) + " events, none an error (" +
                        describe_failure(*r) + ")",
                    "the proxy dropped or rewrote the end of the stream");
      }};
}

} // namespace

void add_api_checks(std::vector<check> &out) {
  out.push_back(endpoints());
  out.push_back(error_passthrough());
  out.push_back(in_band_error());
}

} // namespace streamcheck::harness
