// bench_proxy_latency: the latency a relay adds to every streamed event (p50/p99/max) and the
// memory it holds per open stream, at 1, 100 and 1,000 concurrent streams, for streamcheck-proxy
// and nginx with the recommended config (nginx/ollama.conf) in the same run, with a plain TCP
// relay (socat, one forked process per connection) as the floor any HTTP proxy is held against
// and no relay at all (the floor of this client and the mock).
//
// Reproduce (repo root; about 1.5 minutes on 2 cores):
//   cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
//   cmake --build build --target bench_proxy_latency streamcheck-proxy
//   build/bench/bench_proxy_latency --streams 1,100,1000
// Needs nginx and socat on PATH (a missing one is reported as skipped); the proxy is taken from
// the build tree next to this program (--proxy-bin overrides). The figures are only as good as
// the CPU the relays got: the run ends with how much of the machine other processes used.
//
// How it measures:
//  - The upstream is the mock library in this process (one event loop by default). Every event
//    line carries "streamcheck":{"seq":S,"t_us":T}, T = µs since the mock finished reading the
//    request; the mock's journal holds that moment on the monotonic clock (received_us +
//    body_us). CLOCK_MONOTONIC is system-wide, so emission = t0 + T is directly comparable with
//    the arrival time this client takes right after each recv(), whichever process relayed it,
//    and connection setup is outside the figure. Added latency = arrival - emission; the direct
//    row is the loopback + client + mock floor.
//  - The client is one thread with epoll and raw non-blocking sockets: one HTTP/1.1 POST
//    /api/chat per connection (Connection: close), chunked, length or close-delimited bodies.
//    The N latency streams start spread evenly over one token gap, so the relay carries a steady
//    N / gap events per second; started together, they would leave the mock in lockstep and the
//    percentiles would measure how deep that burst queues instead.
//  - Stream count by stream count, each relay in turn on a fresh instance; --rounds times (3),
//    every other round in reverse relay order, so a machine that gets busier or quieter during
//    the run favours no relay. Latency percentiles are over the events of all rounds.
//  - Memory: on the fresh instance, after 8 concurrent warm-up streams (every worker has served
//    something), VmRSS is summed over the relay's process tree (nginx: master + workers; socat:
//    the listener + its forked children); then N streams are opened that stall after their first
//    event, and once every one has delivered it the sum is read again: (open - idle) / N, the
//    median of the rounds. A fresh instance because a heap that already served 1,000 streams
//    would serve the next 1,000 from freed memory and hide the cost. PSS (smaps_rollup) is shown
//    too: socat's children share most pages with the listener, which VmRSS counts again for
//    every process. Kernel socket buffers are in neither figure. At 1 stream the figure is
//    whole pages or nothing: a worker's first allocation of some size, or a free-list hit.
//  - Relay CPU per event: the relay's processes' scheduler run time while the latency streams
//    ran, over the events (per-stream work such as accept and upstream connect included).
//  - Relays run as child processes on ephemeral loopback ports and are stopped by pid (SIGTERM,
//    waitpid with a deadline, SIGKILL last). Every wait has a deadline.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <vector>

#include "bench/support/build_tree.h"
#include "bench/support/proc_stats.h"
#include "bench/support/relays.h"
#include "bench/support/stream_client.h"
#include "common/clock.h"
#include "common/fd_limit.h"
#include "common/options.h"
#include "common/result.h"
#include "harness/process.h"
#include "harness/timing.h"
#include "mock_upstream/server.h"

#ifndef STREAMCHECK_SOURCE_DIR
#define STREAMCHECK_SOURCE_DIR "."
#endif

using namespace streamcheck;

namespace {

using namespace bench;
using std::int64_t;
using namespace std::chrono_literals;

constexpr int exit_setup_error = 2;

void sleep_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

std::vector<std::string> split(const std::string &text, char sep) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, sep);)
    if (!item.empty()) out.push_back(item);
  return out;
}

bool executable(const std::string &path) {
  return !path.empty() && access(path.c_str(), X_OK) == 0;
}

std::string find_on_path(const std::string &name) {
  if (const char *path = std::getenv("PATH"))
    for (const auto &dir : split(path, ':'))
      if (executable(dir + "/" + name)) return dir + "/" + name;
  return "";
}

// The relay's process group is killed if the run overstays its budget.
extern "C" void on_watchdog(int) {
  const pid_t group = running_relay_group();
  if (group > 0) kill(-group, SIGKILL);
  static const char msg[] = "bench_proxy_latency: overall time budget exceeded, aborting\n";
  [[maybe_unused]] auto n = write(2, msg, sizeof msg - 1);
  _exit(exit_setup_error);
}

// ---------------------------------------------------------------------------------------------
// Workloads.

struct bench_options {
  std::vector<int> stream_counts{1, 100, 1000};
  int tokens = 40;
  int gap_ms = 50;
  int first_token_ms = 50;
  std::vector<std::string> only{"direct", "socat", "nginx", "proxy"};
  std::string nginx_binary;
  std::string nginx_conf = std::string(STREAMCHECK_SOURCE_DIR) + "/nginx/ollama.conf";
  std::string proxy_binary; // default: next to this program in the build tree
  int proxy_threads = 0;    // default: one per core, as nginx's worker_processes auto
  unsigned mock_threads = 1;
  int rounds = 3;
  bool verbose = false;
};

// One or more latency runs of a (relay, streams) pair, pooled: percentiles over every event.
struct latency_figures {
  int runs = 0;
  int streams = 0; // over all runs
  int complete = 0;
  long long events = 0;
  long long expected = 0;
  long long unmatched = 0; // events of streams the journal does not know (never expected)
  std::vector<double> added_ms;
  double relay_cpu_s = -1; // CPU time of the relay's processes while the streams ran; -1: none
  std::string first_failure;

  void add(latency_figures run) {
    if (run.relay_cpu_s >= 0) relay_cpu_s = std::max(relay_cpu_s, 0.0) + run.relay_cpu_s;
    runs += run.runs;
    streams += run.streams;
    complete += run.complete;
    events += run.events;
    expected += run.expected;
    unmatched += run.unmatched;
    added_ms.insert(added_ms.end(), run.added_ms.begin(), run.added_ms.end());
    if (first_failure.empty()) first_failure = std::move(run.first_failure);
  }
  double percentile(double p) const { return harness::percentile(added_ms, p); }
  double max() const {
    return added_ms.empty() ? 0 : *std::max_element(added_ms.begin(), added_ms.end());
  }
};

struct memory_figures {
  int streams = 0;
  int held_open = 0;
  tree_memory idle, with_streams;
  bool all_closed_upstream = true;
  double rss_per_stream_kib() const {
    return held_open ? static_cast<double>(with_streams.rss_kib - idle.rss_kib) / held_open : 0;
  }
  double pss_per_stream_kib() const {
    return held_open ? static_cast<double>(with_streams.pss_kib - idle.pss_kib) / held_open : 0;
  }
};

double median(std::vector<double> v) {
  return harness::percentile(std::move(v), 50);
}

// Everything measured for one relay at one stream count, over all rounds.
struct row {
  std::string relay;
  int streams = 0;
  std::string error; // the first round's setup problem, if any
  latency_figures latency;
  std::vector<memory_figures> memory; // one per round that measured it

  bool ran() const { return latency.runs > 0; }
  std::vector<const memory_figures *> memory_measured() const {
    std::vector<const memory_figures *> out;
    for (const auto &m : memory)
      if (m.held_open > 0) out.push_back(&m);
    return out;
  }
  bool has_memory() const { return !memory_measured().empty(); }
  // The median over rounds: a heap's growth comes in steps, one round can land on one.
  double rss_per_stream_kib() const {
    std::vector<double> v;
    for (const auto *m : memory_measured())
      v.push_back(m->rss_per_stream_kib());
    return median(v);
  }
  double pss_per_stream_kib() const {
    std::vector<double> v;
    for (const auto *m : memory_measured())
      v.push_back(m->pss_per_stream_kib());
    return median(v);
  }
};

protocol::scenario measured_timeline(const bench_options &o) {
  return {.first_token_ms = o.first_token_ms, .gap_ms = o.gap_ms, .tokens = o.tokens};
}

// Journal: correlation id -> the moment (monotonic µs) the mock finished reading the request,
// the zero of every t_us stamp in that response.
std::unordered_map<std::string, int64_t> request_t0_by_id(mock::server &mock,
                                                          const std::string &prefix) {
  std::unordered_map<std::string, int64_t> t0;
  for (const auto &e : mock.requests().entries("", 0, prefix))
    t0.emplace(e.id, e.received_us + e.body_us);
  return t0;
}

int streams_still_open_at_mock(mock::server &mock, const std::string &prefix) {
  int open = 0;
  for (const auto &e : mock.requests().entries("", 0, prefix))
    open += e.outcome == protocol::stream_end::in_progress;
  return open;
}

// Short concurrent streams through a fresh relay: prove the path works, and let every worker
// process or thread allocate its per-worker state (a malloc arena, buffers kept for reuse) before
// the idle memory is read, so that the first stream a worker serves is not charged for it. Which
// nginx worker accepts is the kernel's choice, hence several batches; at most 8 at once, because
// the memory they free is what the measured streams reuse first.
std::string warm_up(unsigned short port, const std::string &prefix) {
  constexpr int batches = 4, streams = 8;
  for (int batch = 0; batch < batches; ++batch) {
    stream_plan plan{prefix + "warm" + std::to_string(batch) + "-",
                     streams,
                     {.first_token_ms = 0, .gap_ms = 5, .tokens = 3}};
    stream_client client(port, plan);
    client.pump([&] { return client.all_ended(); }, monotonic_us() + 10'000'000);
    client.finish();
    for (const auto &s : client.streams())
      if (!s.complete) return "warm-up stream failed: " + client.first_failure();
  }
  return "";
}

constexpr int hold_stall_ms = 30'000; // longer than any hold below; closing ends it early

memory_figures measure_memory(unsigned short port, pid_t relay_pid, int streams, mock::server &mock,
                              const std::string &prefix) {
  memory_figures m;
  m.streams = streams;
  m.idle = memory_of_tree(relay_pid);
  // First event at 10 ms, then a stall before the second: each stream is open and has carried
  // a response through the relay, which holds whatever it holds for an open stream.
  stream_plan plan{
      prefix,
      streams,
      {.first_token_ms = 10, .gap_ms = 10, .tokens = 2, .stall_at = 1, .stall_ms = hold_stall_ms}};
  {
    stream_client client(port, plan);
    const int64_t deadline = monotonic_us() + streams * 200LL + 15'000'000;
    client.pump([&] { return client.settled() >= streams; }, deadline);
    client.pump([] { return false; }, monotonic_us() + 300'000); // let lazy allocations land
    m.held_open = client.open_with_events();
    m.with_streams = memory_of_tree(relay_pid);
    client.close_all();
  }
  // The next workload must not share the machine with streams the relay failed to cancel.
  const int64_t deadline = monotonic_us() + 10'000'000;
  while (streams_still_open_at_mock(mock, prefix) > 0 && monotonic_us() < deadline)
    sleep_ms(50);
  m.all_closed_upstream = streams_still_open_at_mock(mock, prefix) == 0;
  return m;
}

latency_figures measure_latency(unsigned short port, pid_t relay_pid, int streams,
                                const bench_options &o, mock::server &mock,
                                const std::string &prefix) {
  latency_figures f;
  f.runs = 1;
  f.streams = streams;
  const protocol::scenario timeline = measured_timeline(o);
  f.expected = static_cast<long long>(streams) * protocol::emitted_events(timeline);
  stream_plan plan{prefix, streams, timeline, static_cast<int64_t>(o.gap_ms) * 1000};
  stream_client client(port, plan);
  const double cpu_before = relay_pid > 0 ? tree_cpu_seconds(relay_pid) : 0;
  const int64_t deadline = monotonic_us() + streams * 200LL +
                           protocol::planned_duration_ms(timeline) * 1000 + 15'000'000;
  client.pump([&] { return client.all_ended(); }, deadline);
  client.finish();
  if (relay_pid > 0) f.relay_cpu_s = tree_cpu_seconds(relay_pid) - cpu_before;

  const auto t0 = request_t0_by_id(mock, prefix);
  auto &added_ms = f.added_ms;
  added_ms.reserve(static_cast<std::size_t>(f.expected));
  for (std::size_t i = 0; i < client.streams().size(); ++i) {
    const auto &s = client.streams()[i];
    f.complete += s.complete;
    const auto known = t0.find(prefix + std::to_string(i));
    if (known == t0.end()) {
      f.unmatched += static_cast<long long>(s.events.size());
      continue;
    }
    for (const auto &e : s.events)
      added_ms.push_back(static_cast<double>(e.arrival_us - (known->second + e.t_us)) / 1000.0);
  }
  f.events = static_cast<long long>(added_ms.size()) + f.unmatched;
  f.first_failure = client.first_failure();
  return f;
}

// socat's children of the warm-up connections exit on their own shortly after; the idle reading
// must not include them (nor the next reading miss them).
void wait_for_tree_size(pid_t root, std::size_t processes, std::chrono::milliseconds deadline) {
  const auto end = mono_clock::now() + deadline;
  while (process_tree(root).size() > processes && mono_clock::now() < end)
    sleep_ms(20);
}

// One workload on a fresh instance of the relay: memory first (on a heap that has served
// nothing but the warm-up), then latency. Adds what it measured to `out`.
void run_workload(relay &r, int streams, int round, mock::server &mock, const bench_options &o,
                  row &out) {
  const std::string prefix =
      "b" + std::to_string(round) + "-" + r.name() + "-" + std::to_string(streams) + "-";
  auto port = r.start();
  if (!port) {
    if (out.error.empty()) out.error = "cannot start: " + port.message();
    return;
  }
  const std::size_t processes_at_start = r.pid() > 0 ? process_tree(r.pid()).size() : 0;
  std::string problem = warm_up(*port, prefix);
  if (problem.empty() && r.pid() > 0) wait_for_tree_size(r.pid(), processes_at_start, 3s);
  if (problem.empty()) {
    if (r.pid() > 0)
      out.memory.push_back(measure_memory(*port, r.pid(), streams, mock, prefix + "m"));
    auto latency = measure_latency(*port, r.pid(), streams, o, mock, prefix + "l");
    if (auto *ng = dynamic_cast<nginx_relay *>(&r); ng && !latency.first_failure.empty())
      problem = "nginx's error log:" + ng->error_log_tail();
    out.latency.add(std::move(latency));
  }
  if (out.error.empty()) out.error = problem;
  r.stop();
}

// Stream count by stream count, every relay in turn, so that the relays compared with each other
// run minutes apart at most; every other round in reverse order, so a machine that gets busier
// or quieter during the run does not favour whichever relay comes first.
std::vector<row> run_all(const std::vector<relay *> &relays, mock::server &mock,
                         const bench_options &o) {
  std::vector<row> rows;
  for (int n : o.stream_counts)
    for (const relay *r : relays)
      rows.push_back(row{r->name(), n, "", {}, {}});
  for (int round = 1; round <= o.rounds; ++round) {
    std::vector<std::size_t> order(relays.size());
    for (std::size_t i = 0; i < order.size(); ++i)
      order[i] = round % 2 ? i : order.size() - 1 - i;
    for (std::size_t k = 0; k < o.stream_counts.size(); ++k) {
      std::printf("  round %d/%d, %d stream(s):", round, o.rounds, o.stream_counts[k]);
      for (std::size_t i : order) {
        std::printf(" %s", relays[i]->name().c_str());
        std::fflush(stdout);
        run_workload(*relays[i], o.stream_counts[k], round, mock, o, rows[k * relays.size() + i]);
      }
      std::printf("\n");
    }
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Report.

void print_row_notes(const row &r, bool verbose) {
  const auto &l = r.latency;
  if (!l.first_failure.empty()) std::printf("        first failure: %s\n", l.first_failure.c_str());
  if (l.unmatched > 0)
    std::printf("        %lld events of streams missing from the mock's journal (not in the "
                "percentiles)\n",
                l.unmatched);
  for (std::size_t i = 0; verbose && i < r.memory.size(); ++i) {
    const auto &m = r.memory[i];
    std::printf("        memory, round %zu: idle %ld KiB RSS / %ld KiB PSS in %d process(es); "
                "%d streams open: %ld / %ld KiB in %d\n",
                i + 1, m.idle.rss_kib, m.idle.pss_kib, m.idle.processes, m.held_open,
                m.with_streams.rss_kib, m.with_streams.pss_kib, m.with_streams.processes);
  }
  for (const auto &m : r.memory) {
    if (m.held_open < m.streams)
      std::printf("        memory: in one round only %d of %d streams were open at once; per "
                  "stream of those\n",
                  m.held_open, m.streams);
    if (!m.all_closed_upstream)
      std::printf("        memory: upstream streams still open 10 s after the client closed "
                  "(the relay did not cancel them)\n");
  }
  if (!r.error.empty()) std::printf("        %s\n", r.error.c_str());
}

void print_table(const std::vector<row> &rows, const bench_options &o) {
  std::printf("\nadded latency per event = arrival at the client - emission at the mock; "
              "percentiles over every event of %d round(s)\n",
              o.rounds);
  std::printf("memory per open stream = (sum over the relay's processes with N streams open - "
              "idle) / N; median of the rounds\n");
  std::printf("relay CPU per event = the relay's processes' CPU time while the latency streams ran "
              "/ events\n");
  std::printf("\n%-7s %7s %9s %9s %9s %13s %11s %11s %11s %10s\n", "relay", "streams", "p50 ms",
              "p99 ms", "max ms", "events", "complete", "RSS KiB/st", "PSS KiB/st", "CPU us/ev");
  int last_streams = -1;
  for (const auto &r : rows) {
    if (last_streams != -1 && r.streams != last_streams) std::printf("\n");
    last_streams = r.streams;
    std::printf("%-7s %7d ", r.relay.c_str(), r.streams);
    if (!r.ran()) {
      std::printf("error: %s\n", r.error.c_str());
      continue;
    }
    const auto &l = r.latency;
    const std::string events = std::to_string(l.events) + "/" + std::to_string(l.expected);
    const std::string complete = std::to_string(l.complete) + "/" + std::to_string(l.streams);
    std::printf("%9.3f %9.3f %9.3f %13s %11s ", l.percentile(50), l.percentile(99), l.max(),
                events.c_str(), complete.c_str());
    if (r.has_memory())
      std::printf("%11.1f %11.1f ", r.rss_per_stream_kib(), r.pss_per_stream_kib());
    else
      std::printf("%11s %11s ", "-", "-");
    if (l.relay_cpu_s >= 0 && l.events > 0)
      std::printf("%10.1f\n", l.relay_cpu_s * 1e6 / static_cast<double>(l.events));
    else
      std::printf("%10s\n", "-");
    print_row_notes(r, o.verbose);
  }
}

const row *find_row(const std::vector<row> &rows, const std::string &relay, int streams) {
  for (const auto &r : rows)
    if (r.relay == relay && r.streams == streams && r.ran()) return &r;
  return nullptr;
}

void print_comparison(const std::vector<row> &rows, const bench_options &o) {
  std::printf("\nstreamcheck-proxy vs nginx (target: at or below nginx on every figure):\n");
  int compared = 0, met = 0;
  auto line = [&](const std::string &figure, int n, double proxy, double nginx, const char *unit) {
    const bool ok = proxy <= nginx;
    ++compared;
    met += ok;
    const std::string label = figure + ", " + std::to_string(n) + (n == 1 ? " stream" : " streams");
    std::printf("  %-36s proxy %9.3f %s  nginx %9.3f %s  %s\n", label.c_str(), proxy, unit, nginx,
                unit, ok ? "at or below nginx" : "ABOVE nginx");
  };
  for (int n : o.stream_counts) {
    const row *proxy = find_row(rows, "proxy", n);
    const row *nginx = find_row(rows, "nginx", n);
    if (!proxy || !nginx) {
      std::printf("  %d stream(s): not compared (%s did not run)\n", n,
                  !proxy && !nginx ? "streamcheck-proxy and nginx"
                                   : (!proxy ? "streamcheck-proxy" : "nginx"));
      continue;
    }
    line("added latency p50", n, proxy->latency.percentile(50), nginx->latency.percentile(50),
         "ms ");
    line("added latency p99", n, proxy->latency.percentile(99), nginx->latency.percentile(99),
         "ms ");
    if (proxy->has_memory() && nginx->has_memory())
      line("RSS per open stream", n, proxy->rss_per_stream_kib(), nginx->rss_per_stream_kib(),
           "KiB");
    if (proxy->latency.complete < proxy->latency.streams ||
        nginx->latency.complete < nginx->latency.streams)
      std::printf("  %d stream(s): not every stream completed (proxy %d/%d, nginx %d/%d): the "
                  "figures above cover the events that arrived\n",
                  n, proxy->latency.complete, proxy->latency.streams, nginx->latency.complete,
                  nginx->latency.streams);
  }
  if (compared > 0) std::printf("  => %d of %d figures at or below nginx\n", met, compared);
}

// ---------------------------------------------------------------------------------------------
// Options and main.

// "1,100,1000" as counts in [lo, hi]; nullopt for an empty list or a bad item.
std::optional<std::vector<int>> count_list(const std::string &text, int lo, int hi) {
  std::vector<int> out;
  for (const auto &item : split(text, ',')) {
    const auto n = options::parse_integer(item, lo, hi);
    if (!n) return std::nullopt;
    out.push_back(static_cast<int>(*n));
  }
  if (out.empty()) return std::nullopt;
  return out;
}

struct latency_flags {
  bench_options o;
  bool tokens_set = false, quick = false;
};

const std::vector<options::option<latency_flags>> &flag_table() {
  using f = latency_flags;
  namespace op = options;
  static const std::vector<op::option<f>> table = {
      {"streams", "LIST", "concurrent streams per workload",
       [](f &x, const std::string &v) -> op::problem {
         auto counts = count_list(v, 1, 5000);
         if (!counts) return op::expected("counts in [1, 5000]", v);
         x.o.stream_counts = *counts;
         return std::nullopt;
       },
       "1,100,1000"},
      {"tokens", "N", "tokens per stream",
       [](f &x, const std::string &v) {
         x.tokens_set = true;
         return op::integer_in(
             [](f & y) -> auto & { return y.o.tokens; }, 1, 10'000)(x, v);
       },
       "40; --quick: 10"},
      {"gap-ms", "N", "between tokens",
       op::integer_in(
           [](f & x) -> auto & { return x.o.gap_ms; }, 1, 10'000),
       "50"},
      {"first-token-ms", "N", "before the first token",
       op::integer_in(
           [](f & x) -> auto & { return x.o.first_token_ms; }, 0, 60'000),
       "50"},
      {"only", "LIST", "relays to run, from direct,socat,nginx,proxy",
       [](f &x, const std::string &v) -> op::problem {
         auto names = split(v, ',');
         for (const auto &name : names)
           if (!op::one_of(name, {"direct", "socat", "nginx", "proxy"}))
             return op::expected("names from direct,socat,nginx,proxy", v);
         if (names.empty()) return op::expected("at least one relay", v);
         x.o.only = names;
         return std::nullopt;
       },
       "all"},
      {"quick", "", "a smoke run: 10 tokens per stream",
       op::set_true([](f & x) -> auto & { return x.quick; }), "", op::takes::nothing},
      {"nginx", "PATH", "nginx binary", op::store([](f & x) -> auto & { return x.o.nginx_binary; }),
       "nginx on PATH, /usr/sbin/nginx"},
      {"nginx-conf", "PATH", "config to run nginx with",
       op::store([](f & x) -> auto & { return x.o.nginx_conf; }), "the repo's nginx/ollama.conf"},
      {"proxy-bin", "PATH", "streamcheck-proxy",
       op::store([](f & x) -> auto & { return x.o.proxy_binary; }),
       "../reference_proxy/streamcheck-proxy next to this program's directory in the build "
       "tree"},
      {"proxy-threads", "N", "its --threads",
       op::integer_in(
           [](f & x) -> auto & { return x.o.proxy_threads; }, 1, 256),
       "one per core, as nginx's worker_processes auto"},
      {"rounds", "N",
       "repeat every workload N times, every other round in reverse relay order; latency pooled "
       "over all rounds, memory the median",
       op::integer_in(
           [](f & x) -> auto & { return x.o.rounds; }, 1, 20),
       "3"},
      {"mock-threads", "N", "the in-process mock's event loops",
       op::integer_in(
           [](f & x) -> auto & { return x.o.mock_threads; }, 1, 256),
       "1"},
      {"verbose", "", "also print every round's memory readings",
       op::set_true([](f & x) -> auto & { return x.o.verbose; }), "", op::takes::nothing},
  };
  return table;
}

std::string usage() {
  return R"(usage: bench_proxy_latency [options]

Added latency per event (p50/p99/max) and memory per open stream at several concurrency levels,
for no relay (the floor), socat (a plain TCP relay), nginx with the recommended config and
streamcheck-proxy, in one run against an in-process mock Ollama.

)" + options::help_text(flag_table(), 23) +
         R"(
Exit: 0 when the run completed (whether or not the proxy met its target), 2 on a setup error.
)";
}

std::optional<bench_options> parse_options(int argc, char **argv, int &exit_code) {
  latency_flags flags;
  const auto stop = options::parse_main("bench_proxy_latency", flag_table(), argc, argv, flags,
                                        usage, exit_setup_error);
  exit_code = stop.value_or(0);
  if (stop) return std::nullopt;
  bench_options &o = flags.o;
  if (flags.quick && !flags.tokens_set) o.tokens = 10;
  if (o.proxy_binary.empty())
    o.proxy_binary = build_tree_binary("reference_proxy/streamcheck-proxy");
  if (o.proxy_threads == 0) o.proxy_threads = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  return o;
}

bool wanted(const bench_options &o, const std::string &name) {
  return std::find(o.only.begin(), o.only.end(), name) != o.only.end();
}

// A bound for the watchdog: every workload's own deadlines plus starts and stops.
unsigned time_budget_s(const bench_options &o) {
  int64_t us = 30'000'000;
  for (int n : o.stream_counts)
    us += o.rounds * 4 *
          (2 * (n * 200LL + 15'000'000) +
           protocol::planned_duration_ms(measured_timeline(o)) * 1000 + 60'000'000);
  return static_cast<unsigned>(us / 1'000'000);
}

struct temp_dir {
  std::string path;
  temp_dir() {
    char pattern[] = "/tmp/bench-proxy-latency-XXXXXX";
    if (mkdtemp(pattern)) path = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};

} // namespace

int main(int argc, char **argv) {
  int exit_code = 0;
  const auto parsed = parse_options(argc, argv, exit_code);
  if (!parsed) return exit_code;
  const bench_options &o = *parsed;

  std::signal(SIGPIPE, SIG_IGN);
  const rlim_t nofile = raise_fd_limit();
  const int most = *std::max_element(o.stream_counts.begin(), o.stream_counts.end());
  if (static_cast<rlim_t>(most) * 2 + 64 > nofile) {
    std::fprintf(stderr,
                 "bench_proxy_latency: %d streams need %d descriptors (client + in-process mock), "
                 "RLIMIT_NOFILE is %llu\n",
                 most, most * 2 + 64, static_cast<unsigned long long>(nofile));
    return exit_setup_error;
  }
  std::signal(SIGALRM, on_watchdog);
  alarm(time_budget_s(o));

  temp_dir tmp;
  if (tmp.path.empty()) {
    std::fprintf(stderr, "bench_proxy_latency: cannot create a temp directory in /tmp\n");
    return exit_setup_error;
  }
  mock::server_options mo;
  mo.behaviour.request_policy = *mock::policy_for_profile("ollama");
  mo.threads = o.mock_threads;
  auto started = mock::server::start(mo);
  if (!started) {
    std::fprintf(stderr, "bench_proxy_latency: cannot start the mock: %s\n",
                 started.message().c_str());
    return exit_setup_error;
  }
  mock::server &mock = *started.value();

  std::vector<std::unique_ptr<relay>> relays;
  relays.push_back(std::make_unique<direct_relay>(mock.port()));
  relays.push_back(std::make_unique<socat_relay>(find_on_path("socat"), tmp.path, mock.port()));
  relays.push_back(std::make_unique<nginx_relay>(o.nginx_binary, o.nginx_conf, tmp.path + "/nginx",
                                                 mock.port()));
  relays.push_back(
      std::make_unique<proxy_relay>(o.proxy_binary, tmp.path, mock.port(), o.proxy_threads));

  std::printf("bench_proxy_latency: %ld cores, load average %s\n", sysconf(_SC_NPROCESSORS_ONLN),
              loadavg().c_str());
  std::printf("  mock: in-process on 127.0.0.1:%u, %u event loop(s); client: 1 thread, epoll, "
              "HTTP/1.1, one stream per connection\n",
              mock.port(), o.mock_threads);
  std::printf("  latency streams: %d tokens %d ms apart, first at %d ms; memory streams: held "
              "open after their first event\n",
              o.tokens, o.gap_ms, o.first_token_ms);
  std::printf("  workers: nginx worker_processes as its config says (auto = one per core), "
              "streamcheck-proxy --threads %d\n",
              o.proxy_threads);
  std::vector<relay *> to_run;
  for (const auto &r : relays) {
    if (!wanted(o, r->name())) continue;
    if (const std::string why = r->unavailable(); !why.empty()) {
      std::printf("  %-6s skipped: %s\n", r->name().c_str(), why.c_str());
      continue;
    }
    if (auto *ng = dynamic_cast<nginx_relay *>(r.get()); ng && !ng->setup_problem().empty()) {
      std::fprintf(stderr, "bench_proxy_latency: %s: %s\n", o.nginx_conf.c_str(),
                   ng->setup_problem().c_str());
      return exit_setup_error;
    }
    std::printf("  %-6s %s\n", r->name().c_str(), r->describe().c_str());
    to_run.push_back(r.get());
  }
  std::fflush(stdout);

  const machine_cpu machine_before = read_machine_cpu();
  const double own_before = cpu_seconds("/proc/self/stat");
  const std::vector<row> rows = run_all(to_run, mock, o);
  mock.stop();
  // Every relay has been stopped and reaped by now, so its CPU is in this process's cutime.
  const machine_cpu machine_after = read_machine_cpu();
  const double own = cpu_seconds("/proc/self/stat") - own_before;
  bool relay_failed = false;
  for (const auto &r : rows)
    relay_failed = relay_failed || !r.ran();

  print_table(rows, o);
  for (relay *r : to_run)
    for (const auto &note : r->notes)
      std::printf("note: %s\n", note.c_str());
  print_comparison(rows, o);
  const double total = machine_after.total_s - machine_before.total_s;
  const double others = machine_after.busy_s - machine_before.busy_s - own;
  if (total > 0)
    std::printf("\nCPU during the run: this bench with its mock and relays %.0f%%, everything else "
                "(other processes, interrupts) %.0f%% of the %ld cores; load average at the end "
                "%s\n",
                100 * own / total, 100 * std::max(0.0, others) / total,
                sysconf(_SC_NPROCESSORS_ONLN), loadavg().c_str());
  return relay_failed ? exit_setup_error : 0;
}
