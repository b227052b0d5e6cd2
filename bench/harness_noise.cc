// The harness's own noise floor: the added delay it measures when there is no proxy at all.
// Runs N concurrent streams straight against an embedded mock and reports, per event,
// lag - median lag (what every stream.* verdict compares against its thresholds).
//   bench_harness_noise [--streams 1,100,1000] [--tokens 40] [--gap-ms 50] [--mock-threads 1]
//                       [--url BASE --http 1.1|2|h2c]
// --url measures through a server in front of a streamcheck-mock (e.g. nginx with http2, started
// by `streamcheck nginx CONF --after-suite`), so the floor over HTTP/2 can be compared with
// HTTP/1.1 through the same listener.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "common/fd_limit.h"
#include "common/options.h"
#include "harness/checks/requests.h"
#include "harness/engine.h"
#include "harness/timing.h"
#include "mock_upstream/server.h"

using namespace streamcheck;

namespace {

std::vector<int> parse_list(const std::string &text) {
  std::vector<int> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ','))
    out.push_back(std::atoi(item.c_str()));
  return out;
}

void run(const std::string &base, harness::client_http http, int streams, int tokens, int gap_ms) {
  std::vector<harness::scheduled_probe> probes;
  for (int i = 0; i < streams; ++i) {
    harness::scheduled_probe p;
    p.spec = harness::chat_stream("s" + std::to_string(i),
                                  {.first_token_ms = 50, .gap_ms = gap_ms, .tokens = tokens});
    p.url = base + p.spec.path;
    p.body = go_json(p.spec.body);
    p.http = http;
    probes.push_back(std::move(p));
  }
  const auto results = harness::run_probes(probes, nullptr);
  // Two parts: each stream's constant offset (request setup: connect, send, the mock's read, all
  // under the burst of N simultaneous starts) and the jitter of its events around that offset,
  // which is what coalescing would show up in.
  std::vector<double> offsets, jitter;
  int complete = 0;
  std::string spoken;
  std::size_t events = 0;
  for (const auto &r : results) {
    complete += r.complete() && r.status == 200;
    if (spoken.empty()) spoken = r.http_version;
    std::vector<double> lags;
    for (const auto &e : r.events)
      if (e.emitted_us >= 0)
        lags.push_back(static_cast<double>(e.arrival_us - e.emitted_us) / 1000.0);
    events += lags.size();
    const double median = harness::percentile(lags, 50);
    offsets.push_back(median);
    for (double l : lags)
      jitter.push_back(l - median);
  }
  std::printf("%8d %9d %8zu %8s %11.3f %11.3f %11.3f %11.3f %11.3f\n", streams, complete, events,
              spoken.c_str(), harness::percentile(offsets, 50), harness::percentile(offsets, 99),
              harness::percentile(jitter, 50), harness::percentile(jitter, 99),
              harness::percentile(jitter, 100));
}

struct noise_flags {
  std::string streams = "1,100,1000";
  int tokens = 40, gap_ms = 50;
  // One mock loop by default: with the harness's curl thread that is one busy thread per core on
  // a 2-core machine, so the figure is the harness's noise, not the scheduler's.
  unsigned mock_threads = 1;
  std::string url;          // "": the embedded mock, directly
  std::string http = "1.1"; // with --url: 1.1, 2 (TLS, ALPN h2) or h2c
};

const std::vector<options::option<noise_flags>> &flag_table() {
  static const std::vector<options::option<noise_flags>> table = {
      {"streams", "LIST", "concurrent streams per run, comma-separated",
       options::store([](noise_flags & f) -> auto & { return f.streams; }), "1,100,1000"},
      {"tokens", "N", "tokens per stream",
       options::integer_in(
           [](noise_flags & f) -> auto & { return f.tokens; }, 1, 100'000),
       "40"},
      {"gap-ms", "N", "between tokens",
       options::integer_in(
           [](noise_flags & f) -> auto & { return f.gap_ms; }, 0, 60'000),
       "50"},
      {"mock-threads", "N", "the embedded mock's event loops",
       options::integer_in(
           [](noise_flags & f) -> auto & { return f.mock_threads; }, 1, 256),
       "1"},
      {"url", "BASE", "measure through this server (in front of a streamcheck-mock) instead",
       options::store([](noise_flags & f) -> auto & { return f.url; }), "the embedded mock"},
      {"http", "1.1|2|h2c", "the protocol towards --url",
       [](noise_flags &f, const std::string &v) -> options::problem {
         if (!options::one_of(v, {"1.1", "2", "h2c"})) return options::expected("1.1, 2 or h2c", v);
         f.http = v;
         return std::nullopt;
       },
       "1.1"},
  };
  return table;
}

std::string usage() {
  return "usage: bench_harness_noise [options]\n\nThe added delay the harness measures with no "
         "proxy at all (the floor under every\nstream.* verdict).\n\n" +
         options::help_text(flag_table(), 20);
}

} // namespace

int main(int argc, char **argv) {
  noise_flags f;
  if (auto stop = options::parse_main("bench_harness_noise", flag_table(), argc, argv, f, usage, 2))
    return *stop;
  const std::string &list = f.streams;
  const int tokens = f.tokens, gap_ms = f.gap_ms;
  const unsigned mock_threads = f.mock_threads;
  raise_fd_limit();
  mock::server_options opts;
  opts.behaviour.request_policy = *mock::policy_for_profile("ollama");
  opts.threads = mock_threads;
  auto srv = mock::server::start(opts);
  if (!srv) {
    std::fprintf(stderr, "bench_harness_noise: %s\n", srv.message().c_str());
    return 2;
  }
  const std::string base =
      f.url.empty() ? "http://127.0.0.1:" + std::to_string(srv.value()->port()) : f.url;
  const harness::client_http http = f.http == "2"     ? harness::client_http::h2_tls
                                    : f.http == "h2c" ? harness::client_http::h2c
                                                      : harness::client_http::h1;
  std::printf("harness noise floor: %d tokens, %d ms apart, per stream; times in ms\n", tokens,
              gap_ms);
  std::printf("%8s %9s %8s %8s %11s %11s %11s %11s %11s\n", "streams", "complete", "events", "http",
              "offset p50", "offset p99", "jitter p50", "jitter p99", "jitter max");
  for (int n : parse_list(list))
    run(base, http, n, tokens, gap_ms);
  return 0;
}
