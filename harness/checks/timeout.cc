// timeout.*: long silences and long streams are normal for LLMs; a proxy timeout cuts them.
#include "harness/checks/catalog_parts.h"
#include "harness/checks/requests.h"

namespace streamcheck::harness {
namespace {

std::string seconds(int ms) {
  return std::to_string(ms / 1000) + " s";
}

// The profile's silence as a requirement states it: "4 s (the quick profile's gap)".
std::string silence_text(const check_context &ctx) {
  return bound_text(ctx.prof.silence_ms) + " (the " + ctx.prof.name + " profile's gap)";
}

// All stamped events present and the stream ended cleanly with its final object.
verdict judge_complete(const observations &o, int expected_events, const std::string &what) {
  if (auto v = unless_forwarded(o, "stream")) return *v;
  const probe_result *r = o.probe("stream");
  int stamped = 0;
  for (const auto &e : r->events)
    stamped += e.emitted_us >= 0;
  json m = {{"status", r->status},
            {"events", stamped},
            {"expected_events", expected_events},
            {"duration_ms", static_cast<double>(r->finished_us) / 1000.0},
            {"curl", r->curl_error}};
  if (r->status == 200 && r->complete() && stamped == expected_events)
    return pass(what + " survived, " + std::to_string(stamped) + " events", m);
  std::string actual = describe_failure(*r);
  if (r->status == 200 && r->complete())
    actual = std::to_string(stamped) + " of " + std::to_string(expected_events) + " events";
  return fail("HTTP 200 with all " + std::to_string(expected_events) + " events", actual,
              "a proxy read/idle or total timeout is shorter than " + what, m);
}

// The timelines the checks ask of the mock; each judge counts the events its own one emits.
scenario silent_load(const check_context &ctx) {
  return {.first_token_ms = ctx.prof.silence_ms, .gap_ms = 20, .tokens = 5};
}

scenario paused_midway(const check_context &ctx) {
  return {.first_token_ms = 20,
          .gap_ms = 20,
          .tokens = 8,
          .stall_at = 4,
          .stall_ms = ctx.prof.silence_ms};
}

scenario steady_for_the_profile(const check_context &ctx) {
  return {.first_token_ms = 20, .gap_ms = 100, .tokens = ctx.prof.long_stream_ms / 100};
}

const std::map<std::string, std::string> read_timeout_fixes = {
    {"nginx", "proxy_read_timeout 3600s; (and proxy_send_timeout, send_timeout) — nginx's default "
              "is 60 s"},
    // fixtures/haproxy/short-timeouts.cfg fails, stock.cfg passes; Debian's 50 s fails the
    // standard profile (measured: HTTP 504 before a 65 s silent first token).
    {"haproxy", "timeout server 1h (and timeout client 1h): an inactivity timeout, and Debian's "
                "50 s is shorter than a cold model load"},
    {"generic", "raise the upstream read/idle timeout above the longest silence"},
};

check slow_first_token() {
  // Fault: a response-header / first-byte timeout (nginx proxy_read_timeout 60 s default, AWS
  // ALB idle 60 s). Ollama sends nothing, not even headers, while it loads the model.
  return {.id = "timeout.slow-first-token",
          .title = "A silent model load is not cut",
          .severity = level::must,
          .requirement =
              [](const check_context &ctx) {
                return "The upstream is silent (no headers) for " + silence_text(ctx) +
                       ", then streams; the client gets all of it.";
              },
          .fixes = read_timeout_fixes,
          .probes =
              [](const check_context &ctx) {
                return std::vector{chat_stream("stream", silent_load(ctx))};
              },
          .judge =
              [](const observations &o, const check_context &ctx) {
                return judge_complete(o, emitted_events(silent_load(ctx)),
                                      seconds(ctx.prof.silence_ms) +
                                          " of silence before the first token");
              },
          .timing = true};
}

check idle_gap() {
  // Fault: an idle/read timeout between upstream writes (the same directives): a model pausing
  // mid-answer (tool call, long reasoning step, queueing) gets cut.
  return {.id = "timeout.idle-gap",
          .title = "A mid-stream pause is not cut",
          .severity = level::must,
          .requirement =
              [](const check_context &ctx) {
                return "A pause of " + silence_text(ctx) + " in the middle of a stream survives.";
              },
          .fixes = read_timeout_fixes,
          .probes =
              [](const check_context &ctx) {
                return std::vector{chat_stream("stream", paused_midway(ctx))};
              },
          .judge =
              [](const observations &o, const check_context &ctx) {
                return judge_complete(o, emitted_events(paused_midway(ctx)),
                                      "a " + seconds(ctx.prof.silence_ms) + " pause mid-stream");
              },
          .timing = true};
}

check long_stream() {
  // Fault: a total request timeout (Envoy route timeout 15 s, GCP LB 30 s, Cloudflare 100 s,
  // haproxy 'timeout server' with no data) ends long generations that never go idle.
  return {
      .id = "timeout.long-stream",
      .title = "A long steady stream is not cut",
      .severity = level::must,
      .requirement =
          [](const check_context &ctx) {
            return "A steady stream lasting " + bound_text(ctx.prof.long_stream_ms) + " (the " +
                   ctx.prof.name + " profile's duration) is not cut.";
          },
      .fixes = {{"nginx", "no total limit exists in stock nginx; check limit_rate/keepalive_time"},
                {"generic", "remove or raise any total request/response timeout"}},
      .probes =
          [](const check_context &ctx) {
            return std::vector{chat_stream("stream", steady_for_the_profile(ctx))};
          },
      .judge =
          [](const observations &o, const check_context &ctx) {
            return judge_complete(o, emitted_events(steady_for_the_profile(ctx)),
                                  "a " + seconds(ctx.prof.long_stream_ms) + " stream");
          },
      .timing = true};
}

} // namespace

void add_timeout_checks(std::vector<check> &out) {
  out.push_back(slow_first_token());
  out.push_back(idle_gap());
  out.push_back(long_stream());
}

} // namespace streamcheck::harness
