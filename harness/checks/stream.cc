// stream.*: tokens must reach the client as the model produces them.
#include <cstdio>

#include "common/http_text.h"
#include "harness/checks/catalog_parts.h"
#include "harness/checks/requests.h"
#include "harness/checks/stream.h"
#include "harness/timing.h"

namespace streamcheck::harness {
namespace {

std::string ms(double v) {
  return format_ms(v, 1);
}

// The timelines the checks ask of the mock (steady: stream.h); the judges take gaps and event
// counts from them.
const scenario long_answer{.first_token_ms = 20, .gap_ms = 5, .tokens = 400, .token_bytes = 64};

json stats_json(const delay_stats &s) {
  return {{"events", s.events},
          {"first_added_ms", s.first_ms},
          {"p50_added_ms", s.p50_ms},
          {"p95_added_ms", s.p95_ms},
          {"max_added_ms", s.max_ms},
          {"bursts", s.bursts},
          {"max_events_per_read", s.max_events_per_read}};
}

// The bounds judge_spacing applies, as its requirements state them.
std::string spacing_bounds(const check_context &ctx) {
  return "p95 <= " + bound_text(ctx.tol.p95_ms()) + ", max <= " + bound_text(ctx.tol.max_ms());
}

const std::map<std::string, std::string> buffering_fixes = {
    {"nginx", "proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_buffering off; "
              "(or send X-Accel-Buffering: no from the upstream); gzip off for stream types"},
    // fixtures/haproxy/stock.cfg fails, http-no-delay.cfg passes (HAProxy 2.6).
    {"haproxy", "option http-no-delay (in defaults, or the frontend and backend): without it "
                "HAProxy holds each small write ~200 ms on a plain listener"},
    // fixtures/lighttpd/stock.conf fails, stream-response-body.conf passes (lighttpd 1.4.69).
    {"lighttpd", "server.stream-response-body = 2 (the default, 0, reads the whole upstream "
                 "response before sending any of it)"},
    {"generic", "disable response buffering and compression for streamed responses"},
};

check first_token() {
  // Fault: a proxy that buffers until its buffer fills or the response ends (nginx's default
  // HTTP/1.0 upstream + proxy_buffering) delivers the first token only at the end.
  return {
      .id = "stream.first-token",
      .title = "First token arrives at once",
      .severity = level::must,
      .requirement =
          [](const check_context &ctx) {
            return "The first event reaches the client within " +
                   bound_text(ctx.tol.first_token_ms()) + " of the upstream emitting it.";
          },
      .fixes = buffering_fixes,
      .probes = [](const check_context &) { return std::vector{chat_stream("stream", steady)}; },
      .judge = [](const observations &o, const check_context &ctx) -> verdict {
        if (auto v = unless_forwarded(o, "stream")) return *v;
        const probe_result *r = o.probe("stream");
        if (r->status != 200 || r->events.empty())
          return fail("a 200 stream with events", describe_failure(*r),
                      "the proxy failed the request");
        const probe_result *base = o.baseline ? o.baseline->probe("stream") : nullptr;
        const delay_stats s = added_delays(*r, base, steady.gap_ms);
        json m = stats_json(s);
        m["first_event_arrival_ms"] = static_cast<double>(r->events.front().arrival_us) / 1000.0;
        if (s.events == 0)
          return fail("events carrying the upstream's timing stamps",
                      std::to_string(r->events.size()) + " events, none stamped",
                      "the proxy rewrote the body on the way", m);
        if (s.first_ms > ctx.tol.first_token_ms())
          return fail("first event <= " + ms(ctx.tol.first_token_ms()) + " after emission",
                      "first event " + ms(s.first_ms) + " late",
                      "the proxy holds the response until its buffer fills or the stream ends", m);
        return pass("first event +" + ms(s.first_ms), m);
      },
      .timing = true};
}

check no_coalescing_ndjson() {
  // Fault: response buffering (proxy_buffering on, HTTP/1.0 upstream) merges the NDJSON lines
  // of /api/chat into bursts: the chat UI shows nothing, then everything.
  return {
      .id = "stream.no-coalescing.ndjson",
      .title = "NDJSON events keep their spacing",
      .severity = level::must,
      .requirement =
          [](const check_context &ctx) {
            return "/api/chat events keep their spacing: added delay " + spacing_bounds(ctx) +
                   ", no bursts.";
          },
      .fixes = buffering_fixes,
      .probes = [](const check_context &) { return std::vector{chat_stream("stream", steady)}; },
      .judge =
          [](const observations &o, const check_context &ctx) {
            return judge_spacing(o, ctx, "stream", steady.gap_ms, emitted_events(steady));
          },
      .timing = true,
      .ollama_routes = true};
}

check no_coalescing_sse() {
  // Fault: as above for text/event-stream; some proxies special-case SSE, some only NDJSON.
  return {.id = "stream.no-coalescing.sse",
          .title = "SSE events keep their spacing",
          .severity = level::must,
          .requirement =
              [](const check_context &ctx) {
                return "/v1/chat/completions SSE events keep their spacing: " +
                       spacing_bounds(ctx) + ".";
              },
          .fixes = buffering_fixes,
          .probes = [](const check_context &) { return std::vector{sse_stream("stream", steady)}; },
          .judge =
              [](const observations &o, const check_context &ctx) {
                return judge_spacing(o, ctx, "stream", steady.gap_ms, emitted_events(steady));
              },
          .timing = true};
}

check compressed_client() {
  // Fault: gzip/brotli on stream content types. The compressor holds output until its block
  // fills, so a browser (which always sends Accept-Encoding) gets the stream in bursts.
  return {
      .id = "stream.compressed-client",
      .title = "Streams survive a browser's Accept-Encoding",
      .severity = level::must,
      .requirement =
          [](const check_context &ctx) {
            return "With Accept-Encoding: gzip, deflate, br, zstd, events still keep their "
                   "spacing: " +
                   spacing_bounds(ctx) + ".";
          },
      .fixes = {{"nginx",
                 "gzip off (or remove application/x-ndjson and text/event-stream from gzip_types)"},
                {"haproxy",
                 "option http-no-delay (stock HAProxy does not compress; its ~200 ms hold of "
                 "small writes is what shows here)"},
                // fixtures/lighttpd/stock.conf fails, stream-response-body.conf passes.
                {"lighttpd", "server.stream-response-body = 2 (stock lighttpd does not compress; "
                             "its buffering of the whole response is what shows here)"},
                {"generic", "do not compress text/event-stream and application/x-ndjson"}},
      .probes =
          [](const check_context &) {
            probe_spec p = chat_stream("stream", steady);
            p.accept_encoding = "gzip, deflate, br, zstd";
            return std::vector{p};
          },
      .judge =
          [](const observations &o, const check_context &ctx) {
            verdict v = judge_spacing(o, ctx, "stream", steady.gap_ms, emitted_events(steady));
            const std::string enc = o.probe("stream")->header("Content-Encoding");
            v.measurements["content_encoding"] = enc;
            if (!enc.empty()) v.measured += " (Content-Encoding: " + enc + ")";
            return v;
          },
      .timing = true};
}

check large_response() {
  // Fault: fixed-size proxy buffers (proxy_buffers, bufsize) that release data only when full:
  // short answers look fine, long ones arrive in buffer-sized bursts.
  return {.id = "stream.large-response",
          .title = "Long answers stream without buffer-sized bursts",
          .severity = level::should,
          .requirement =
              [](const check_context &ctx) {
                return "A long answer (400 events, ~100 KB) arrives without buffer-sized bursts: " +
                       spacing_bounds(ctx) + ".";
              },
          .fixes = buffering_fixes,
          .probes =
              [](const check_context &) { return std::vector{chat_stream("stream", long_answer)}; },
          .judge =
              [](const observations &o, const check_context &ctx) {
                verdict v = judge_spacing(o, ctx, "stream", long_answer.gap_ms,
                                          emitted_events(long_answer));
                v.measurements["body_bytes"] = o.probe("stream")->body_bytes;
                return v;
              },
          .timing = true};
}

check content_type() {
  // Fault: a proxy or error layer that replaces Content-Type (default_type, add_header), so the
  // client's SSE/NDJSON parser never engages.
  return {.id = "stream.content-type",
          .title = "Stream content types are preserved",
          .severity = level::must,
          .requirement = "application/x-ndjson and text/event-stream reach the client unchanged.",
          .fixes = {{"nginx",
                     "do not override Content-Type (no add_header/more_set_headers Content-Type, "
                     "no proxy_hide_header Content-Type)"},
                    {"generic", "pass the upstream's Content-Type through"}},
          .probes =
              [](const check_context &) {
                const scenario short_stream{.tokens = 3};
                return std::vector{chat_stream("ndjson", short_stream),
                                   sse_stream("sse", short_stream)};
              },
          .judge = [](const observations &o, const check_context &ctx) -> verdict {
            for (const char *probe : {"ndjson", "sse"})
              if (auto v = unless_forwarded(o, probe)) return *v;
            const std::string nd = media_type(o.probe("ndjson")->header("Content-Type"));
            const std::string sse = media_type(o.probe("sse")->header("Content-Type"));
            json m = {{"ndjson", nd}, {"sse", sse}};
            // Against an OpenAI-only upstream both probes are SSE streams (routes.h).
            const char *want_nd = ctx.openai_only ? "text/event-stream" : "application/x-ndjson";
            if (nd != want_nd || sse != "text/event-stream")
              return fail(std::string(want_nd) + " and text/event-stream",
                          "'" + nd + "' and '" + sse + "'", "the proxy rewrote Content-Type", m);
            return pass(nd + ", " + sse, m);
          }};
}

check framing() {
  // Informational: re-framing is legal, but a client that assumes one event per read breaks.
  return {
      .id = "stream.framing",
      .title = "How events are framed into reads",
      .severity = level::info,
      .requirement = "Reports events split across reads or merged into one read.",
      .fixes = {}, // INFO: it only measures
      .probes = [](const check_context &) { return std::vector{chat_stream("stream", steady)}; },
      .judge = [](const observations &o, const check_context &) -> verdict {
        const probe_result *r = o.probe("stream");
        std::map<std::size_t, int> per_read;
        for (const auto &e : r->events)
          ++per_read[e.write_index];
        int merged = 0;
        for (const auto &[read, n] : per_read)
          merged += n > 1;
        const int partial = static_cast<int>(r->writes.size()) - static_cast<int>(per_read.size());
        json m = {{"reads", r->writes.size()},
                  {"events", r->events.size()},
                  {"reads_with_several_events", merged},
                  {"reads_with_partial_event", partial},
                  {"client_framing", to_string(r->framing)},
                  {"http_version", r->http_version}};
        return pass(std::to_string(r->writes.size()) + " reads for " +
                        std::to_string(r->events.size()) + " events, " + std::to_string(merged) +
                        " merged, " + std::to_string(partial) + " partial, " +
                        to_string(r->framing),
                    m);
      },
      .timing = true};
}

} // namespace

verdict judge_spacing(const observations &o, const check_context &c, const std::string &probe,
                      int gap_ms, int expected_events) {
  if (auto v = unless_forwarded(o, probe)) return *v;
  const probe_result *r = o.probe(probe);
  if (r->status != 200 || !r->complete())
    return fail("a complete 200 stream", describe_failure(*r), "the proxy failed the request");
  const probe_result *base = o.baseline ? o.baseline->probe(probe) : nullptr;
  const delay_stats s = added_delays(*r, base, gap_ms);
  json m = stats_json(s);
  const std::string figures = "p95 added " + ms(s.p95_ms) + ", max " + ms(s.max_ms) + ", " +
                              std::to_string(s.events) + " events";
  if (s.events < expected_events)
    return fail(std::to_string(expected_events) + " stamped events",
                std::to_string(s.events) + " events (the proxy altered or dropped them)",
                "the body was rewritten or truncated on the way", m);
  if (s.p95_ms > c.tol.p95_ms() || s.max_ms > c.tol.max_ms())
    return fail("added delay p95 <= " + ms(c.tol.p95_ms()) + ", max <= " + ms(c.tol.max_ms()),
                figures + " (events held back and released together)",
                "the proxy buffers the response instead of forwarding each upstream write", m);
  if (s.bursts * 20 > s.events)
    return fail("no bursts of events emitted >= 2 gaps apart",
                std::to_string(s.bursts) + " bursts, up to " +
                    std::to_string(s.max_events_per_read) + " events per read",
                "the proxy coalesces upstream writes", m);
  return pass(figures, m);
}

void add_stream_checks(std::vector<check> &out) {
  out.push_back(first_token());
  out.push_back(no_coalescing_ndjson());
  out.push_back(no_coalescing_sse());
  out.push_back(compressed_client());
  out.push_back(large_response());
  out.push_back(content_type());
  out.push_back(framing());
}

} // namespace streamcheck::harness
