// bench_proxy_faults: streamcheck-proxy under load and faults, measured.
//
// Reproduce (repo root, an optimised build; about 40 s):
//   cmake --build build --target bench_proxy_faults streamcheck-proxy streamcheck-mock
//   build/bench/bench_proxy_faults            (--quick: 200/20, 50, 50; the ctest uses it)
//
// 1. Slow-loris: 1,000 clients each send part of a request head, a byte every 500 ms (never the
//    end), while 100 live streams (200 tokens, 10 ms apart) run; the streams' added latency
//    (arrival here minus the mock's emission, one monotonic clock; the mock is in this process)
//    with and without them, 3 alternating rounds. The slow clients must not be served, and the
//    streams must all end.
// 2. The upstream killed: 500 streams open, then the mock process gets SIGKILL. Every client
//    must see a truncated response (no final chunk), none a clean end.
// 3. SIGTERM to the proxy during 500 streams: every stream must finish, whole, and the proxy
//    exit 0 (it drains).
// Exit 0 when every invariant held (the latency figures are printed, not judged), 1 when one
// did not, 2 on a setup error.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "bench/proxy_support.h"
#include "bench/support/build_tree.h"
#include "common/clock.h"
#include "common/fd_limit.h"
#include "common/options.h"
#include "mock_upstream/server.h"

namespace {

using namespace streamcheck;
using namespace streamcheck::bench;
using std::chrono::milliseconds;

int failures = 0;

void invariant(bool ok, const std::string &what) {
  std::printf("   %s %s\n", ok ? "ok  " : "FAIL", what.c_str());
  if (!ok) ++failures;
}

// Clients that never finish their head: a byte every 500 ms, until stopped.
struct slow_loris {
  std::atomic<bool> stop{false};
  std::atomic<int> open{0};
  std::thread thread;

  void start(unsigned short port, int n) {
    thread = std::thread([this, port, n] {
      std::vector<int> fds;
      for (int i = 0; i < n; ++i)
        if (const int fd = connect_to(port); fd >= 0) {
          send_all(fd, "GET /api/version HTTP/1.1\r\nHost: llm.example.test\r\nX-Slow: ");
          fds.push_back(fd);
        }
      while (!stop) {
        int alive = 0;
        for (int &fd : fds)
          if (fd >= 0) {
            if (send(fd, "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1) {
              ++alive;
            } else {
              close(fd);
              fd = -1;
            }
          }
        open = alive;
        for (int t = 0; t < 10 && !stop; ++t)
          std::this_thread::sleep_for(milliseconds(50));
      }
      for (const int fd : fds)
        if (fd >= 0) close(fd);
    });
  }
  void finish() {
    stop = true;
    thread.join();
  }
};

std::vector<double> added_latencies(const std::vector<stream_result> &results, mock::server &mock,
                                    const std::string &prefix) {
  std::vector<double> out;
  for (const auto &r : results) {
    const auto e = mock.requests().entries(prefix + r.id, 0);
    if (e.empty()) continue;
    const auto base = e[0].received_us + e[0].body_us;
    for (const auto &[t_us, arrival] : r.events)
      out.push_back(static_cast<double>(arrival - (base + t_us)));
  }
  return out;
}

int count_clean(const std::vector<stream_result> &r, std::size_t events) {
  int n = 0;
  for (const auto &s : r)
    n += s.clean_end && s.events.size() == events ? 1 : 0;
  return n;
}

int slow_loris_case(const std::string &proxy_bin, int loris_clients, int streams, int rounds) {
  std::printf("1. %d slow-loris clients + %d live streams\n", loris_clients, streams);
  mock::server_options mo;
  mo.behaviour.request_policy = *mock::policy_for_profile("ollama");
  mo.threads = 1;
  auto started = mock::server::start(mo);
  if (!started) return 2;
  harness::child_process proxy;
  const std::string log = "/tmp/bench_proxy_faults.loris.log";
  auto port = start_proxy(proxy, proxy_bin, started.value()->port(), {}, log);
  if (!port) {
    std::fprintf(stderr, "bench_proxy_faults: %s\n", port.message().c_str());
    return 2;
  }
  const protocol::scenario beside_flood{.first_token_ms = 0, .gap_ms = 10, .tokens = 200};
  const auto events = static_cast<std::size_t>(protocol::emitted_events(beside_flood));
  const auto run = [&](const std::string &prefix) {
    return run_streams(
        *port, streams,
        [&](int i) { return generate_request(prefix + std::to_string(i), beside_flood); },
        monotonic_us() + 30'000'000);
  };
  // Rounds alternate, so a machine that gets busier or quieter favours neither side.
  std::vector<double> a, l;
  int whole = 0, still_open = loris_clients;
  for (int round = 0; round < rounds; ++round) {
    const std::string n = std::to_string(round);
    const auto alone = run("alone" + n + "-");
    slow_loris loris;
    loris.start(*port, loris_clients);
    std::this_thread::sleep_for(milliseconds(1000)); // every slow client connected and dribbling
    const auto loaded = run("loris" + n + "-");
    still_open = std::min<int>(still_open, loris.open);
    loris.finish();
    whole += count_clean(alone, events) + count_clean(loaded, events);
    const auto al = added_latencies(alone, *started.value(), "alone" + n + "-");
    const auto ll = added_latencies(loaded, *started.value(), "loris" + n + "-");
    a.insert(a.end(), al.begin(), al.end());
    l.insert(l.end(), ll.begin(), ll.end());
  }
  std::printf("   without: %zu events, added p50 %.0f us, p99 %.0f us, max %.0f us\n", a.size(),
              percentile(a, 0.5), percentile(a, 0.99), percentile(a, 1.0));
  std::printf("   with:    %zu events, added p50 %.0f us, p99 %.0f us, max %.0f us\n", l.size(),
              percentile(l, 0.5), percentile(l, 0.99), percentile(l, 1.0));
  invariant(whole == 2 * rounds * streams, "every stream whole, with and without them (" +
                                               std::to_string(whole) + "/" +
                                               std::to_string(2 * rounds * streams) + ")");
  invariant(still_open == loris_clients, "the slow clients still held open, unanswered (" +
                                             std::to_string(still_open) + "/" +
                                             std::to_string(loris_clients) + ")");
  invariant(started.value()->requests().query("", 0, "").size() ==
                static_cast<std::size_t>(2 * rounds * streams),
            "nothing of theirs reached the upstream");
  proxy.stop(milliseconds(5000));
  unlink(log.c_str());
  return 0;
}

std::string default_mock_binary() {
  return build_tree_binary("mock_upstream/streamcheck-mock");
}

// The mock as a process of its own, so it can be killed.
result<unsigned short> start_mock_process(harness::child_process &mock, const std::string &log) {
  auto ports = harness::free_ports(1);
  if (!ports) return error{ports.message()};
  auto spawned = mock.start({{default_mock_binary(), "--listen",
                              "127.0.0.1:" + std::to_string(ports->front()), "--threads", "1"},
                             log,
                             {},
                             {}});
  if (!spawned) return error{spawned.message()};
  if (mock.wait_listening(ports->front(), milliseconds(10'000)) !=
      harness::child_process::readiness::listening)
    return error{"the mock did not listen"};
  return ports->front();
}

int upstream_killed_case(const std::string &proxy_bin, int streams) {
  std::printf("2. the upstream killed (SIGKILL) with %d streams open\n", streams);
  harness::child_process mock, proxy;
  const std::string mock_log = "/tmp/bench_proxy_faults.mock.log";
  const std::string log = "/tmp/bench_proxy_faults.kill.log";
  auto mock_port = start_mock_process(mock, mock_log);
  if (!mock_port) return 2;
  auto port = start_proxy(proxy, proxy_bin, *mock_port, {}, log);
  if (!port) return 2;
  const auto t0 = monotonic_us();
  std::int64_t killed_at = 0;
  const auto results = run_streams(
      *port, streams,
      [](int i) {
        return generate_request("kill" + std::to_string(i),
                                {.first_token_ms = 0, .gap_ms = 10, .tokens = 3000});
      },
      monotonic_us() + 60'000'000,
      [&] {
        killed_at = monotonic_us();
        kill(mock.pid(), SIGKILL);
      });
  int truncated = 0, clean = 0, ended = 0;
  std::int64_t last_end = killed_at;
  for (const auto &r : results) {
    last_end = std::max(last_end, r.ended_us);
    ended += r.ended ? 1 : 0;
    clean += r.clean_end ? 1 : 0;
    truncated += r.ended && !r.clean_end && !r.events.empty() ? 1 : 0;
  }
  std::printf("   all %d open after %.2f s; the clients saw the end within %.2f s of the kill\n",
              streams, static_cast<double>(killed_at - t0) / 1e6,
              static_cast<double>(last_end - killed_at) / 1e6);
  invariant(truncated == streams && clean == 0,
            std::to_string(truncated) + " truncated, " + std::to_string(clean) + " clean ends, " +
                std::to_string(streams - ended) + " still open");
  mock.stop(milliseconds(1000));
  invariant(proxy.stop(milliseconds(10'000)) == 0, "the proxy still up, then stopped cleanly");
  unlink(log.c_str());
  unlink(mock_log.c_str());
  return 0;
}

int sigterm_case(const std::string &proxy_bin, int streams) {
  std::printf("3. SIGTERM to the proxy during %d streams\n", streams);
  mock::server_options mo;
  mo.behaviour.request_policy = *mock::policy_for_profile("ollama");
  mo.threads = 1;
  auto started = mock::server::start(mo);
  if (!started) return 2;
  harness::child_process proxy;
  const std::string log = "/tmp/bench_proxy_faults.term.log";
  auto port = start_proxy(proxy, proxy_bin, started.value()->port(), {}, log);
  if (!port) return 2;
  std::int64_t signalled_at = 0;
  bool refused_after = false;
  const protocol::scenario drained{.first_token_ms = 0, .gap_ms = 20, .tokens = 100};
  const auto results = run_streams(
      *port, streams, [&](int i) { return generate_request("term" + std::to_string(i), drained); },
      monotonic_us() + 60'000'000,
      [&] {
        signalled_at = monotonic_us();
        kill(proxy.pid(), SIGTERM);
        std::this_thread::sleep_for(milliseconds(200));
        const int fd = connect_to(*port);
        refused_after = fd < 0;
        if (fd >= 0) close(fd);
      });
  const int whole =
      count_clean(results, static_cast<std::size_t>(protocol::emitted_events(drained)));
  const int status = proxy.wait(milliseconds(30'000));
  std::printf("   drained in %.2f s after the signal\n",
              static_cast<double>(monotonic_us() - signalled_at) / 1e6);
  invariant(whole == streams,
            std::to_string(whole) + "/" + std::to_string(streams) + " finished whole, none lost");
  invariant(status == 0, "the proxy exited 0 (status " + std::to_string(status) + ")");
  invariant(refused_after, "new connections refused once draining");
  unlink(log.c_str());
  return 0;
}

struct fault_flags {
  bool quick = false;
  std::string proxy_bin = default_proxy_binary();
};

const std::vector<options::option<fault_flags>> &flag_table() {
  static const std::vector<options::option<fault_flags>> table = {
      {"quick", "", "small counts: the integration test",
       options::set_true([](fault_flags & f) -> auto & { return f.quick; }), "",
       options::takes::nothing},
      {"proxy-bin", "PATH", "the streamcheck-proxy binary",
       options::store([](fault_flags & f) -> auto & { return f.proxy_bin; }), "the build tree's"},
  };
  return table;
}

std::string usage() {
  return "usage: bench_proxy_faults [options]\n\nSlow-loris clients beside live streams, the "
         "upstream killed under load, SIGTERM during\nstreams; exit 1 when an invariant "
         "fails.\n\n" +
         options::help_text(flag_table(), 20);
}

} // namespace

int main(int argc, char **argv) {
  fault_flags f;
  if (auto stop = options::parse_main("bench_proxy_faults", flag_table(), argc, argv, f, usage, 2))
    return *stop;
  const bool quick = f.quick;
  const std::string &proxy_bin = f.proxy_bin;
  std::signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();
  for (const int rc :
       {slow_loris_case(proxy_bin, quick ? 200 : 1000, quick ? 20 : 100, quick ? 1 : 3),
        upstream_killed_case(proxy_bin, quick ? 50 : 500),
        sigterm_case(proxy_bin, quick ? 50 : 500)})
    if (rc != 0) {
      std::fprintf(stderr, "bench_proxy_faults: setup error\n");
      return 2;
    }
  std::printf("%s\n", failures == 0 ? "every invariant held" : "an invariant failed");
  return failures == 0 ? 0 : 1;
}
