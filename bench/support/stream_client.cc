#include "bench/support/stream_client.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/protocol/stamp.h"

namespace streamcheck::bench {
namespace {

// A header's value in a response head (the name matched case-insensitively), lowercased.
std::optional<std::string> header_value(std::string_view head, std::string_view name) {
  auto lower = [](std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
  };
  const std::string lowered = lower(std::string(head));
  const std::string needle = "\r\n" + lower(std::string(name)) + ":";
  const auto at = lowered.find(needle);
  if (at == std::string::npos) return std::nullopt;
  const auto start = at + needle.size();
  return lowered.substr(start, lowered.find("\r\n", start) - start);
}

} // namespace

stream_client::stream_client(unsigned short port, stream_plan plan)
    : port_(port), plan_(std::move(plan)), streams_(static_cast<std::size_t>(plan_.streams)) {
  epoll_ = epoll_create1(EPOLL_CLOEXEC);
}

stream_client::~stream_client() {
  close_all();
  if (epoll_ >= 0) close(epoll_);
}

// Opens the streams (ramped) and serves their sockets until done() or the deadline.
void stream_client::pump(const std::function<bool()> &done, int64_t deadline_us) {
  std::vector<epoll_event> ready(1024);
  while (!done() && monotonic_us() < deadline_us) {
    open_more();
    const int n = epoll_wait(epoll_, ready.data(), static_cast<int>(ready.size()), 5);
    for (int i = 0; i < n; ++i) {
      const auto &ev = ready[static_cast<std::size_t>(i)];
      serve(static_cast<std::size_t>(ev.data.u64), ev.events);
    }
  }
}

int stream_client::open_with_events() const {
  int open = 0;
  for (const auto &s : streams_)
    open += !s.events.empty() && !s.ended && s.fd >= 0;
  return open;
}

// After the streams ended: give the servers a moment to close first (the TIME_WAIT then lands
// on their side, not on this client's ephemeral ports), then close what is left.
void stream_client::finish() {
  pump([&] { return open_sockets_ == 0; }, monotonic_us() + 500'000);
  close_all();
}

void stream_client::close_all() {
  for (auto &s : streams_)
    close_socket(s);
}

std::string stream_client::first_failure() const {
  for (const auto &s : streams_)
    if (!s.failure.empty()) return s.failure;
  for (const auto &s : streams_)
    if (!s.ended)
      return "did not end before the deadline (" + std::to_string(s.events.size()) + " events)";
  return "";
}

std::string stream_client::request_for(std::size_t index) const {
  protocol::scenario timeline = plan_.timeline;
  timeline.id = plan_.id_prefix + std::to_string(index);
  const std::string body =
      R"({"model":"llama3.2","messages":[{"role":"user","content":"Why is the sky blue?"}],)"
      R"("stream":true,"streamcheck":)" +
      protocol::to_overrides(timeline).dump() + "}";
  return "POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) +
         "\r\nUser-Agent: " + plan_.user_agent +
         "\r\nAccept: application/x-ndjson\r\n"
         "Content-Type: application/json\r\nConnection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// Spread, or a burst of 64 and then about ten connects per millisecond; at most
// plan_.max_connecting in flight either way.
void stream_client::open_more() {
  if (opened_ == plan_.streams) return;
  if (ramp_start_us_ == 0) ramp_start_us_ = monotonic_us();
  const int64_t elapsed = monotonic_us() - ramp_start_us_;
  const int64_t allowed = std::min<int64_t>(
      plan_.streams, plan_.start_spread_us > 0 ? 1 + elapsed * plan_.streams / plan_.start_spread_us
                                               : 64 + elapsed / 100);
  while (opened_ < allowed && connecting_ < plan_.max_connecting) {
    const auto index = static_cast<std::size_t>(opened_++);
    stream_state &s = streams_[index];
    s.request = request_for(index);
    s.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s.fd < 0) {
      fail(s, std::string("socket: ") + std::strerror(errno));
      continue;
    }
    ++open_sockets_;
    ++connecting_; // until the connect completes or fails
    if (plan_.no_delay) {
      const int one = 1;
      setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s.fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0 &&
        errno != EINPROGRESS) {
      fail(s, std::string("connect: ") + std::strerror(errno));
      continue;
    }
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.u64 = index;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, s.fd, &ev);
  }
  if (opened_ == plan_.streams) ramp_done_us_ = monotonic_us();
}

void stream_client::serve(std::size_t index, std::uint32_t events) {
  stream_state &s = streams_[index];
  if (s.fd < 0) return;
  if (s.phase == stream_phase::connecting) {
    --connecting_;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    s.phase = stream_phase::sending;
    if (err != 0) return fail(s, std::string("connect: ") + std::strerror(err));
  }
  if (s.phase == stream_phase::sending) return send_request(index, s);
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) receive(s);
}

void stream_client::send_request(std::size_t index, stream_state &s) {
  while (s.sent < s.request.size()) {
    const auto n = send(s.fd, s.request.data() + s.sent, s.request.size() - s.sent, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0) return fail(s, std::string("send: ") + std::strerror(errno));
    s.sent += static_cast<std::size_t>(n);
  }
  s.sent_us = monotonic_us();
  std::string().swap(s.request);
  s.phase = stream_phase::head;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.u64 = index;
  epoll_ctl(epoll_, EPOLL_CTL_MOD, s.fd, &ev);
}

void stream_client::receive(stream_state &s) {
  char buf[16384];
  for (;;) {
    const auto n = recv(s.fd, buf, sizeof buf, 0);
    const int64_t arrival = monotonic_us();
    if (n > 0) {
      if (s.phase == stream_phase::draining) continue; // nothing may follow; not ours to judge
      s.in.append(buf, static_cast<std::size_t>(n));
      parse(s, arrival);
      if (s.fd < 0) return;
      if (static_cast<std::size_t>(n) < sizeof buf) return;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0) return fail(s, std::string("recv: ") + std::strerror(errno));
    // n == 0: the server closed.
    if (s.phase == stream_phase::body && s.framing == body_framing::close_delimited) end_of_body(s);
    if (s.phase == stream_phase::draining) return close_socket(s);
    return fail(s, "connection closed after " + std::to_string(s.events.size()) + " events");
  }
}

void stream_client::parse(stream_state &s, int64_t arrival) {
  std::size_t pos = 0;
  while (s.fd >= 0 && (s.phase == stream_phase::head || s.phase == stream_phase::body)) {
    const std::string_view rest(s.in.data() + pos, s.in.size() - pos);
    if (s.phase == stream_phase::head) {
      const auto end = rest.find("\r\n\r\n");
      if (end == std::string_view::npos) break;
      const std::string_view head = rest.substr(0, end + 2);
      if (head.rfind("HTTP/1.", 0) != 0 || head.substr(8, 5) != " 200 ")
        return fail(s, "status: " + std::string(head.substr(0, head.find('\r'))));
      const auto coding = header_value(head, "transfer-encoding");
      const auto length = header_value(head, "content-length");
      if (coding && coding->find("chunked") != std::string::npos) {
        s.framing = body_framing::chunked;
      } else if (length) {
        s.framing = body_framing::content_length;
        s.body_left = std::atoll(length->c_str());
      }
      pos += end + 4;
      s.phase = stream_phase::body;
      continue;
    }
    if (s.framing == body_framing::close_delimited) {
      body_bytes(s, rest, arrival);
      pos += rest.size();
      break;
    }
    if (s.framing == body_framing::content_length) {
      const auto take = std::min<std::size_t>(rest.size(), static_cast<std::size_t>(s.body_left));
      body_bytes(s, rest.substr(0, take), arrival);
      pos += take;
      s.body_left -= static_cast<long long>(take);
      if (s.body_left == 0) end_of_body(s);
      break;
    }
    if (!parse_chunked(s, rest, pos, arrival)) break;
  }
  if (s.fd >= 0) s.in.erase(0, pos);
}

// One step of the chunked decoder; false when it needs more bytes.
bool stream_client::parse_chunked(stream_state &s, std::string_view rest, std::size_t &pos,
                                  int64_t arrival) {
  switch (s.part) {
  case chunk_part::size: {
    const auto eol = rest.find("\r\n");
    if (eol == std::string_view::npos) return false;
    s.chunk_left = std::strtoul(std::string(rest.substr(0, eol)).c_str(), nullptr, 16);
    pos += eol + 2;
    s.part = s.chunk_left == 0 ? chunk_part::trailers : chunk_part::data;
    return true;
  }
  case chunk_part::data: {
    if (rest.empty()) return false;
    const auto take = std::min(rest.size(), s.chunk_left);
    body_bytes(s, rest.substr(0, take), arrival);
    pos += take;
    s.chunk_left -= take;
    if (s.chunk_left == 0) s.part = chunk_part::crlf;
    return true;
  }
  case chunk_part::crlf:
    if (rest.size() < 2) return false;
    pos += 2;
    s.part = chunk_part::size;
    return true;
  case chunk_part::trailers: {
    const auto eol = rest.find("\r\n");
    if (eol == std::string_view::npos) return false;
    pos += eol + 2;
    if (eol == 0) end_of_body(s); // the empty line after the last chunk
    return true;
  }
  }
  return false;
}

void stream_client::body_bytes(stream_state &s, std::string_view data, int64_t arrival) {
  for (;;) {
    const auto nl = data.find('\n');
    if (nl == std::string_view::npos) {
      s.line.append(data);
      return;
    }
    s.line.append(data.substr(0, nl));
    data.remove_prefix(nl + 1);
    if (!s.line.empty()) on_line(s, arrival);
    s.line.clear();
    if (s.ended) return;
  }
}

void stream_client::on_line(stream_state &s, int64_t arrival) {
  const auto stamp = protocol::parse_stamp(s.line);
  if (!stamp) return fail(s, "event without a stamp: " + s.line.substr(0, 120));
  const int seq = stamp->seq;
  const int64_t t_us = stamp->t_us;
  if (seq != static_cast<int>(s.events.size()))
    return fail(s, "event seq " + std::to_string(seq) + ", expected " +
                       std::to_string(s.events.size()));
  if (s.events.empty()) ++with_first_event_;
  s.events.push_back({seq, t_us, arrival});
}

void stream_client::end_of_body(stream_state &s) {
  if (s.ended) return;
  const int expected_events = protocol::emitted_events(plan_.timeline);
  if (static_cast<int>(s.events.size()) != expected_events)
    return fail(s, "stream ended after " + std::to_string(s.events.size()) + " of " +
                       std::to_string(expected_events) + " events");
  s.complete = true;
  s.ended = true;
  ++ended_;
  s.phase = stream_phase::draining;
}

void stream_client::fail(stream_state &s, const std::string &why) {
  if (!s.ended) {
    s.ended = true;
    s.failure = why;
    ++ended_;
    ended_without_events_ += s.events.empty();
  }
  close_socket(s);
}

void stream_client::close_socket(stream_state &s) {
  if (s.fd < 0) return;
  if (s.phase == stream_phase::connecting) --connecting_;
  epoll_ctl(epoll_, EPOLL_CTL_DEL, s.fd, nullptr);
  close(s.fd);
  s.fd = -1;
  s.phase = stream_phase::closed;
  --open_sockets_;
}

} // namespace streamcheck::bench
