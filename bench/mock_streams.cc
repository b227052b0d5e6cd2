// bench_mock_streams: how well does streamcheck-mock keep its timelines under load?
//
// The mock runs in a forked child process (the mock_upstream library, exactly as the binary runs
// it), so its RSS can be read from /proc/PID/status. This process is the client: one thread, raw
// non-blocking sockets and epoll, N concurrent POST /api/chat streams over HTTP/1.1 on loopback.
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
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string>
#include <string_view>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "common/options.h"
#include "mock_upstream/server.h"

namespace {

using std::int64_t;

int64_t now_us() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

// ---------------------------------------------------------------------------------------------
// The mock child.

pid_t g_child = -1;

void kill_child() {
  if (g_child > 0) {
    kill(g_child, SIGKILL);
    waitpid(g_child, nullptr, 0);
    g_child = -1;
  }
}

// Last resort if something below misses its own deadline: never outlive the budget.
void on_alarm(int) {
  if (g_child > 0) kill(g_child, SIGKILL);
  static const char msg[] = "bench_mock_streams: overall time budget exceeded, aborting\n";
  [[maybe_unused]] auto n = write(2, msg, sizeof msg - 1);
  _exit(3);
}

struct child_mock {
  pid_t pid = -1;
  unsigned short port = 0;
};

// Forks before this process has any thread; the child runs the mock until SIGTERM (or until the
// parent dies: PR_SET_PDEATHSIG).
child_mock start_child(unsigned threads) {
  int fds[2];
  if (pipe(fds) != 0) {
    std::perror("pipe");
    std::exit(1);
  }
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    std::perror("fork");
    std::exit(1);
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close(fds[0]);
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    streamcheck::mock::server_options opts;
    opts.threads = threads;
    opts.behaviour.request_policy = *streamcheck::mock::policy_for_profile("ollama");
    auto started = streamcheck::mock::server::start(opts);
    unsigned short port = 0;
    if (started)
      port = started.value()->port();
    else
      std::fprintf(stderr, "mock child: %s\n", started.message().c_str());
    [[maybe_unused]] auto n = write(fds[1], &port, sizeof port);
    close(fds[1]);
    if (!started) _exit(2);
    int sig = 0;
    sigwait(&stop, &sig);
    started.value()->stop();
    _exit(0);
  }
  close(fds[1]);
  g_child = pid;
  child_mock c;
  c.pid = pid;
  pollfd pfd{fds[0], POLLIN, 0};
  if (poll(&pfd, 1, 10'000) != 1 || read(fds[0], &c.port, sizeof c.port) != sizeof c.port ||
      c.port == 0) {
    std::fprintf(stderr, "bench_mock_streams: the mock child did not start within 10 s\n");
    kill_child();
    std::exit(1);
  }
  close(fds[0]);
  return c;
}

void stop_child(pid_t pid) {
  kill(pid, SIGTERM);
  for (int i = 0; i < 100; ++i) { // 5 s
    if (waitpid(pid, nullptr, WNOHANG) == pid) {
      g_child = -1;
      return;
    }
    usleep(50'000);
  }
  kill_child();
}

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

// utime + stime of a process, in seconds.
double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close_paren = all.rfind(')');
  if (close_paren == std::string::npos) return 0;
  // Fields after the command: state(3) ... utime(14) stime(15).
  const char *p = all.c_str() + close_paren + 2;
  unsigned long long utime = 0, stime = 0;
  for (int field = 3; field <= 15 && *p; ++field) {
    if (field == 14) utime = std::strtoull(p, nullptr, 10);
    if (field == 15) stime = std::strtoull(p, nullptr, 10);
    p = std::strchr(p, ' ');
    if (!p) break;
    ++p;
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
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
};

// draining: the stream ended; waiting for the mock's FIN (the request said Connection: close), so
// TIME_WAIT lands on the mock's side and repeated runs do not use up ephemeral ports.
enum class conn_state {
  connecting,
  sending,
  head,
  chunk_size,
  chunk_data,
  chunk_crlf,
  draining,
  finished
};

struct conn {
  int fd = -1;
  conn_state state = conn_state::connecting;
  std::string out;
  std::size_t out_pos = 0;
  std::string in;
  std::size_t in_pos = 0;
  std::size_t chunk_left = 0;
  std::string line; // the NDJSON line being assembled
  int64_t sent_us = 0;
  int events = 0;
  int next_seq = 0;
  std::vector<int64_t> lag; // per event: received - sent - t_us (the stream's constant + delivery)
  bool failed = false;
  std::string why;
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

// Extracts the stamp from one event line; false if there is none.
bool parse_stamp(const std::string &line, int &seq, int64_t &t_us) {
  static const std::string key = "\"streamcheck\":{\"seq\":";
  const auto at = line.rfind(key);
  if (at == std::string::npos) return false;
  const char *p = line.c_str() + at + key.size();
  char *end = nullptr;
  seq = static_cast<int>(std::strtol(p, &end, 10));
  const char *t = std::strstr(end, "\"t_us\":");
  if (!t) return false;
  t_us = std::strtoll(t + 7, nullptr, 10);
  return true;
}

class runner {
public:
  runner(const phase_spec &spec, unsigned short port, pid_t mock)
      : spec_(spec), port_(port), mock_(mock), conns_(static_cast<std::size_t>(spec.streams)) {
    result_.spec = spec;
    result_.expected_events = static_cast<long long>(spec.streams) * (spec.tokens + 1);
    result_.emit_err.reserve(static_cast<std::size_t>(result_.expected_events));
    result_.arrive_err.reserve(static_cast<std::size_t>(result_.expected_events));
  }

  phase_result run() {
    ep_ = epoll_create1(0);
    result_.rss_before = rss_kib(mock_);
    const double cpu0 = cpu_seconds(mock_);
    const int64_t start = now_us();
    const int64_t stream_us =
        (spec_.first_token_ms + static_cast<int64_t>(spec_.tokens) * spec_.gap_ms) * 1000;
    // Ramp at ~10 connections per ms; the deadline allows the ramp, the stream and 20 s slack.
    const int64_t deadline = start + spec_.streams * 100 + stream_us + 20'000'000;
    int64_t next_sample = start;
    std::vector<epoll_event> evs(1024);

    while (done_ < spec_.streams) {
      const int64_t t = now_us();
      if (t > deadline) break;
      open_more(t - start);
      if (t >= next_sample) {
        next_sample = t + 100'000;
        const int open = open_count();
        result_.max_open = std::max(result_.max_open, open);
        if (spec_.measure_memory && open == spec_.streams)
          result_.rss_all_open = std::max(result_.rss_all_open, rss_kib(mock_));
      }
      const int n = epoll_wait(ep_, evs.data(), static_cast<int>(evs.size()), 2);
      const int64_t recv_t = now_us();
      for (int i = 0; i < n; ++i)
        on_event(static_cast<std::size_t>(evs[static_cast<std::size_t>(i)].data.u64),
                 evs[static_cast<std::size_t>(i)].events, recv_t);
    }
    result_.wall_s = static_cast<double>(now_us() - start) / 1e6;
    for (auto &c : conns_) {
      if (c.state != conn_state::finished) {
        if (c.fd < 0 && c.state == conn_state::connecting) ++result_.never_opened;
        fail(c, "deadline passed");
      }
    }
    close(ep_);
    result_.mock_cpu = cpu_seconds(mock_) - cpu0;
    if (spec_.measure_memory) {
      usleep(300'000); // let the mock notice the closes
      result_.rss_after = rss_kib(mock_);
    }
    return std::move(result_);
  }

private:
  int open_count() const {
    int open = 0;
    for (const auto &c : conns_)
      open += c.events > 0 && c.state != conn_state::finished && c.state != conn_state::draining;
    return open;
  }

  void open_more(int64_t since_start_us) {
    const auto allowed =
        std::min<int64_t>(spec_.streams, 64 + since_start_us / 100); // ~10 per ms after a burst
    while (opened_ < allowed && connecting_ < 512) {
      const std::size_t i = static_cast<std::size_t>(opened_++);
      conn &c = conns_[i];
      c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (c.fd < 0) {
        fail(c, std::string("socket: ") + std::strerror(errno));
        continue;
      }
      ++connecting_; // until the connect completes or fails
      int one = 1;
      setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(port_);
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      const int rc = connect(c.fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr);
      if (rc != 0 && errno != EINPROGRESS) {
        fail(c, std::string("connect: ") + std::strerror(errno));
        continue;
      }
      const std::string body =
          R"({"model":"llama3.2","messages":[{"role":"user","content":"Why is the sky blue?"}],)"
          R"("streamcheck":{"id":")" +
          spec_.name.substr(0, 1) + std::to_string(i) + R"(","first_token_ms":)" +
          std::to_string(spec_.first_token_ms) + R"(,"gap_ms":)" + std::to_string(spec_.gap_ms) +
          R"(,"tokens":)" + std::to_string(spec_.tokens) + "}}";
      c.out = "POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) +
              "\r\nUser-Agent: bench_mock_streams\r\nConnection: close\r\n"
              "Content-Type: application/json\r\n"
              "Content-Length: " +
              std::to_string(body.size()) + "\r\n\r\n" + body;
      epoll_event ev{};
      ev.events = EPOLLOUT;
      ev.data.u64 = i;
      epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
    }
    if (opened_ == spec_.streams && result_.ramp_s == 0)
      result_.ramp_s = static_cast<double>(since_start_us) / 1e6;
  }

  void fail(conn &c, const std::string &why) {
    if (c.state == conn_state::finished) return;
    if (c.state == conn_state::draining) return finish(c); // the stream itself completed
    if (c.state == conn_state::connecting && c.fd >= 0) --connecting_;
    c.failed = true;
    c.why = why;
    if (result_.first_failure.empty()) result_.first_failure = why;
    ++result_.failed;
    finish(c);
  }

  void finish(conn &c) {
    if (!c.lag.empty()) {
      const int64_t best = *std::min_element(c.lag.begin(), c.lag.end());
      result_.start.push_back(best);
      for (const auto l : c.lag)
        result_.deliver.push_back(l - best);
      std::vector<int64_t>().swap(c.lag);
    }
    if (c.fd >= 0) {
      epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
      close(c.fd);
      c.fd = -1;
    }
    c.state = conn_state::finished;
    std::string().swap(c.in);
    std::string().swap(c.out);
    std::string().swap(c.line);
    ++done_;
  }

  void on_event(std::size_t i, std::uint32_t events, int64_t recv_t) {
    conn &c = conns_[i];
    if (c.state == conn_state::finished) return;
    if (c.state == conn_state::connecting) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      --connecting_;
      c.state = conn_state::sending;
      if (err != 0) {
        c.state = conn_state::sending; // not counted as connecting any more
        return fail(c, std::string("connect: ") + std::strerror(err));
      }
    }
    if (c.state == conn_state::sending) {
      while (c.out_pos < c.out.size()) {
        const auto n = send(c.fd, c.out.data() + c.out_pos, c.out.size() - c.out_pos, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n < 0) return fail(c, std::string("send: ") + std::strerror(errno));
        c.out_pos += static_cast<std::size_t>(n);
      }
      c.sent_us = now_us();
      c.state = conn_state::head;
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.u64 = i;
      epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
      return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      char buf[16384];
      for (;;) {
        const auto n = recv(c.fd, buf, sizeof buf, 0);
        if (n > 0) {
          c.in.append(buf, static_cast<std::size_t>(n));
          if (!consume(c, recv_t)) return;
          if (static_cast<std::size_t>(n) < sizeof buf) break;
          continue;
        }
        if (n == 0 && c.state == conn_state::draining) return finish(c);
        if (n == 0) return fail(c, "connection closed by the mock before the stream ended");
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        return fail(c, std::string("recv: ") + std::strerror(errno));
      }
    }
  }

  // Parses what arrived; false when the connection was finished (or failed) meanwhile.
  bool consume(conn &c, int64_t recv_t) {
    for (;;) {
      const std::string_view rest(c.in.data() + c.in_pos, c.in.size() - c.in_pos);
      switch (c.state) {
      case conn_state::head: {
        const auto end = rest.find("\r\n\r\n");
        if (end == std::string_view::npos) return compact(c);
        const std::string_view head = rest.substr(0, end);
        if (head.rfind("HTTP/1.1 200 ", 0) != 0) {
          fail(c, "status: " + std::string(head.substr(0, head.find('\r'))));
          return false;
        }
        if (head.find("Transfer-Encoding: chunked") == std::string_view::npos) {
          fail(c, "response is not chunked");
          return false;
        }
        c.in_pos += end + 4;
        c.state = conn_state::chunk_size;
        break;
      }
      case conn_state::chunk_size: {
        const auto eol = rest.find("\r\n");
        if (eol == std::string_view::npos) return compact(c);
        c.chunk_left = std::strtoul(std::string(rest.substr(0, eol)).c_str(), nullptr, 16);
        c.in_pos += eol + 2;
        if (c.chunk_left == 0) {
          if (c.next_seq != spec_.tokens + 1) {
            fail(c, "stream ended after " + std::to_string(c.next_seq) + " events");
            return false;
          }
          ++result_.completed;
          c.state = conn_state::draining;
          break;
        }
        c.state = conn_state::chunk_data;
        break;
      }
      case conn_state::chunk_data: {
        if (rest.empty()) return compact(c);
        const std::size_t take = std::min(rest.size(), c.chunk_left);
        for (std::size_t k = 0; k < take; ++k) {
          const char ch = rest[k];
          if (ch != '\n') {
            c.line.push_back(ch);
            continue;
          }
          if (!on_line(c, recv_t)) return false;
          c.line.clear();
        }
        c.in_pos += take;
        c.chunk_left -= take;
        if (c.chunk_left == 0) c.state = conn_state::chunk_crlf;
        break;
      }
      case conn_state::chunk_crlf:
        if (rest.size() < 2) return compact(c);
        c.in_pos += 2;
        c.state = conn_state::chunk_size;
        break;
      case conn_state::draining:
        c.in_pos = c.in.size(); // nothing may follow; ignore it
        return compact(c);
      default: return false;
      }
    }
  }

  bool compact(conn &c) {
    c.in.erase(0, c.in_pos);
    c.in_pos = 0;
    return true;
  }

  bool on_line(conn &c, int64_t recv_t) {
    int seq = -1;
    int64_t t_us = 0;
    if (c.line.find("\"error\"") != std::string::npos || !parse_stamp(c.line, seq, t_us)) {
      fail(c, "unexpected event: " + c.line.substr(0, 120));
      return false;
    }
    if (seq != c.next_seq) {
      fail(c, "event seq " + std::to_string(seq) + ", expected " + std::to_string(c.next_seq));
      return false;
    }
    ++c.next_seq;
    ++c.events;
    ++result_.events;
    const int64_t scheduled =
        (static_cast<int64_t>(spec_.first_token_ms) + static_cast<int64_t>(seq) * spec_.gap_ms) *
        1000;
    result_.emit_err.push_back(t_us - scheduled);
    result_.arrive_err.push_back(recv_t - c.sent_us - scheduled);
    c.lag.push_back(recv_t - c.sent_us - t_us);
    return true;
  }

  phase_spec spec_;
  unsigned short port_;
  pid_t mock_;
  std::vector<conn> conns_;
  phase_result result_;
  int ep_ = -1;
  int opened_ = 0;
  int connecting_ = 0;
  int done_ = 0;
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

// Raises the soft descriptor limit to the hard limit; returns the new soft limit.
rlim_t raise_nofile() {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  getrlimit(RLIMIT_NOFILE, &lim);
  return lim.rlim_cur;
}

// The first three fields of /proc/loadavg: the figures above are only as good as the CPU the
// mock got, and the cores may be shared.
std::string loadavg() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
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
      {{"streams"},
       "N",
       "concurrent streams in phase C (needs ~N+64 descriptors per process: the program raises "
       "RLIMIT_NOFILE to the hard limit, else ulimit -Hn)",
       [](f &x, const std::string &v) {
         x.streams_set = true;
         return o::integer_in(
             [](f & y) -> auto & { return y.streams; }, 1, 100'000)(x, v);
       },
       "10000"},
      {{"seconds"},
       "S",
       "duration of phases B and C (1..60)",
       [](f &x, const std::string &v) {
         x.seconds_set = true;
         return o::integer_in(
             [](f & y) -> auto & { return y.seconds; }, 1, 60)(x, v);
       },
       "10"},
      {{"quick"},
       "",
       "small and short: A 50 x 1 s, B 200 x 2 s, C 1000 x 3 s",
       o::set_true([](f & x) -> auto & { return x.quick; }),
       "",
       o::takes::nothing},
      {{"threads"},
       "T",
       "mock event loops",
       o::integer_in(
           [](f & x) -> auto & { return x.threads; }, 1, 256),
       "one per core, as streamcheck-mock"},
      {{"only"},
       "LIST",
       "run only these phases, e.g. --only B or --only AC",
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
  const rlim_t nofile = raise_nofile();
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
    budget_s += (p.first_token_ms + static_cast<int64_t>(p.tokens) * p.gap_ms) / 1000 +
                p.streams / 10'000 + 3;
  std::signal(SIGALRM, on_alarm);
  alarm(static_cast<unsigned>(budget_s));

  const child_mock mock = start_child(threads);
  std::atexit(kill_child);
  std::printf(
      "bench_mock_streams: mock pid %d on 127.0.0.1:%u, %s event loop(s); client: 1 thread, "
      "epoll; RLIMIT_NOFILE %llu; %ld cores; budget %llds\n",
      static_cast<int>(mock.pid), mock.port,
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
    runner r(spec, mock.port, mock.pid);
    results.push_back(r.run());
    const auto &res = results.back();
    if (res.failed > 0)
      std::printf("  %d stream(s) failed; first: %s\n", res.failed, res.first_failure.c_str());
    usleep(200'000);
  }
  stop_child(mock.pid);
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
