// conn.*: connections are reused and many streams run at once.
#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>

#include "harness/checks/catalog_parts.h"
#include "harness/checks/requests.h"
#include "harness/checks/stream.h"
#include "harness/timing.h"

namespace streamcheck::harness {
namespace {

std::string ms(double v) {
  return format_ms(v, 1);
}

// How long the proxy held an event back to release it with later ones: the emission span of the
// events that arrived in one read. Needs no baseline, so it holds under any load.
double held_back_ms(const probe_result &r) {
  std::map<std::size_t, std::pair<std::int64_t, std::int64_t>> span; // read -> first, last emitted
  for (const auto &e : r.events) {
    if (e.emitted_us < 0) continue;
    auto [it, fresh] = span.try_emplace(e.write_index, e.emitted_us, e.emitted_us);
    it->second.first = std::min(it->second.first, e.emitted_us);
    it->second.second = std::max(it->second.second, e.emitted_us);
  }
  std::int64_t worst = 0;
  for (const auto &[read, s] : span)
    worst = std::max(worst, s.second - s.first);
  return static_cast<double>(worst) / 1000.0;
}

std::vector<probe_spec> two_in_a_row() {
  probe_spec first = chat_stream("first", {.tokens = 3});
  probe_spec second = chat_stream("second", {.tokens = 3});
  second.after_probe = "first";
  first.connection_pool = second.connection_pool = "pair";
  return {first, second};
}

// Over h2 keep-alive means multiplexing: the second stream starts while the first one runs, as a
// page's requests do. It starts once the connection is up, so that libcurl can put it there
// without PIPEWAIT (which h2c prior knowledge breaks in libcurl 7.88: engine.cc).
std::vector<probe_spec> two_at_once() {
  probe_spec first = chat_stream("first", {.first_token_ms = 20, .gap_ms = 100, .tokens = 6});
  probe_spec second = chat_stream("second", {.tokens = 3});
  second.start_after_ms = 300;
  first.connection_pool = second.connection_pool = "pair";
  return {first, second};
}

// Distinct client connections among the probes (their local ports).
std::size_t connections_of(const observations &o) {
  std::vector<std::int64_t> ports;
  for (const auto &p : o.probes)
    if (p.local_port > 0 && std::find(ports.begin(), ports.end(), p.local_port) == ports.end())
      ports.push_back(p.local_port);
  return ports.size();
}

verdict judge_multiplexed(const probe_result &a, const probe_result &b, json m) {
  m["same_connection"] = a.local_port == b.local_port;
  const bool overlapped = b.sent_mono_us < a.sent_mono_us + a.finished_us;
  if (!overlapped)
    return inconclusive("two streams at the same time (the first ended before the second began)",
                        "the first stream was shorter than planned", "", m);
  if (a.local_port == b.local_port) return pass("both streams at once on one HTTP/2 connection", m);
  return fail("two concurrent streams on one HTTP/2 connection",
              "the second stream needed a connection of its own",
              "the proxy lets one HTTP/2 connection carry a single stream at a time "
              "(SETTINGS_MAX_CONCURRENT_STREAMS 1): a browser queues every other request of the "
              "page behind a running generation",
              m);
}

check keepalive() {
  // Fault: chunked_transfer_encoding off / HTTP/1.0 to the client / Connection: close: every
  // token stream pays a new TCP (and TLS) handshake, and a browser's six-connection limit bites.
  // Fault (HTTP/2): one stream per connection (nginx http2_max_concurrent_streams 1): a browser
  // does not open a second h2 connection, so the page's other requests wait for the generation.
  return {
      .id = "conn.keepalive",
      .title = "Client connections are reused",
      .severity = level::should,
      .requirement = "The client's connection is reused for a second streamed request (HTTP/2: "
                     "carries two streams at once).",
      .fixes = {{"nginx", "keep chunked_transfer_encoding on and keepalive_timeout above 0 "
                          "(HTTP/2: http2_max_concurrent_streams above 1)"},
                {"generic", "keep HTTP/1.1 keep-alive (chunked streams) towards clients"}},
      .probes = [](const check_context &ctx) { return ctx.http2 ? two_at_once() : two_in_a_row(); },
      .judge = [](const observations &o, const check_context &ctx) -> verdict {
        const probe_result *a = o.probe("first");
        const probe_result *b = o.probe("second");
        json m = {{"first_framing", to_string(a->framing)},
                  {"second_reused", b->reused_connection},
                  {"connection_header", a->header("Connection")}};
        // complete() alone holds for a probe that never ran: a status says it did.
        const auto done = [](const probe_result *p) { return p->status == 200 && p->complete(); };
        for (const char *probe : {"first", "second"})
          if (auto v = unless_forwarded(o, probe)) return *v;
        if (!done(a) || !done(b))
          return inconclusive("two complete streams to compare connections (got " +
                                  describe_failure(done(a) ? *b : *a) + ")",
                              "a stream failed, so connection reuse could not be observed", "", m);
        if (a->http_version == "2" && a->url.rfind("http://", 0) == 0) {
          verdict v = pass("not tested over h2c: libcurl 7.88 fails a second stream on a "
                           "prior-knowledge connection, so each stream has its own",
                           m);
          v.skipped = true;
          return v;
        }
        if (a->http_version == "2" && b->http_version == "2") return judge_multiplexed(*a, *b, m);
        // The mock directly, in an h2 run: two HTTP/1.1 streams at once take a connection each.
        if (ctx.http2) return pass("two concurrent HTTP/1.1 streams, a connection each", m);
        if (b->reused_connection) return pass("second stream reused the connection", m);
        return fail("the second request on the same connection",
                    "a new connection (first response " + std::string(to_string(a->framing)) +
                        (a->header("Connection").empty()
                             ? ""
                             : ", Connection: " + a->header("Connection")) +
                        ")",
                    "the proxy closes the client connection after each stream", m);
      }};
}

check upstream_keepalive() {
  // Informational: HTTP/1.0 or a new upstream connection per request costs a handshake per
  // message and, with Ollama, close-delimited (unbufferable-looking) responses.
  return {.id = "conn.upstream-keepalive",
          .title = "Upstream protocol and connection reuse",
          .severity = level::info,
          .requirement =
              "Reports the HTTP version the upstream sees and whether its connections are reused.",
          .fixes = {}, // INFO: it only measures
          .probes = [](const check_context &) { return two_in_a_row(); },
          .judge = [](const observations &o, const check_context &) -> verdict {
            const auto *a = o.journal_of("first");
            const auto *b = o.journal_of("second");
            if (a->empty() || b->empty()) return pass("upstream did not see both requests");
            const std::string version = b->back().version;
            const bool reused = a->back().connection == b->back().connection;
            return pass("HTTP/" + version + ", " +
                            (reused ? "connection reused" : "new connection per request"),
                        {{"version", version}, {"reused", reused}});
          },
          .needs_proxy = true};
}

// Every one of the profile's concurrent streams.
const scenario each_of_many{.first_token_ms = 50, .gap_ms = 50, .tokens = 20};

// The check's lone stream, sent before the load: stream.no-coalescing.*'s own request.
const char *const lone = "alone";

// When the proxy holds a lone stream's events already (stream.no-coalescing.*'s fault, HAProxy's
// ~200 ms hold of small writes), the same hold is in every concurrent stream and its jitter lands
// either side of the bounds from run to run: what many streams add cannot be told apart from it.
// nullopt when the lone stream kept its spacing, or failed for another reason (never forwarded,
// not a complete 200: the concurrent streams' own verdict says what happened to them).
std::optional<verdict> held_without_load(const observations &o, const check_context &ctx, json &m) {
  const probe_result &r = *o.probe(lone);
  if (r.status != 200 || !r.complete()) return std::nullopt;
  const verdict alone = judge_spacing(o, ctx, lone, steady.gap_ms, emitted_events(steady));
  if (alone.passed || alone.inconclusive ||
      alone.measurements.value("events", 0) < emitted_events(steady))
    return std::nullopt;
  m["alone"] = alone.measurements;
  return inconclusive(
      "what many streams at once add: a lone stream's events were already held (" + alone.actual +
          ")",
      "the proxy holds the events of a single stream, so the same hold shows in every "
      "concurrent stream whatever their number",
      ctx.openai_only ? "stream.no-coalescing.sse" : "stream.no-coalescing.ndjson", m);
}

check concurrent_streams() {
  // Fault: worker_connections / maxconn / file-descriptor limits sized for short requests: long
  // streams hold two connections each, and the (N+1)th user gets a reset or a 502; or a proxy
  // that streams one stream at a time well but holds or coalesces events once many run at once.
  return {
      .id = "conn.concurrent-streams",
      .title = "Many streams at once",
      .severity = level::must,
      .requirement =
          [](const check_context &ctx) {
            return std::to_string(ctx.prof.concurrent_streams) + " concurrent streams (the " +
                   ctx.prof.name + " profile's number) all complete, none refused, none coalesced.";
          },
      .fixes = {{"nginx",
                 "worker_connections >= 2 x concurrent streams + headroom; worker_rlimit_nofile "
                 "to match"},
                // fixtures/lighttpd/stock.conf is blocked by its lone stream's buffering,
                // stream-response-body.conf passes.
                {"lighttpd",
                 "server.stream-response-body = 2: buffered, each stream arrives in one read"},
                {"generic", "raise connection and file-descriptor limits"}},
      .probes =
          [](const check_context &ctx) {
            std::vector<probe_spec> p;
            for (int i = 0; i < ctx.prof.concurrent_streams; ++i) {
              probe_spec s = chat_stream("s" + std::to_string(i), each_of_many);
              s.timeout_ms = 60'000;
              s.start_after_ms = heavy_start_ms;
              p.push_back(s);
            }
            p.push_back(chat_stream(lone, steady)); // done (1.7 s) before the load starts
            return p;
          },
      .judge = [](const observations &o, const check_context &ctx) -> verdict {
        // The profile's streams, by name: one that never came back counts as incomplete.
        const int wanted = ctx.prof.concurrent_streams;
        int complete = 0;
        std::string first_problem, coalesced;
        double held_back = 0;
        std::vector<double> jitter;
        for (int i = 0; i < wanted; ++i) {
          const std::string name = "s" + std::to_string(i);
          const probe_result &r = *o.probe(name);
          int stamped = 0;
          for (const auto &e : r.events)
            stamped += e.emitted_us >= 0;
          if (r.status == 200 && r.complete() && stamped == emitted_events(each_of_many))
            ++complete;
          else if (first_problem.empty())
            first_problem =
                name + ": " + describe_failure(r) + ", " + std::to_string(stamped) + " events";
          if (const double h = held_back_ms(r); h > held_back) {
            held_back = h;
            coalesced = name;
          }
          // Each stream against itself: simultaneous starts give every stream its own constant
          // offset.
          const delay_stats s = added_delays(r, &r, each_of_many.gap_ms);
          jitter.push_back(s.max_ms);
        }
        const double p95 = percentile(jitter, 95);
        const double worst = jitter.empty() ? 0 : percentile(jitter, 100);
        json m = {{"streams", wanted},      {"connections", connections_of(o)},
                  {"complete", complete},   {"p95_stream_max_jitter_ms", p95},
                  {"max_jitter_ms", worst}, {"max_held_back_ms", held_back}};
        // Over h2 how many connections carried them says how far the proxy multiplexes.
        const bool h2 = !o.probes.empty() && o.probes.front().http_version == "2";
        const std::string figures =
            std::to_string(complete) + "/" + std::to_string(wanted) + " complete" +
            (h2 ? " over " + std::to_string(connections_of(o)) + " HTTP/2 connections" : "") +
            ", worst event jitter " + ms(worst);
        if (complete != wanted)
          return fail("all " + std::to_string(wanted) + " streams complete",
                      figures + " (" + first_problem + ")",
                      "the proxy runs out of connections or file descriptors", m);
        if (auto held = held_without_load(o, ctx, m)) return *held;
        if (held_back > ctx.tol.max_ms())
          return fail(
              "no event held back > " + ms(ctx.tol.max_ms()) + " to be released with later ones",
              coalesced + ": events emitted " + ms(held_back) + " apart arrived in one read",
              "the proxy coalesces events under load", m);
        if (p95 > ctx.tol.p95_ms() * 2 || worst > ctx.tol.max_ms() * 2)
          return fail("per-stream jitter p95 <= " + ms(ctx.tol.p95_ms() * 2) +
                          ", max <= " + ms(ctx.tol.max_ms() * 2),
                      figures, "the proxy coalesces events under load", m);
        return pass(figures, m);
      },
      .timing = true};
}

} // namespace

void add_conn_checks(std::vector<check> &out) {
  out.push_back(keepalive());
  out.push_back(upstream_keepalive());
  out.push_back(concurrent_streams());
}

} // namespace streamcheck::harness
