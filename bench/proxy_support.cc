#include "bench/proxy_support.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/support/build_tree.h"
#include "common/clock.h"

namespace streamcheck::bench {

int connect_to(unsigned short port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const std::string &bytes) {
  for (std::size_t sent = 0; sent < bytes.size();) {
    const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

std::string generate_request(const std::string &id, protocol::scenario timeline) {
  timeline.id = id;
  const std::string body =
      R"({"model":"llama3.2","prompt":"hi","streamcheck":)" + to_overrides(timeline).dump() + "}";
  return "POST /api/generate HTTP/1.1\r\nHost: llm.example.test\r\n"
         "Content-Type: application/json\r\nConnection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

namespace {

struct open_stream {
  int fd = -1;
  std::string received;
  std::size_t scanned = 0;
  stream_result result;
};

void take_events(open_stream &s, std::int64_t now) {
  for (const auto &stamp : take_stamps(s.received, s.scanned))
    s.result.events.emplace_back(stamp.t_us, now);
}

} // namespace

std::vector<protocol::stamp> take_stamps(const std::string &received, std::size_t &scanned) {
  std::vector<protocol::stamp> out;
  for (auto nl = received.find('\n', scanned); nl != std::string::npos;
       nl = received.find('\n', scanned)) {
    if (const auto s =
            protocol::parse_stamp(std::string_view(received).substr(scanned, nl - scanned)))
      out.push_back(*s);
    scanned = nl + 1;
  }
  return out;
}

std::vector<stream_result> run_streams(unsigned short port, int n,
                                       const std::function<std::string(int)> &request,
                                       std::int64_t deadline_us,
                                       const std::function<void()> &on_all_started) {
  std::vector<open_stream> streams(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto &s = streams[static_cast<std::size_t>(i)];
    s.result.id = std::to_string(i);
    s.fd = connect_to(port);
    s.result.connected = s.fd >= 0 && send_all(s.fd, request(i));
    if (!s.result.connected) s.result.ended = true;
  }
  bool all_started_said = !on_all_started;
  std::vector<pollfd> fds;
  std::vector<open_stream *> owners;
  char buf[16384];
  while (monotonic_us() < deadline_us) {
    fds.clear();
    owners.clear();
    for (auto &s : streams)
      if (!s.result.ended) {
        fds.push_back({s.fd, POLLIN, 0});
        owners.push_back(&s);
      }
    if (fds.empty()) break;
    if (poll(fds.data(), fds.size(), 100) < 0 && errno != EINTR) break;
    const std::int64_t now = monotonic_us();
    for (std::size_t k = 0; k < fds.size(); ++k) {
      if (!fds[k].revents) continue;
      open_stream &s = *owners[k];
      const ssize_t got = recv(s.fd, buf, sizeof buf, MSG_DONTWAIT);
      if (got > 0) {
        s.received.append(buf, static_cast<std::size_t>(got));
        take_events(s, now);
        continue;
      }
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      s.result.ended = true;
      s.result.ended_us = now;
      const auto head_end = s.received.find("\r\n\r\n");
      s.result.head = s.received.substr(0, head_end);
      s.result.clean_end =
          s.received.size() >= 5 && s.received.compare(s.received.size() - 5, 5, "0\r\n\r\n") == 0;
      close(s.fd);
    }
    if (!all_started_said && std::all_of(streams.begin(), streams.end(), [](const open_stream &s) {
          return !s.result.events.empty();
        })) {
      all_started_said = true;
      on_all_started();
    }
  }
  std::vector<stream_result> out;
  for (auto &s : streams) {
    if (!s.result.ended && s.fd >= 0) close(s.fd);
    out.push_back(std::move(s.result));
  }
  return out;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

std::string default_proxy_binary() {
  return build_tree_binary("reference_proxy/streamcheck-proxy");
}

result<unsigned short> start_proxy(harness::child_process &proxy, const std::string &binary,
                                   unsigned short upstream_port,
                                   const std::vector<std::string> &extra, const std::string &log) {
  auto ports = harness::free_ports(1);
  if (!ports) return error{ports.message()};
  std::vector<std::string> argv = {binary,
                                   "--listen",
                                   "127.0.0.1:" + std::to_string(ports->front()),
                                   "--upstream",
                                   "http://127.0.0.1:" + std::to_string(upstream_port),
                                   "--access-log",
                                   "off"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto spawned = proxy.start({argv, log, {}, {}});
  if (!spawned) return error{spawned.message()};
  if (proxy.wait_listening(ports->front(), std::chrono::seconds(10)) !=
      harness::child_process::readiness::listening)
    return error{binary + " did not listen (see " + log + ")"};
  return ports->front();
}

} // namespace streamcheck::bench
