// abort.*: a user's "Stop" must reach the model, and a crash must not look like an answer.
#include <cstdio>

#include "harness/checks/catalog_parts.h"
#include "harness/checks/requests.h"

namespace streamcheck::harness {
namespace {

std::string ms(double v) {
  return format_ms(v, 0);
}

const std::map<std::string, std::string> cancel_fixes = {
    {"nginx", "proxy_ignore_client_abort off; (the default) and proxy_buffering off so nginx "
              "watches the client while streaming"},
    {"haproxy", "option abortonclose"},
    {"generic", "close the upstream connection when the client disconnects"},
};

// How long after the client left did the upstream see its connection closed?
verdict judge_cancel(const observations &o, const check_context &ctx) {
  const probe_result *r = o.probe("stream");
  const auto *entries = o.journal_of("stream");
  if (!r->aborted)
    return fail("the harness closes the stream mid-way", describe_failure(*r),
                "the stream ended before the planned abort");
  if (entries->empty())
    return fail("the request reaches the upstream", "no journal entry",
                "the proxy never forwarded the request");
  const json &e = entries->back();
  const std::string outcome = e.value("outcome", "");
  const double closed_ms =
      static_cast<double>(e.value("peer_closed_us", -1LL) >= 0 ? e.value("peer_closed_us", -1LL)
                                                               : e.value("ended_us", -1LL)) /
      1000.0;
  // Both times count from the request: the client's from its send, the mock's from its read, so
  // the difference slightly underestimates by the proxy's forwarding latency.
  const double after_ms = closed_ms - static_cast<double>(r->aborted_us) / 1000.0;
  json m = {{"upstream_outcome", outcome},
            {"client_closed_ms", r->aborted_us / 1000.0},
            {"upstream_closed_ms", closed_ms},
            {"propagation_ms", after_ms}};
  const bool closed = outcome == "peer_closed" || outcome == "write_failed";
  if (closed && after_ms <= ctx.tol.cancel_ms())
    return pass("upstream closed " + ms(std::max(0.0, after_ms)) + " after the client", m);
  std::string actual = "upstream closed " + ms(after_ms) + " after the client";
  if (outcome == "completed" && after_ms <= 0)
    return fail("upstream connection closed <= " + ms(ctx.tol.cancel_ms()) + " after the client",
                "the upstream had finished before the client saw the events it cancelled after",
                "the proxy delivers the stream only after the upstream is done, so Stop comes too "
                "late to save any generation",
                m);
  if (outcome == "completed")
    actual = "upstream ran to completion " + ms(after_ms) + " after the client left";
  else if (!closed)
    actual = "upstream connection still " + outcome + " " + ms(ctx.tol.cancel_ms()) +
             " after the client left";
  return fail("upstream connection closed <= " + ms(ctx.tol.cancel_ms()) + " after the client",
              actual,
              "the proxy keeps the upstream request running after the client is gone "
              "(the GPU keeps generating)",
              m);
}

check cancel_propagates() {
  // Fault: proxy_ignore_client_abort on, or any proxy that notices the client only on its next
  // write: "Stop" in the UI leaves the model generating until the next token is relayed.
  check c{"abort.cancel-propagates",
          "Stop reaches the model",
          level::must,
          "When the client closes mid-stream, the upstream connection is closed within 1 s.",
          cancel_fixes,
          nullptr,
          nullptr};
  c.probes = [](const check_context &) {
    // The model pauses right where the user presses Stop (a long reasoning step): a proxy that
    // notices the client only on its next write keeps the upstream busy for the whole pause.
    probe_spec p = chat_stream("stream", {{"first_token_ms", 20},
                                          {"gap_ms", 50},
                                          {"tokens", 20},
                                          {"stall_at", 5},
                                          {"stall_ms", 10'000}});
    p.abort_after_events = 5;
    p.settle_ms = 1500;
    return std::vector{p};
  };
  c.judge = judge_cancel;
  c.timing = true;
  return c;
}

check cancel_before_first_token() {
  // Fault: a proxy that watches the client only once the upstream answered: closing the tab
  // during a cold model load leaves the request queued and the model loading.
  check c{"abort.cancel-before-first-token",
          "Stop reaches the model before the first token",
          level::must,
          "When the client closes while the upstream is still silent, the upstream connection is "
          "closed within 1 s.",
          cancel_fixes,
          nullptr,
          nullptr};
  c.probes = [](const check_context &) {
    probe_spec p = chat_stream("stream", {{"first_token_ms", 15'000}, {"tokens", 3}});
    p.abort_after_ms = 1000;
    p.settle_ms = 1500;
    return std::vector{p};
  };
  c.judge = judge_cancel;
  c.timing = true;
  return c;
}

check truncation_visible() {
  // Fault: chunked_transfer_encoding off / HTTP/1.0 upstream: the response is close-delimited,
  // so an upstream crash mid-stream looks exactly like a finished answer.
  check c{
      "abort.truncation-visible",
      "A crashed generation looks crashed",
      level::should,
      "When the upstream dies mid-stream, the client sees an incomplete response, not a clean "
      "end.",
      {{"nginx", "keep chunked_transfer_encoding on (the default) and proxy_http_version 1.1 so "
                 "nginx can tell an upstream crash from the end"},
       {"generic", "use chunked framing (HTTP/1.1) or HTTP/2 towards the client"}},
      nullptr,
      nullptr};
  c.probes = [](const check_context &) {
    return std::vector{chat_stream("stream", {{"first_token_ms", 20},
                                              {"gap_ms", 20},
                                              {"tokens", 20},
                                              {"abort_after", 5},
                                              {"abort", "fin"}})};
  };
  c.judge = [](const observations &o, const check_context &) -> verdict {
    const probe_result *r = o.probe("stream");
    json m = {{"curl", r->curl_error},
              {"curl_code", r->curl_code},
              {"events", r->events.size()},
              {"client_framing", to_string(r->framing)}};
    if (r->curl_code != 0) return pass("client saw: " + r->curl_error, m);
    return fail("an incomplete response (e.g. missing final chunk, reset)",
                "a clean end after " + std::to_string(r->events.size()) + " events, " +
                    to_string(r->framing) + " framing",
                "the response to the client is close-delimited (or re-terminated), so the "
                "upstream's crash is indistinguishable from the end",
                m);
  };
  c.timing = true;
  return c;
}

check no_replay() {
  // Fault: proxy_next_upstream with non_idempotent (or a retrying load balancer): a POST that
  // reset the upstream is sent again, so the model runs twice (and bills twice).
  check c{"abort.no-replay",
          "A failed POST is not replayed",
          level::should,
          "A POST is not sent to the upstream twice after the upstream resets the connection.",
          {{"nginx", "remove non_idempotent from proxy_next_upstream"},
           {"haproxy", "retry-on: do not include conn-failure for POST; no 'option redispatch'"},
           {"generic", "never retry non-idempotent requests"}},
          nullptr,
          nullptr};
  c.probes = [](const check_context &) {
    return std::vector{chat_stream("stream", {{"abort_after", 0}, {"abort", "rst"}})};
  };
  c.judge = [](const observations &o, const check_context &) -> verdict {
    const auto n = o.journal_of("stream")->size();
    json m = {{"upstream_requests", n}, {"client_status", o.probe("stream")->status}};
    if (n == 1)
      return pass("sent once (client got " + describe_failure(*o.probe("stream")) + ")", m);
    return fail("exactly 1 upstream request", std::to_string(n) + " upstream requests",
                n == 0 ? "the request never reached the upstream" : "the proxy retried a POST", m);
  };
  return c;
}

} // namespace

void add_abort_checks(std::vector<check> &out) {
  out.push_back(cancel_propagates());
  out.push_back(cancel_before_first_token());
  out.push_back(truncation_visible());
  out.push_back(no_replay());
}

} // namespace streamcheck::harness
