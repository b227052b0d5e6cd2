// abort.*: a user's "Stop" must reach the model, and a crash must not look like an answer.
#include <cstdio>
#include <curl/curl.h>
#include <optional>

#include "harness/checks/catalog_parts.h"
#include "harness/checks/requests.h"

namespace streamcheck::harness {
namespace {

std::string ms(double v) {
  return format_ms(v, 0);
}

// fixtures/haproxy/stock.cfg fails the silent cases, abortonclose.cfg passes all three (HAProxy
// 2.6: the upstream connection closed 0 ms after the client).
constexpr const char *haproxy_abort_fix =
    "option abortonclose (in defaults or the backend): HAProxy then aborts the request as soon as "
    "the client closes, instead of at its next write";

// What the user sees when Stop does not reach the model, per situation (console and reports).
struct cancel_situation {
  const char *while_what;  // "while tokens flow"
  const char *consequence; // what keeps running on the GPU
};

// The cancelled request's twin that nobody cancels: its client stays until after the window in
// which the cancelled one's upstream close is judged. A proxy whose own timeout cuts a silent
// request closes this one too, at the same time, so a close of the cancelled one then is the
// timeout's, not the proxy noticing that the client left.
probe_spec unattended_twin(probe_spec p, const check_context &ctx, int client_leaves_ms) {
  p.name = "unattended";
  p.abort_after_events = -1;
  p.abort_after_ms = client_leaves_ms + static_cast<int>(ctx.tol.cancel_ms()) + 500;
  return p;
}

// Whether the twin was observed at all (sent and seen by the upstream): without it a close
// cannot be told from the proxy's own timeout.
bool twin_observed(const observations &o) {
  return o.probe("unattended")->started && !o.journal_of("unattended")->empty();
}

// When the proxy closed the twin's upstream connection by itself, while its client was still
// there: ms since the request; nullopt when it did not.
std::optional<double> closed_by_itself_ms(const observations &o) {
  if (!twin_observed(o)) return std::nullopt;
  const probe_result *twin = o.probe("unattended");
  const journal_entry &e = o.journal_of("unattended")->back();
  const double closed_ms = static_cast<double>(e.closed_us()) / 1000.0;
  const bool client_still_there =
      !twin->aborted || closed_ms < static_cast<double>(twin->aborted_us) / 1000.0;
  if (!closed_by_peer(e.outcome) || !client_still_there) return std::nullopt;
  return closed_ms;
}

// How long after the client left did the upstream see its connection closed? Judged only when
// the client really left in the situation the check sets up: a proxy that never forwarded the
// request, or that held the stream until the upstream was done, is reported as inconclusive.
verdict judge_cancel(const observations &o, const check_context &ctx, const cancel_situation &sit,
                     const std::string &held_back_blocker,
                     const std::string &timeout_blocker = "") {
  const probe_result *r = o.probe("stream");
  const auto *entries = o.journal_of("stream");
  if (entries->empty())
    return inconclusive("the request never reached the upstream (client saw " +
                            describe_failure(*r) + ")",
                        "the proxy answered or dropped the request itself, so there was nothing "
                        "to cancel");
  if (!r->aborted)
    return inconclusive("the stream ended (" + describe_failure(*r) +
                            ") before the harness could close it " + sit.while_what,
                        "the proxy ended the exchange before the situation this check needs");
  const journal_entry &e = entries->back();
  const stream_end outcome = e.outcome;
  const double closed_ms = static_cast<double>(e.closed_us()) / 1000.0;
  // Both times count from the request: the client's from its send, the mock's from its read, so
  // the difference slightly underestimates by the proxy's forwarding latency.
  const double client_closed_ms = static_cast<double>(r->aborted_us) / 1000.0;
  const double after_ms = closed_ms - client_closed_ms;
  json m = {{"upstream_outcome", to_string(outcome)},
            {"client_closed_ms", client_closed_ms},
            {"upstream_closed_ms", closed_ms},
            {"propagation_ms", after_ms}};
  const bool closed = closed_by_peer(outcome);
  // Timers of one proxy fire within a few ms of each other; a close that noticed the client comes
  // at least this much before the timeout's.
  const double same_timer_ms = 150 * ctx.tol.mult;
  const auto own_cut_ms = closed_by_itself_ms(o);
  m["unattended_closed_ms"] = own_cut_ms ? json(*own_cut_ms) : json(nullptr);
  const bool timeout_close = closed && own_cut_ms && closed_ms >= *own_cut_ms - same_timer_ms;
  // A timeout's close that lands about on the bound (fixtures/haproxy/short-timeouts.cfg: 2 s,
  // the client leaving at 1 s) is not a fail either: it says nothing of the client.
  if (timeout_close && after_ms <= ctx.tol.cancel_ms() + same_timer_ms)
    return inconclusive(
        "the upstream connection closed " + ms(std::max(0.0, after_ms)) +
            " after the client left, but the proxy also closes it " + ms(*own_cut_ms) +
            " after the request when the client stays: its own timeout cut the request, so "
            "whether it notices a client leaving " +
            sit.while_what + " was not observable",
        "a proxy timeout shorter than the upstream's silence closes the request first",
        timeout_blocker, m);
  if (closed && after_ms <= ctx.tol.cancel_ms()) {
    if (!timeout_blocker.empty() && !twin_observed(o))
      return inconclusive("the upstream connection closed " + ms(std::max(0.0, after_ms)) +
                              " after the client left, but the same request left alone was not "
                              "observed (" +
                              describe_failure(*o.probe("unattended")) +
                              "), so the proxy's own timeout cannot be ruled out",
                          "the unattended twin request never reached the upstream", "", m);
    return pass("upstream closed " + ms(std::max(0.0, after_ms)) + " after the client", m);
  }
  if (outcome == stream_end::completed && after_ms <= 0)
    return inconclusive("the upstream had finished before the client saw the events it cancels "
                        "after, so the client never left " +
                            std::string(sit.while_what),
                        "the proxy held the stream back until the upstream was done",
                        held_back_blocker, m);
  std::string actual = "upstream closed " + ms(after_ms) + " after the client";
  if (outcome == stream_end::completed)
    actual = "upstream ran to completion " + ms(after_ms) + " after the client left";
  else if (!closed)
    actual = "upstream connection still " + std::string(to_string(outcome)) + " " +
             ms(ctx.tol.cancel_ms()) + " after the client left";
  return fail("upstream connection closed <= " + ms(ctx.tol.cancel_ms()) + " after the client",
              actual,
              "the proxy keeps the upstream request running after the client is gone " +
                  std::string(sit.while_what) + ": " + sit.consequence,
              m);
}

check cancel_propagates() {
  // Fault: a proxy that neither watches the client nor writes to it while relaying (nginx with
  // proxy_ignore_client_abort on and a buffered answer): "Stop" in the UI leaves the model
  // generating to the end.
  // A proxy that notices a closed client on its next write passes: tokens flow every 100 ms.
  return {
      .id = "abort.cancel-propagates",
      .title = "Stop reaches the model",
      .severity = level::must,
      .requirement =
          [](const check_context &ctx) {
            return "When the client closes while tokens flow, the upstream connection is closed "
                   "within " +
                   bound_text(ctx.tol.cancel_ms()) + ".";
          },
      .fixes = // fixtures/nginx/ignore-client-abort-defaults.conf fails, defaults.conf passes.
      {{"nginx", "proxy_ignore_client_abort off; (the default): with it on, nginx learns that the "
                 "client left only when it next writes, and a buffered answer is written only "
                 "at the end"},
       // fixtures/lighttpd/stock.conf fails, stream-response-body.conf passes.
       {"lighttpd", "server.stream-response-body = 2: with the response buffered, lighttpd reads "
                    "the whole answer before it notices the client has gone"},
       {"generic", "close the upstream connection when the client disconnects"}},
      .probes =
          [](const check_context &) {
            probe_spec p =
                chat_stream("stream", {.first_token_ms = 20, .gap_ms = 100, .tokens = 40});
            // After 5 events, or at 1.5 s if the proxy holds them back: either way mid-answer, with
            // 2.5 s of tokens still to come, so a buffering proxy is judged on cancellation.
            p.abort_after_events = 5;
            p.abort_after_ms = 1500;
            p.settle_ms = 1500;
            return std::vector{p};
          },
      .judge =
          [](const observations &o, const check_context &ctx) {
            return judge_cancel(o, ctx,
                                {"while tokens flow",
                                 "the model keeps generating until the answer is "
                                 "complete"},
                                "stream.first-token");
          },
      .timing = true};
}

check cancel_during_pause() {
  // Fault: a proxy that notices a closed client only on its next write (HAProxy, Apache
  // mod_proxy, nginx with proxy_ignore_client_abort on): when the user presses Stop while the
  // model is silent mid-answer (Ollama's OpenAI API emits nothing while a tool call is generated;
  // reasoning parsers do the same), the model keeps generating for the whole pause.
  return {.id = "abort.cancel-during-pause",
          .title = "Stop reaches the model during a pause",
          .severity = level::should,
          .requirement =
              [](const check_context &ctx) {
                return "When the client closes during a silent pause mid-answer, the upstream "
                       "connection is closed within " +
                       bound_text(ctx.tol.cancel_ms()) + ".";
              },
          .fixes = {{"nginx",
                     "proxy_ignore_client_abort off; (the default): nginx then watches the client "
                     "while the upstream is silent"},
                    {"haproxy", haproxy_abort_fix},
                    // fixtures/caddy/flush-interval.Caddyfile fails, stock.Caddyfile passes.
                    {"caddy", "remove flush_interval -1 from reverse_proxy: with it Caddy does not "
                              "cancel the upstream request when the client disconnects (Caddy 2.6 "
                              "streams NDJSON and SSE without it)"},
                    {"generic",
                     "watch the client connection while the upstream is silent and close the "
                     "upstream connection when the client goes"}},
          .probes =
              [](const check_context &ctx) {
                // The model pauses right where the user presses Stop (a long tool-call or reasoning
                // step).
                probe_spec p = chat_stream("stream", {.first_token_ms = 20,
                                                      .gap_ms = 50,
                                                      .tokens = 20,
                                                      .stall_at = 5,
                                                      .stall_ms = 10'000});
                p.abort_after_events = 5;
                p.settle_ms = 1500;
                // The fifth event is emitted at 20 + 4 * 50 ms: the client leaves about then.
                return std::vector{p, unattended_twin(p, ctx, 20 + 4 * 50 + 100)};
              },
          .judge =
              [](const observations &o, const check_context &ctx) {
                return judge_cancel(o, ctx,
                                    {"during the pause",
                                     "the model keeps generating for the rest of the pause "
                                     "(and until its next token is relayed)"},
                                    "stream.first-token", "timeout.idle-gap");
              },
          .timing = true};
}

check cancel_before_first_token() {
  // Fault: a proxy that watches the client only once the upstream answered: closing the tab
  // during a cold model load leaves the request queued and the model loading.
  return {
      .id = "abort.cancel-before-first-token",
      .title = "Stop reaches the model before the first token",
      .severity = level::must,
      .requirement =
          [](const check_context &ctx) {
            return "When the client closes while the upstream is still silent, the upstream "
                   "connection is closed within " +
                   bound_text(ctx.tol.cancel_ms()) + ".";
          },
      .fixes = {{"nginx",
                 "proxy_ignore_client_abort off; (the default): nginx then watches the client "
                 "while it waits for the upstream's response"},
                {"haproxy", haproxy_abort_fix},
                // fixtures/caddy/flush-interval.Caddyfile fails, stock.Caddyfile passes.
                {"caddy", "remove flush_interval -1 from reverse_proxy: with it Caddy does not "
                          "cancel the upstream request when the client disconnects (Caddy 2.6 "
                          "streams NDJSON and SSE without it)"},
                {"generic", "watch the client connection while waiting for the upstream's response "
                            "and close the upstream connection when the client goes"}},
      .probes =
          [](const check_context &ctx) {
            probe_spec p = chat_stream("stream", {.first_token_ms = 15'000, .tokens = 3});
            p.abort_after_ms = 1000;
            p.settle_ms = 1500;
            // fixtures/haproxy/short-timeouts.cfg: its 2 s timeout server closes both at 2 s.
            return std::vector{p, unattended_twin(p, ctx, p.abort_after_ms)};
          },
      .judge =
          [](const observations &o, const check_context &ctx) {
            return judge_cancel(o, ctx,
                                {"before the first token",
                                 "the model keeps loading and then generates "
                                 "the whole answer for nobody"},
                                "", "timeout.slow-first-token");
          },
      .timing = true};
}

// How an h2 stream showed the crash, in the protocol's words.
std::string h2_truncation(const probe_result &r) {
  switch (r.curl_code) {
  case CURLE_HTTP2_STREAM: return "RST_STREAM";
  case CURLE_PARTIAL_FILE: return "the stream closed without END_STREAM";
  case CURLE_HTTP2: return "the HTTP/2 connection failed (GOAWAY or a framing error)";
  default: return "no clean END_STREAM";
  }
}

check truncation_visible() {
  // Fault: chunked_transfer_encoding off / HTTP/1.0 upstream: the response is close-delimited,
  // so an upstream crash mid-stream looks exactly like a finished answer.
  // Fault (HTTP/2): the proxy ends the stream with END_STREAM after the upstream died, where
  // it must reset it (RST_STREAM) or at least leave END_STREAM unsent.
  return {
      .id = "abort.truncation-visible",
      .title = "A crashed generation looks crashed",
      .severity = level::should,
      .requirement =
          "When the upstream dies mid-stream, the client sees an incomplete response, not a clean "
          "end.",
      .fixes = {{"nginx",
                 "keep chunked_transfer_encoding on (the default) and proxy_http_version 1.1 so "
                 "nginx can tell an upstream crash from the end"},
                // fixtures/lighttpd/stock.conf fails, stream-response-body.conf passes.
                {"lighttpd", "server.stream-response-body = 2: a buffered answer gets a "
                             "Content-Length and a clean end even when the upstream died mid-way"},
                {"generic", "use chunked framing (HTTP/1.1) or HTTP/2 towards the client"}},
      .probes =
          [](const check_context &) {
            return std::vector{chat_stream("stream", {.first_token_ms = 20,
                                                      .gap_ms = 20,
                                                      .tokens = 20,
                                                      .abort_after = 5,
                                                      .abort = abort_kind::fin})};
          },
      .judge = [](const observations &o, const check_context &) -> verdict {
        const probe_result *r = o.probe("stream");
        json m = {{"curl", r->curl_error},
                  {"curl_code", r->curl_code},
                  {"status", r->status},
                  {"events", r->events.size()},
                  {"client_framing", to_string(r->framing)}};
        if (o.journal_of("stream")->empty())
          return inconclusive("the request never reached the upstream (client saw " +
                                  describe_failure(*r) + "), so no upstream crash happened",
                              "the proxy answered or dropped the request itself", "", m);
        if (r->curl_code != 0 && r->http_version == "2")
          return pass(h2_truncation(*r) + " (curl: " + r->curl_error + ")", m);
        if (r->curl_code != 0) return pass("client saw: " + r->curl_error, m);
        // A proxy that held the stream and then reports the crash as an error status is honest too.
        if (r->status >= 500) return pass("client saw " + describe_failure(*r), m);
        if (r->http_version == "2")
          return fail("RST_STREAM or a stream without END_STREAM",
                      "a clean END_STREAM after " + std::to_string(r->events.size()) + " events",
                      "the proxy ends the HTTP/2 stream normally when the upstream connection "
                      "closes mid-response, so the crash is indistinguishable from the end",
                      m);
        return fail("an incomplete response (e.g. missing final chunk, reset)",
                    "a clean end after " + std::to_string(r->events.size()) + " events, " +
                        to_string(r->framing) + " framing",
                    "the response to the client is close-delimited (or re-terminated), so the "
                    "upstream's crash is indistinguishable from the end",
                    m);
      },
      .timing = true};
}

check no_replay() {
  // Fault: proxy_next_upstream with non_idempotent (or a retrying load balancer): a POST that
  // reset the upstream is sent again, so the model runs twice (and bills twice).
  // Fault (HTTP/2, HAProxy 2.6 with alpn h2 measured): the reset answered with REFUSED_STREAM or
  // GOAWAY, which invites the client to resend a request the upstream already had.
  return {
      .id = "abort.no-replay",
      .title = "A failed POST is not replayed",
      .severity = level::should,
      .requirement =
          "A POST is not sent to the upstream twice after the upstream resets the connection.",
      .fixes = {{"nginx", "remove non_idempotent from proxy_next_upstream"},
                {"generic", "never retry non-idempotent requests"}},
      .probes =
          [](const check_context &) {
            return std::vector{chat_stream("stream", {.abort_after = 0, .abort = abort_kind::rst})};
          },
      .judge = [](const observations &o, const check_context &) -> verdict {
        const auto n = o.journal_of("stream")->size();
        const probe_result &r = *o.probe("stream");
        json m = {{"upstream_requests", n},
                  {"client_status", r.status},
                  {"client_connections", r.new_connections}};
        if (n == 1)
          return pass("sent once (client got " + describe_failure(*o.probe("stream")) + ")", m);
        if (n == 0)
          return inconclusive("the request never reached the upstream (client saw " +
                                  describe_failure(*o.probe("stream")) + "), so it was never reset",
                              "the proxy answered or dropped the request itself", "", m);
        // A connection per attempt: the client resent it, because the proxy said it could.
        if (r.new_connections >= static_cast<long>(n))
          return fail("exactly 1 upstream request",
                      std::to_string(n) + " upstream requests, each on a new client connection",
                      "the proxy told the client its request was never processed (HTTP/2 "
                      "REFUSED_STREAM or GOAWAY, or a closed connection before any response) "
                      "after the upstream had it, so the client sent the POST again (libcurl did "
                      "here; browsers retry such requests too)",
                      m);
        return fail("exactly 1 upstream request", std::to_string(n) + " upstream requests",
                    "the proxy retried a POST", m);
      }};
}

} // namespace

void add_abort_checks(std::vector<check> &out) {
  out.push_back(cancel_propagates());
  out.push_back(cancel_during_pause());
  out.push_back(cancel_before_first_token());
  out.push_back(truncation_visible());
  out.push_back(no_replay());
}

} // namespace streamcheck::harness
