// bench_mock_streams: how well does streamcheck-mock keep its timelines under load?
//
// The mock runs as a child process (the streamcheck-mock binary of this build tree), so its RSS
// can be read from /proc/PID/status. This process is the client (bench/support/stream_client):
// one thread, raw non-blocking sockets and epoll, N concurrent POST /api/chat streams over
// HTTP/1.1 on loopback.
//
// Every streamed event carries "streamcheck":{"seq":k,"t_us":T}, T = microseconds since the mock
// read the request. Event k is scheduled at first_token_ms + k * gap_ms, so
//   emission error = T - scheduled            (the mock's own lateness, its clock only)
//   arrival lateness = received - sent - scheduled  (adds loopback, kernel and this client)
//
// Phases: A light load (100 streams, 50 tokens/s), B 1,000 streams at 20 tokens/s, C 10,000
// concurrently open streams at one token per second, with the mock's RSS before, while all are
// open and after they closed. Everything has a deadline; the whole run is bounded.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

#include "bench/support/build_tree.h"
#include "bench/support/proc_stats.h"
#include "bench/support/stream_client.h"
#include "common/child_process.h"
#include "common/clock.h"
#include "common/fd_limit.h"
#include "common/options.h"
#include "harness/process.h"

namespace {

using namespace streamcheck;
using namespace streamcheck::bench;
using std::int64_t;

// ---------------------------------------------------------------------------------------------
// The mock child: streamcheck-mock itself, stopped by pid (and gone with this process).

std::atomic<pid_t> g_mock{-1};

// Last resort if something below misses its own deadline: never outlive the budget.
void on_alarm(int) {
  if (const pid_t mock = g_mock.load(); mock > 0) kill(mock, SIGKILL);
  static const char msg[] = "bench_mock_streams: overall time budget exceeded, aborting\n";
  [[maybe_unused]] auto n = write(2, msg, sizeof msg - 1);
  _exit(3);
}

// streamcheck-mock on an ephemeral port (its --port-file), its policy the binary's default
// (Ollama's); the port, or 0 when it did not start within 10 s.
unsigned short start_mock(child_process &mock, const std::string &binary, unsigned threads,
                          const std::string &dir) {
  const std::string port_file = dir + "/port";
  std::vector<std::string> argv{binary, "--listen", "127.0.0.1:0", "--port-file", port_file};
  if (threads > 0) argv.insert(argv.end(), {"--threads", std::to_string(threads)});
  if (auto started = mock.start({.argv = argv, .log = dir + "/mock.log", .truncate = true});
      !started) {
    std::fprintf(stderr, "bench_mock_streams: %s\n", started.message().c_str());
    return 0;
  }
  g_mock = mock.pid();
  const int64_t deadline = monotonic_us() + 10'000'000;
  while (monotonic_us() < deadline && mock.running()) {
    const std::string text = harness::read_file(port_file);
    if (!text.empty() && text.back() == '\n')
      return static_cast<unsigned short>(std::atoi(text.c_str()));
    usleep(10'000);
  }
  std::fprintf(stderr, "bench_mock_streams: the mock did not start within 10 s:\n%s\n",
               harness::last_lines(harness::read_file(dir + "/mock.log"), 5).c_str());
  return 0;
}

// ---------------------------------------------------------------------------------------------
// The client.

struct phase_spec {
  std::string name;
  int streams = 0;
  int first_token_ms = 0;
  int gap_ms = 0;
  int tokens = 0;
  bool measure_memory = false;

  protocol::scenario timeline() const {
    return {.first_token_ms = first_token_ms, .gap_ms = gap_ms, .tokens = tokens};
  }
};

struct phase_result {
  phase_spec spec;
  int completed = 0;
  int failed = 0;
  int never_opened = 0;
  long long events = 0;
  long long expected_events = 0;
  int max_open = 0;
  std::vector<int64_t> emit_err;   // us
  std::vector<int64_t> arrive_err; // us
  std::vector<int64_t> deliver;    // us: an event's lag above its stream's smallest lag
  std::vector<int64_t> start;      // us: per stream, smallest lag (request read + fastest delivery)
  long rss_before = -1, rss_all_open = -1, rss_after = -1;
  double mock_cpu = 0;
  double wall_s = 0;
  double ramp_s = 0;
  std::string first_failure;
};

// One phase: its streams through the shared client, the mock sampled every 100 ms meanwhile.
class runner {
public:
  runner(const phase_spec &spec, unsigned short port, pid_t mock)
      : spec_(spec), port_(port), mock_(mock) {
    result_.spec = spec;
    result_.expected_events =
        static_cast<long long>(spec.streams) * protocol::emitted_events(spec.timeline());
  }

  phase_result run() {
    stream_plan plan{spec_.name.substr(0, 1), spec_.streams, spec_.timeline()};
    plan.max_connecting = 512;
    plan.no_delay = true;
    result_.rss_before = rss_kib(mock_);
    const double cpu0 = own_cpu_seconds(mock_);
    const int64_t start = monotonic_us();
    const int64_t stream_us = protocol::planned_duration_ms(spec_.timeline()) * 1000;
    // Ramp at ~10 connections per ms; the deadline allows the ramp, the stream and 20 s slack.
    const int64_t deadline = start + spec_.streams * 100 + stream_us + 20'000'000;
    stream_client client(port_, plan);
    int64_t next_sample = start;
    client.pump(
        [&] {
          if (const int64_t t = monotonic_us(); t >= next_sample) {
            next_sample = t + 100'000;
            const int open = client.open_with_events();
            result_.max_open = std::max(result_.max_open, open);
            if (spec_.measure_memory && open == spec_.streams)
              result_.rss_all_open = std::max(result_.rss_all_open, rss_kib(mock_));
          }
          return client.all_ended();
        },
        deadline);
    result_.wall_s = static_cast<double>(monotonic_us() - start) / 1e6;
    if (client.ramp_done_us() > 0)
      result_.ramp_s = static_cast<double>(client.ramp_done_us() - client.ramp_started_us()) / 1e6;
    result_.never_opened = spec_.streams - client.opened();
    client.finish();
    for (const auto &s : client.streams())
      add_stream(s);
    result_.first_failure = client.first_failure();
    result_.mock_cpu = own_cpu_seconds(mock_) - cpu0;
    if (spec_.measure_memory) {
      usleep(300'000); // let the mock notice the closes
      result_.rss_after = rss_kib(mock_);
    }
    return std::move(result_);
  }

private:
  // Event k is scheduled at emission_us(k) after the mock read the request.
  void add_stream(const stream_state &s) {
    s.complete ? ++result_.completed : ++result_.failed;
    result_.events += static_cast<long long>(s.events.size());
    std::vector<int64_t> lag; // received - sent - t_us: the stream's constant + delivery
    const protocol::scenario timeline = spec_.timeline();
    for (const auto &e : s.events) {
      const int64_t scheduled = protocol::emission_us(timeline, e.seq);
      result_.emit_err.push_back(e.t_us - scheduled);
      result_.arrive_err.push_back(e.arrival_us - s.sent_us - scheduled);
      lag.push_back(e.arrival_us - s.sent_us - e.t_us);
    }
    if (lag.empty()) return;
    const int64_t best = *std::min_element(lag.begin(), lag.end());
    result_.start.push_back(best);
    for (const auto l : lag)
      result_.deliver.push_back(l - best);
  }

  phase_spec spec_;
  unsigned short port_;
  pid_t mock_;
  phase_result result_;
};

// ---------------------------------------------------------------------------------------------
// Reporting.

struct pct {
  int64_t p50 = 0, p99 = 0, p999 = 0, max = 0;
  bool any = false;
};

pct percentiles(std::vector<int64_t> v) {
  pct r;
  if (v.empty()) return r;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    const auto idx = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(idx, v.size() - 1)];
  };
  r.p50 = at(0.50);
  r.p99 = at(0.99);
  r.p999 = at(0.999);
  r.max = v.back();
  r.any = true;
  return r;
}

void print_phase(const phase_result &r) {
  const auto &p = r.spec;
  std::printf("%s: %d streams x %d tokens, %d ms apart (%.0f/s), first token at %d ms\n",
              p.name.c_str(), p.streams, p.tokens, p.gap_ms, p.gap_ms ? 1000.0 / p.gap_ms : 0.0,
              p.first_token_ms);
  std::printf("  completed %d/%d, failed %d, events %lld/%lld; connect ramp %.2f s, wall %.1f s, "
              "mock CPU %.0f%% of one core\n",
              r.completed, p.streams, r.failed, r.events, r.expected_events, r.ramp_s, r.wall_s,
              r.wall_s > 0 ? 100.0 * r.mock_cpu / r.wall_s : 0.0);
  if (r.failed > 0)
    std::printf("  FAILED: %d stream(s), %d never opened before the deadline; first: %s\n",
                r.failed, r.never_opened, r.first_failure.c_str());
  std::printf("  %-44s %8s %8s %8s %8s\n", "microseconds", "p50", "p99", "p99.9", "max");
  auto row = [](const char *label, const std::vector<int64_t> &v) {
    const pct q = percentiles(v);
    if (!q.any) return (void)std::printf("  %-44s %8s\n", label, "-");
    std::printf("  %-44s %8lld %8lld %8lld %8lld\n", label, static_cast<long long>(q.p50),
                static_cast<long long>(q.p99), static_cast<long long>(q.p999),
                static_cast<long long>(q.max));
  };
  row("emission error (stamp - schedule, mock clock)", r.emit_err);
  row("delivery (lag above the stream's best event)", r.deliver);
  row("arrival lateness (recv - sent - schedule)", r.arrive_err);
  row("stream start (request read + best delivery)", r.start);
}

struct stream_flags {
  int streams = 10'000;
  int seconds = 10;
  bool quick = false;
  std::string only = "ACB";
  bool streams_set = false;
  bool seconds_set = false;
  unsigned threads = 0;
};

const std::vector<streamcheck::options::option<stream_flags>> &flag_table() {
  namespace o = streamcheck::options;
  using f = stream_flags;
  static const std::vector<o::option<f>> table = {
      {"streams", "N",
       "concurrent streams in phase C (needs ~N+64 descriptors per process: the program raises "
       "RLIMIT_NOFILE to the hard limit, else ulimit -Hn)",
       [](f &x, const std::string &v) {
         x.streams_set = true;
         return o::integer_in(
             [](f & y) -> auto & { return y.streams; }, 1, 100'000)(x, v);
       },
       "10000"},
      {"seconds", "S", "duration of phases B and C (1..60)",
       [](f &x, const std::string &v) {
         x.seconds_set = true;
         return o::integer_in(
             [](f & y) -> auto & { return y.seconds; }, 1, 60)(x, v);
       },
       "10"},
      {"quick", "", "small and short: A 50 x 1 s, B 200 x 2 s, C 1000 x 3 s",
       o::set_true([](f & x) -> auto & { return x.quick; }), "", o::takes::nothing},
      {"threads", "T", "mock event loops",
       o::integer_in(
           [](f & x) -> auto & { return x.threads; }, 1, 256),
       "one per core, as streamcheck-mock"},
      {"only", "LIST", "run only these phases, e.g. --only B or --only AC",
       [](f &x, const std::string &v) -> o::problem {
         if (v.empty() || v.find_first_not_of("ABC") != std::string::npos)
           return o::expected("letters from ABC", v);
         x.only = v;
         return std::nullopt;
       }},
  };
  return table;
}

std::string usage() {
  return R"(usage: bench_mock_streams [--streams N] [--seconds S] [--quick] [--threads T]

Measures streamcheck-mock (run in a forked child) with N concurrent HTTP/1.1 /api/chat streams
over loopback:
  A  light load: 100 streams, 50 tokens/s, 2 s (timing baseline)
  B  1,000 streams x 20 tokens/s for S seconds (emission timing error at a thousand streams)
  C  N streams (default 10,000) x 1 token/s held open S seconds (all must stay open), with the
     mock's RSS before / while all are open / after, per stream

)" + streamcheck::options::help_text(flag_table(), 16) +
         R"(
Emission error = the event's own t_us stamp minus its scheduled time (mock clock only).
Arrival lateness = receive time minus request-sent time minus scheduled time (this client's
clock; includes loopback and client scheduling). Figures in microseconds.
)";
}

} // namespace

int main(int argc, char **argv) {
  stream_flags flags;
  if (auto stop = streamcheck::options::parse_main("bench_mock_streams", flag_table(), argc, argv,
                                                   flags, usage, 2))
    return *stop;
  int streams = flags.streams;
  int seconds = flags.seconds;
  const bool quick = flags.quick;
  const std::string only = flags.only;
  const bool streams_set = flags.streams_set, seconds_set = flags.seconds_set;
  const unsigned threads = flags.threads;
  if (quick) {
    if (!streams_set) streams = 1000;
    if (!seconds_set) seconds = 3;
  }

  std::signal(SIGPIPE, SIG_IGN);
  const rlim_t nofile = raise_fd_limit();
  if (static_cast<rlim_t>(streams) + 64 > nofile) {
    const int fit = static_cast<int>(nofile) - 64;
    std::printf("note: RLIMIT_NOFILE is %llu; %d streams need %d descriptors per process. "
                "Running %d; raise it with `ulimit -Hn %d` (as root) for the full count.\n",
                static_cast<unsigned long long>(nofile), streams, streams + 64, fit, streams + 64);
    streams = std::max(1, fit);
  }

  std::vector<phase_spec> phases;
  phases.push_back({"A light load", quick ? 50 : 100, 50, 20, quick ? 50 : 100, false});
  phases.push_back({"C hold open", streams, 500, 1000, seconds, true});
  phases.push_back({"B 1k x 20/s", quick ? 200 : 1000, 100, 50, seconds * 20, false});
  std::erase_if(phases,
                [&](const phase_spec &p) { return only.find(p.name[0]) == std::string::npos; });

  // Budget: the phases' own lengths plus ramps plus slack; then a hard stop.
  int64_t budget_s = 30;
  for (const auto &p : phases)
    budget_s += protocol::planned_duration_ms(p.timeline()) / 1000 + p.streams / 10'000 + 3;
  std::signal(SIGALRM, on_alarm);
  alarm(static_cast<unsigned>(budget_s));

  const std::string mock_binary = build_tree_binary("mock_upstream/streamcheck-mock");
  char dir_pattern[] = "/tmp/bench-mock-streams-XXXXXX";
  if (!mkdtemp(dir_pattern)) {
    std::fprintf(stderr, "bench_mock_streams: cannot create a temp directory in /tmp\n");
    return 1;
  }
  const std::string dir = dir_pattern;
  child_process mock;
  const unsigned short mock_port = start_mock(mock, mock_binary, threads, dir);
  if (mock_port == 0) return 1;
  std::printf(
      "bench_mock_streams: mock pid %d on 127.0.0.1:%u, %s event loop(s); client: 1 thread, "
      "epoll; RLIMIT_NOFILE %llu; %ld cores; budget %llds\n",
      static_cast<int>(mock.pid()), mock_port,
      threads ? std::to_string(threads).c_str() : "one-per-core",
      static_cast<unsigned long long>(nofile), sysconf(_SC_NPROCESSORS_ONLN),
      static_cast<long long>(budget_s));
  std::fflush(stdout);

  const std::string load_before = loadavg();
  std::vector<phase_result> results;
  for (const auto &spec : phases) {
    std::printf("running %s: %d streams, first token %d ms, gap %d ms, %d tokens ...\n",
                spec.name.c_str(), spec.streams, spec.first_token_ms, spec.gap_ms, spec.tokens);
    std::fflush(stdout);
    runner r(spec, mock_port, mock.pid());
    results.push_back(r.run());
    const auto &res = results.back();
    if (res.failed > 0)
      std::printf("  %d stream(s) failed; first: %s\n", res.failed, res.first_failure.c_str());
    usleep(200'000);
  }
  mock.stop(std::chrono::seconds(5));
  g_mock = -1;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  const std::string load_after = loadavg();

  std::printf("\n");
  for (const auto &r : results) {
    print_phase(r);
    std::printf("\n");
  }

  std::printf("Memory (mock child VmRSS):\n");
  for (const auto &r : results) {
    if (!r.spec.measure_memory) continue;
    std::printf("  %s, %d streams (ramp %.2f s, max %d open at once):\n", r.spec.name.c_str(),
                r.spec.streams, r.ramp_s, r.max_open);
    std::printf("    before %ld KiB, all open %ld KiB, after close %ld KiB\n", r.rss_before,
                r.rss_all_open, r.rss_after);
    if (r.rss_all_open > 0 && r.spec.streams > 0) {
      std::printf("    per open stream: %.2f KiB  (includes its journal entry)\n",
                  static_cast<double>(r.rss_all_open - r.rss_before) / r.spec.streams);
      std::printf(
          "    still held after all closed: %.2f KiB per request (journal entries are kept; "
          "freed memory stays in malloc's arenas)\n",
          static_cast<double>(r.rss_after - r.rss_before) / r.spec.streams);
    } else {
      std::printf("    the %d streams were never all open at once; no per-stream figure\n",
                  r.spec.streams);
    }
  }
  bool ok = true;
  for (const auto &r : results)
    ok = ok && r.failed == 0 && r.completed == r.spec.streams;
  std::printf("\nload average (1/5/15 min): %s at start, %s at end, on %ld cores\n",
              load_before.c_str(), load_after.c_str(), sysconf(_SC_NPROCESSORS_ONLN));
  std::printf("\n%s\n", ok ? "result: all streams completed with every event"
                           : "result: SOME STREAMS FAILED (see above)");
  return ok ? 0 : 1;
}
