// Synthetic observations for the check unit tests: what the mock directly and a correct proxy
// produce for each check's probes, and the pieces (reads, journal entries, headers) the tests
// rearrange into the faults a check exists for. The scenario (probe names, event counts, gaps) is
// read from the check's own probes(ctx), never restated in a test.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness/check.h"
#include "mock_upstream/handler.h"

namespace streamcheck::harness::synthetic {

const check_context &ctx();

const check &by_id(const std::string &id);

// Memoised: some checks send 20 MiB bodies, and probes(ctx) is a pure function.
const std::vector<probe_spec> &specs_of(const std::string &id);

probe_spec spec_named(const std::vector<probe_spec> &specs, const std::string &name);

// --- synthetic observations ---------------------------------------------------------------------

// The timeline a probe asks of the mock (its typed scenario; the mock's defaults when it has none).
// Every fact about it (events, emission times) comes from common/protocol, which
// tests/integration/mock_upstream/contract_test.cc checks against the running mock.
protocol::scenario scenario_of(const probe_spec &s);

// The number of stamped events a probe's scenario produces.
int expected_events(const probe_spec &s);

bool is_sse(const probe_spec &s);

probe_result answered(const probe_spec &spec, long status, const std::string &content_type);

parsed_event event(const json &value, int seq, std::int64_t emitted_us, std::int64_t arrival_us,
                   std::size_t write_index);

// Appends an event in a read of its own.
void deliver(probe_result &r, parsed_event e);

extern const json token;

extern const json final_object;

// What a correct path delivers for a streamed probe: every event `lag_us` after its emission, one
// read each; an abort asked of the mock or the harness cuts it where asked.
probe_result streamed(const probe_spec &spec, std::int64_t lag_us);

// Re-cuts a stream into reads of `group` events, each released with its last event (a buffer).
void release_together(probe_result &r, std::size_t group, std::size_t from = 0,
                      std::size_t to = SIZE_MAX);

void delay_all(probe_result &r, std::int64_t us);

// A journal entry that ended this way (the mock's typed entry: a renamed field does not compile).
journal_entry entry(stream_end outcome, std::int64_t ended_us, std::int64_t peer_closed_us = -1);

probe_result &probe_in(observations &o, const std::string &name);

std::vector<journal_entry> &journal_in(observations &o, const std::string &name);

// --- what a correct proxy (or the mock itself) produces, per check ------------------------------

using builder = std::function<observations(const std::vector<probe_spec> &, std::int64_t lag_us)>;

// Builders get the lag of the path they stand for: the mock directly, or a correct proxy.
constexpr std::int64_t direct_lag_us = 1'000;

constexpr std::int64_t proxy_lag_us = 3'000;

bool via_proxy(std::int64_t lag_us);

observations every_probe_streamed(const std::vector<probe_spec> &specs, std::int64_t lag_us);

observations cancelled(const std::vector<probe_spec> &specs, std::int64_t lag_us);

observations reset_once(const std::vector<probe_spec> &specs, std::int64_t);

// Non-streaming routes: a JSON body whose volatile fields differ between runs.
observations routes(const std::vector<probe_spec> &specs, std::int64_t lag_us);

long upstream_status(const probe_spec &s);

// The upstream's JSON error for a probe that asks for one (a 404 model, a scripted status).
probe_result upstream_error(const probe_spec &s);

observations upstream_errors(const std::vector<probe_spec> &specs, std::int64_t);

// --- the request as the upstream saw it (the mock's journal) -------------------------------------

std::string fnv_hex(const std::string &data);

bool same_name(const std::string &a, const std::string &b);

// A request body as both ends see it: its size and FNV-1a 64.
struct request_body {
  std::size_t bytes = 0;
  std::string fnv;
};

request_body body_of(const probe_spec &s);

// What the engine records about the request it sent.
void record_sent(probe_result &r, const request_body &b);

// A journal entry as the mock writes it. Through a correct proxy the Host is local, the browser's
// Origin is stripped (the proxy answers CORS) and X-Forwarded-* are added; directly, the request
// arrives as sent.
journal_entry upstream_saw(const probe_spec &s, const request_body &body, bool proxied, long status,
                           int connection);

// Streams that reached the upstream, each on a connection of its own.
observations forwarded_streams(const std::vector<probe_spec> &specs, std::int64_t lag_us);

// Streams one after the other on one client connection, and on one upstream connection.
observations kept_alive(const std::vector<probe_spec> &specs, std::int64_t lag_us);

std::string header_of(const probe_spec &s, const std::string &name);

// Allow-lists as each side answers a preflight: the mock's (Ollama's) long list directly, the
// proxy reflecting what was asked.
extern const char *const mock_allow_methods;

extern const char *const mock_allow_headers;

// CORS as each side answers it: the mock directly (its permissive 'ollama-open' policy) with "*",
// a correct proxy in exactly one layer, echoing the allowed origin with Vary: Origin.
void add_cors(probe_result &r, bool proxied);

observations cors_answers(const std::vector<probe_spec> &specs, std::int64_t lag_us);

const std::map<std::string, builder> &correct_proxy();

// What a correct path produces for a check (memoised, like specs_of).
const observations &correct(const std::string &id, std::int64_t lag_us);

// The direct run (the mock itself) and a correct proxy's run, judged as the runner does.
struct run {
  observations direct;
  observations proxied;
  const check &c;

  explicit run(const std::string &id)
      : direct(correct(id, direct_lag_us)), proxied(correct(id, proxy_lag_us)), c(by_id(id)) {}
  verdict judge() {
    proxied.baseline = &direct;
    return c.judge(proxied, ctx());
  }
  probe_result &probe(const std::string &name) { return probe_in(proxied, name); }
};

// What the real mock (mock_upstream/handler) plans for a probe's request, as it arrives directly
// (Host 127.0.0.1:11434, the default policy): ties a check's declared stimulus to what the mock
// actually does with it.
mock::plan mock_plan_for(const probe_spec &s);

std::string test_name(const ::testing::TestParamInfo<std::string> &info);

} // namespace streamcheck::harness::synthetic
