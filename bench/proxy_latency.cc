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
#include <atomic>
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

#include "bench/support/proc_stats.h"
#include "bench/support/stream_client.h"
#include "common/clock.h"
#include "common/fd_limit.h"
#include "common/result.h"
#include "harness/nginx/config.h"
#include "harness/nginx/launcher.h"
#include "harness/nginx/rewrite.h"
#include "harness/process.h"
#include "harness/timing.h"
#include "mock_upstream/server.h"

#ifndef STREAMCHECK_SOURCE_DIR
#define STREAMCHECK_SOURCE_DIR "."
#endif

using namespace streamcheck;

namespace {

using namespace bench;
using harness::last_lines;
using harness::read_file;
using std::int64_t;
using streamcheck::child_process;
using namespace std::chrono_literals;

constexpr int exit_setup_error = 2;

void sleep_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// A child's output lines, indented under the message that quotes them.
std::string indented(const std::string &lines) {
  std::string out;
  std::istringstream in(lines);
  for (std::string l; std::getline(in, l);)
    out += "\n    " + l;
  return out;
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

// ---------------------------------------------------------------------------------------------
// Child processes.

// The relay's process group, for the watchdog: killed if the run overstays its budget.
std::atomic<pid_t> g_running_group{-1};

extern "C" void on_watchdog(int) {
  const pid_t group = g_running_group.load();
  if (group > 0) kill(-group, SIGKILL);
  static const char msg[] = "bench_proxy_latency: overall time budget exceeded, aborting\n";
  [[maybe_unused]] auto n = write(2, msg, sizeof msg - 1);
  _exit(exit_setup_error);
}

// ---------------------------------------------------------------------------------------------
// Relays: each start() is a fresh instance on an ephemeral loopback port.

class relay {
public:
  explicit relay(std::string name) : name_(std::move(name)) {}
  virtual ~relay() = default;
  const std::string &name() const { return name_; }
  virtual std::string describe() const = 0;
  virtual std::string unavailable() const { return ""; } // why it cannot run here; "" if it can
  virtual result<unsigned short> start() = 0;
  virtual void stop() = 0;
  virtual pid_t pid() const { return -1; } // root of its process tree; -1: nothing to measure
  std::vector<std::string> notes;          // said once after the table

private:
  std::string name_;
};

// No relay: the client talks to the mock. Its figures are the floor under every other row.
class direct_relay : public relay {
public:
  explicit direct_relay(unsigned short mock_port) : relay("direct"), mock_port_(mock_port) {}
  std::string describe() const override { return "no relay: the client + mock floor"; }
  result<unsigned short> start() override { return mock_port_; }
  void stop() override {}

private:
  unsigned short mock_port_;
};

// A relay binary run as a child (own process group, so socat's forked children are stopped with
// it; gone with this process) that reports its port somehow; shared start/stop.
class spawned_relay : public relay {
public:
  spawned_relay(std::string name, std::string binary, std::string work_dir)
      : relay(std::move(name)), binary_(std::move(binary)), work_dir_(std::move(work_dir)) {}
  ~spawned_relay() override { stop(); }
  pid_t pid() const override { return running_ ? child_.pid() : -1; }
  void stop() override {
    if (!running_) return;
    running_ = false;
    const int status = child_.stop(10s);
    g_running_group = -1;
    on_stopped(status == 128 + SIGKILL ? std::nullopt : std::optional<int>(status));
  }

protected:
  virtual std::vector<std::string> command() const = 0;
  // The listening port once it is known; nullopt while not yet.
  virtual std::optional<unsigned short> port_if_ready() const = 0;
  virtual void on_stopped(std::optional<int>) {}
  std::string log_path() const { return work_dir_ + "/" + name() + ".log"; }

  result<unsigned short> spawn_and_wait_for_port() {
    if (!child_.start({.argv = command(), .log = log_path(), .truncate = true}))
      return error{"cannot run " + binary_};
    running_ = true;
    g_running_group = child_.pid();
    const auto end = mono_clock::now() + 10s;
    while (mono_clock::now() < end) {
      if (const auto port = port_if_ready()) return *port;
      if (!child_.running()) {
        running_ = false;
        g_running_group = -1;
        return error{binary_ + " exited with status " + std::to_string(child_.exit_status()) +
                     " at startup:" + indented(last_lines(read_file(log_path()), 5))};
      }
      sleep_ms(10);
    }
    stop();
    return error{binary_ + " did not report its port within 10 s:" +
                 indented(last_lines(read_file(log_path()), 5))};
  }

  std::string binary_;
  std::string work_dir_;

private:
  child_process child_;
  bool running_ = false;
};

// socat forks one process per connection: the cheapest relay there is per byte, and the most
// memory-hungry per stream. Its notice-level log (-d -d) names the port it chose; the per-
// connection lines it also writes happen once per stream, never per event.
class socat_relay : public spawned_relay {
public:
  socat_relay(std::string binary, std::string work_dir, unsigned short mock_port)
      : spawned_relay("socat", std::move(binary), std::move(work_dir)), mock_port_(mock_port) {}
  std::string describe() const override {
    return binary_ + " -d -d TCP-LISTEN:0,bind=127.0.0.1,fork,reuseaddr,backlog=1024 " +
           "TCP:127.0.0.1:" + std::to_string(mock_port_) + " (one process per connection)";
  }
  std::string unavailable() const override {
    return binary_.empty() ? "socat not found on PATH" : "";
  }
  result<unsigned short> start() override { return spawn_and_wait_for_port(); }

protected:
  std::vector<std::string> command() const override {
    // backlog=1024: socat's default (5) would drop SYNs under a burst of 1,000 connects.
    return {binary_, "-d", "-d", "TCP-LISTEN:0,bind=127.0.0.1,fork,reuseaddr,backlog=1024",
            "TCP:127.0.0.1:" + std::to_string(mock_port_)};
  }
  std::optional<unsigned short> port_if_ready() const override {
    static const std::string marker = "listening on AF=2 127.0.0.1:";
    const std::string log = read_file(log_path());
    const auto at = log.find(marker);
    if (at == std::string::npos) return std::nullopt;
    const long port = std::strtol(log.c_str() + at + marker.size(), nullptr, 10);
    if (port <= 0 || port > 65535) return std::nullopt;
    return static_cast<unsigned short>(port);
  }

private:
  unsigned short mock_port_;
};

class proxy_relay : public spawned_relay {
public:
  proxy_relay(std::string binary, std::string work_dir, unsigned short mock_port, int threads)
      : spawned_relay("proxy", std::move(binary), std::move(work_dir)), mock_port_(mock_port),
        threads_(threads) {}
  std::string describe() const override {
    std::string text = "streamcheck-proxy";
    for (const auto &a : command())
      if (a != binary_) text += " " + (a == port_file() ? std::string("FILE") : a);
    return text;
  }
  std::string unavailable() const override {
    return executable(binary_) ? "" : binary_ + " is not built (use --proxy-bin PATH)";
  }
  result<unsigned short> start() override {
    std::remove(port_file().c_str());
    return spawn_and_wait_for_port();
  }

protected:
  std::vector<std::string> command() const override {
    return {binary_,
            "--listen",
            "127.0.0.1:0",
            "--port-file",
            port_file(),
            "--upstream",
            "http://127.0.0.1:" + std::to_string(mock_port_),
            "--threads",
            std::to_string(threads_),
            "--log-format",
            "off"};
  }
  std::optional<unsigned short> port_if_ready() const override {
    const std::string text = read_file(port_file());
    if (text.empty() || text.back() != '\n') return std::nullopt; // not yet complete
    const long port = std::strtol(text.c_str(), nullptr, 10);
    if (port <= 0 || port > 65535) return std::nullopt;
    return static_cast<unsigned short>(port);
  }
  // SIGTERM means a graceful drain and exit 0; anything else is worth telling its authors.
  void on_stopped(std::optional<int> status) override {
    std::string note;
    if (!status)
      note = "streamcheck-proxy did not exit within 10 s of SIGTERM (killed)";
    else if (*status != 0)
      note = "streamcheck-proxy exited with status " + std::to_string(*status) +
             " when stopped (expected 0 after SIGTERM)";
    if (!note.empty() && std::find(notes.begin(), notes.end(), note) == notes.end())
      notes.push_back(note);
  }

private:
  std::string port_file() const { return work_dir_ + "/proxy.port"; }
  unsigned short mock_port_;
  int threads_;
};

// The user's nginx config run by the harness's own managed launcher exactly as `streamcheck
// nginx` runs it: listen on a loopback port, every upstream the mock, pid/logs/temp in a prefix.
class nginx_relay : public relay {
public:
  // requested_binary: --nginx, "" to look on PATH and in /usr/sbin.
  nginx_relay(const std::string &requested_binary, std::string conf_path, std::string prefix,
              unsigned short mock_port)
      : relay("nginx"), requested_binary_(requested_binary), conf_path_(std::move(conf_path)) {
    namespace ng = harness::nginx;
    ng::nginx_files files{ng::find_nginx(requested_binary), std::move(prefix), ""};
    files.conf = files.prefix + "/nginx.conf";
    binary_ = files.binary;
    if (binary_.empty()) return;
    auto loaded = ng::load(conf_path_);
    if (!loaded) {
      setup_problem_ = loaded.message();
      return;
    }
    ng::wrap_snippet(loaded->top);
    std::error_code ec;
    std::filesystem::create_directories(files.prefix + "/logs", ec);
    const auto build = ng::query_build(binary_, files.prefix + "/logs/nginx-V.log", 10s);
    ng::rewrite_options options;
    options.prefix = files.prefix;
    options.conf_dir = loaded->include_base;
    options.mock_port = mock_port;
    options.as_root = geteuid() == 0; // workers must enter the 0700 prefix
    options.nginx_prefix = build.prefix;
    options.modules_path = build.modules_path;
    target_ = std::make_unique<ng::flattened_config>(std::move(files), build, std::move(*loaded),
                                                     std::move(options));
  }
  ~nginx_relay() override { stop(); }

  std::string describe() const override {
    return binary_ + " with " + conf_path_ + " (listen and upstream rewritten to loopback)";
  }
  std::string unavailable() const override {
    if (!binary_.empty()) return "";
    return requested_binary_.empty() ? "nginx not found (not on PATH, not /usr/sbin/nginx; use "
                                       "--nginx PATH)"
                                     : "--nginx " + requested_binary_ + " is not an executable";
  }
  // A config that cannot be read or that nginx -t rejects is a setup error, not a skip.
  const std::string &setup_problem() const { return setup_problem_; }
  pid_t pid() const override { return process_ ? process_->pid() : -1; }

  result<unsigned short> start() override {
    if (!setup_problem_.empty()) return error{setup_problem_};
    process_ = std::make_unique<harness::managed::managed_proxy>(*target_);
    auto port = process_->start();
    if (!port) {
      process_.reset();
      return port;
    }
    g_running_group = process_->pid();
    note_worker_count();
    return port;
  }
  void stop() override {
    if (!process_) return;
    process_->stop(10s);
    process_.reset();
    g_running_group = -1;
  }
  // The fairness of the comparison rests on it: say how many workers nginx really ran.
  void note_worker_count() {
    std::size_t workers = 0;
    const auto end = mono_clock::now() + 2s; // the master forks them right after it listens
    while ((workers = children_of(process_->pid()).size()) == 0 && mono_clock::now() < end)
      sleep_ms(10);
    sleep_ms(100); // the first worker may be up before the last is forked
    workers = children_of(process_->pid()).size();
    const std::string note = "nginx ran " + std::to_string(workers) + " worker process(es)";
    if (std::find(notes.begin(), notes.end(), note) == notes.end()) notes.push_back(note);
  }
  std::string error_log_tail() const {
    std::string out;
    for (const auto &l : harness::nginx::relevant_log_lines(target_->error_log(), 5))
      out += "\n    " + l;
    return out;
  }

private:
  std::string requested_binary_;
  std::string conf_path_;
  std::string binary_;
  std::string setup_problem_;
  std::unique_ptr<harness::nginx::flattened_config> target_;
  std::unique_ptr<harness::managed::managed_proxy> process_;
};

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

std::string scenario_members(int first_token_ms, int gap_ms, int tokens, int stall_at = -1,
                             int stall_ms = 0) {
  std::string s = "\"first_token_ms\":" + std::to_string(first_token_ms) +
                  ",\"gap_ms\":" + std::to_string(gap_ms) + ",\"tokens\":" + std::to_string(tokens);
  if (stall_at >= 0)
    s += ",\"stall_at\":" + std::to_string(stall_at) + ",\"stall_ms\":" + std::to_string(stall_ms);
  return s;
}

// Journal: correlation id -> the moment (monotonic µs) the mock finished reading the request,
// the zero of every t_us stamp in that response.
std::unordered_map<std::string, int64_t> request_t0_by_id(mock::server &mock,
                                                          const std::string &prefix) {
  std::unordered_map<std::string, int64_t> t0;
  for (const auto &e : mock.requests().query("", 0, prefix))
    t0.emplace(e.at("id").get<std::string>(),
               e.at("received_us").get<int64_t>() + e.at("body_us").get<int64_t>());
  return t0;
}

int streams_still_open_at_mock(mock::server &mock, const std::string &prefix) {
  int open = 0;
  for (const auto &e : mock.requests().query("", 0, prefix))
    open += e.at("outcome").get<std::string>() == "in_progress";
  return open;
}

int64_t streaming_us(int first_token_ms, int gap_ms, int tokens) {
  return (static_cast<int64_t>(first_token_ms) + static_cast<int64_t>(gap_ms) * tokens) * 1000;
}

// Short concurrent streams through a fresh relay: prove the path works, and let every worker
// process or thread allocate its per-worker state (a malloc arena, buffers kept for reuse) before
// the idle memory is read, so that the first stream a worker serves is not charged for it. Which
// nginx worker accepts is the kernel's choice, hence several batches; at most 8 at once, because
// the memory they free is what the measured streams reuse first.
std::string warm_up(unsigned short port, const std::string &prefix) {
  constexpr int batches = 4, streams = 8;
  for (int batch = 0; batch < batches; ++batch) {
    stream_plan plan{prefix + "warm" + std::to_string(batch) + "-", streams,
                     scenario_members(0, 5, 3), 4};
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
  stream_plan plan{prefix, streams, scenario_members(10, 10, 2, 1, hold_stall_ms), 3};
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
  f.expected = static_cast<long long>(streams) * (o.tokens + 1); // tokens + the final event
  stream_plan plan{prefix, streams, scenario_members(o.first_token_ms, o.gap_ms, o.tokens),
                   o.tokens + 1, static_cast<int64_t>(o.gap_ms) * 1000};
  stream_client client(port, plan);
  const double cpu_before = relay_pid > 0 ? tree_cpu_seconds(relay_pid) : 0;
  const int64_t deadline = monotonic_us() + streams * 200LL +
                           streaming_us(o.first_token_ms, o.gap_ms, o.tokens) + 15'000'000;
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

const char *const usage_text =
    R"(usage: bench_proxy_latency [options]

Added latency per event (p50/p99/max) and memory per open stream at several concurrency levels,
for no relay (the floor), socat (a plain TCP relay), nginx with the recommended config and
streamcheck-proxy, in one run against an in-process mock Ollama.

  --streams LIST       concurrent streams per workload (default 1,100,1000)
  --tokens N           tokens per stream (default 40; --quick: 10)
  --gap-ms N           between tokens (default 50)
  --first-token-ms N   before the first token (default 50)
  --only LIST          relays to run, from direct,socat,nginx,proxy (default all)
  --quick              a smoke run: 10 tokens per stream
  --nginx PATH         nginx binary (default: nginx on PATH, /usr/sbin/nginx)
  --nginx-conf PATH    config to run nginx with (default: the repo's nginx/ollama.conf)
  --proxy-bin PATH     streamcheck-proxy (default: ../reference_proxy/streamcheck-proxy next to
                       this program's directory in the build tree)
  --proxy-threads N    its --threads (default: one per core, as nginx's worker_processes auto)
  --rounds N           repeat every workload N times (default 3), every other round in reverse
                       relay order; latency pooled over all rounds, memory the median
  --mock-threads N     the in-process mock's event loops (default 1)
  --verbose            also print every round's memory readings

Exit: 0 when the run completed (whether or not the proxy met its target), 2 on a setup error.
)";

std::string default_proxy_binary() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  return (self.parent_path().parent_path() / "reference_proxy" / "streamcheck-proxy").string();
}

std::optional<bench_options> parse_options(int argc, char **argv, int &exit_code) {
  bench_options o;
  bool tokens_set = false, quick = false;
  exit_code = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(usage_text, stdout);
      return std::nullopt;
    }
    if (a == "--quick") {
      quick = true;
      continue;
    }
    if (a == "--verbose") {
      o.verbose = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "bench_proxy_latency: unknown option or missing value: %s\n", a.c_str());
      exit_code = exit_setup_error;
      return std::nullopt;
    }
    const std::string v = argv[++i];
    auto number = [&](int lo, int hi) {
      char *end = nullptr;
      const long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < lo || n > hi) {
        std::fprintf(stderr, "bench_proxy_latency: %s must be in [%d, %d], got %s\n", a.c_str(), lo,
                     hi, v.c_str());
        exit_code = exit_setup_error;
        return lo;
      }
      return static_cast<int>(n);
    };
    if (a == "--streams") {
      o.stream_counts.clear();
      for (const auto &item : split(v, ',')) {
        char *end = nullptr;
        const long n = std::strtol(item.c_str(), &end, 10);
        if (*end != '\0' || n < 1 || n > 5000) {
          std::fprintf(stderr, "bench_proxy_latency: --streams takes counts in [1, 5000]\n");
          exit_code = exit_setup_error;
        }
        o.stream_counts.push_back(static_cast<int>(n));
      }
    } else if (a == "--tokens") {
      o.tokens = number(1, 10'000);
      tokens_set = true;
    } else if (a == "--gap-ms") {
      o.gap_ms = number(1, 10'000);
    } else if (a == "--first-token-ms") {
      o.first_token_ms = number(0, 60'000);
    } else if (a == "--only") {
      o.only = split(v, ',');
      for (const auto &name : o.only)
        if (name != "direct" && name != "socat" && name != "nginx" && name != "proxy") {
          std::fprintf(stderr, "bench_proxy_latency: --only takes direct,socat,nginx,proxy\n");
          exit_code = exit_setup_error;
        }
    } else if (a == "--nginx") {
      o.nginx_binary = v;
    } else if (a == "--nginx-conf") {
      o.nginx_conf = v;
    } else if (a == "--proxy-bin") {
      o.proxy_binary = v;
    } else if (a == "--proxy-threads") {
      o.proxy_threads = number(1, 256);
    } else if (a == "--rounds") {
      o.rounds = number(1, 20);
    } else if (a == "--mock-threads") {
      o.mock_threads = static_cast<unsigned>(number(1, 256));
    } else {
      std::fprintf(stderr, "bench_proxy_latency: unknown option %s (see --help)\n", a.c_str());
      exit_code = exit_setup_error;
    }
    if (exit_code != 0) return std::nullopt;
  }
  if (o.stream_counts.empty() || o.only.empty()) {
    std::fprintf(stderr, "bench_proxy_latency: --streams and --only need at least one item\n");
    exit_code = exit_setup_error;
    return std::nullopt;
  }
  if (quick && !tokens_set) o.tokens = 10;
  if (o.proxy_binary.empty()) o.proxy_binary = default_proxy_binary();
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
          (2 * (n * 200LL + 15'000'000) + streaming_us(o.first_token_ms, o.gap_ms, o.tokens) +
           60'000'000);
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
