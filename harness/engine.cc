#include "harness/engine.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <curl/curl.h>
#include <map>
#include <memory>
#include <optional>
#include <sys/epoll.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fnv.h"
#include "common/protocol/stamp.h"
#include "harness/stream_parser.h"

namespace streamcheck::harness {
namespace {

struct transfer {
  scheduled_probe *plan = nullptr;
  probe_result result;
  CURL *easy = nullptr;
  curl_slist *headers = nullptr;
  std::optional<stream_parser> parser;
  std::int64_t done_mono_us = -1; // finished + settle
  bool running = false;

  std::int64_t since_send() const { return monotonic_us() - result.sent_mono_us; }
};

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  return true;
}

// Bytes libcurl handed to this thread's callbacks: how the socket loop tells that a call into
// libcurl delivered something (see socket_ready).
thread_local std::uint64_t delivered_bytes = 0;

// Every time of a probe counts from here, when its connection is ready and the request goes out,
// not from when the transfer began: a TLS handshake queued behind the suite's other connections
// is not the proxy holding a stream (measured: 35-55 ms "added" to every event over TLS, and
// 3 ms once the handshake is left out).
int on_request_sent(void *user, char *, char *, int, int) {
  static_cast<transfer *>(user)->result.sent_mono_us = monotonic_us();
  return CURL_PREREQFUNC_OK;
}

std::size_t on_header(char *data, std::size_t size, std::size_t n, void *user) {
  delivered_bytes += size * n;
  auto *t = static_cast<transfer *>(user);
  std::string line(data, size * n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
    line.pop_back();
  if (t->result.headers_us < 0) t->result.headers_us = t->since_send();
  if (line.rfind("HTTP/", 0) == 0) // a new response head (after 100 Continue, redirects)
    t->result.header_lines.clear();
  if (!line.empty()) t->result.header_lines.push_back(std::move(line));
  return size * n;
}

void add_event(transfer &t, std::string text) {
  parsed_event e;
  e.arrival_us = t.since_send();
  e.write_index = t.result.writes.empty() ? 0 : t.result.writes.size() - 1;
  e.value = json::parse(text, nullptr, false);
  if (e.value.is_discarded())
    e.value = nullptr;
  else if (e.value.is_object() && e.value.contains("streamcheck") &&
           e.value["streamcheck"].is_object()) {
    const auto stamp = protocol::parse_stamp(text).value_or(protocol::stamp{});
    e.seq = stamp.seq;
    e.emitted_us = stamp.t_us;
  }
  e.text = std::move(text);
  t.result.events.push_back(std::move(e));
}

std::size_t on_body(char *data, std::size_t size, std::size_t n, void *user) {
  auto *t = static_cast<transfer *>(user);
  const std::size_t bytes = size * n;
  delivered_bytes += bytes;
  const auto now = t->since_send();
  if (t->result.first_byte_us < 0) t->result.first_byte_us = now;
  t->result.writes.push_back({now, bytes});
  t->result.body_bytes += bytes;
  if (t->result.body.size() < body_cap)
    t->result.body.append(data, std::min(bytes, body_cap - t->result.body.size()));
  if (!t->parser)
    t->parser.emplace(stream_parser::for_content_type(t->result.header("Content-Type")),
                      [t](std::string ev) { add_event(*t, std::move(ev)); });
  t->parser->feed(std::string_view(data, bytes));
  const int limit = t->plan->spec.abort_after_events;
  if (limit >= 0 && static_cast<int>(t->result.events.size()) >= limit) {
    t->result.aborted = true;
    t->result.aborted_us = now;
    return 0; // makes curl fail the transfer and close the connection
  }
  return bytes;
}

// Private connection caches, one per pool name, so a probe can only reuse its pool's connections.
class pools {
public:
  CURLSH *get(const std::string &name) {
    auto [it, fresh] = shares_.try_emplace(name, nullptr);
    if (fresh) {
      it->second = curl_share_init();
      curl_share_setopt(it->second, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    }
    return it->second;
  }
  ~pools() {
    for (auto &[name, share] : shares_)
      curl_share_cleanup(share);
  }

private:
  std::map<std::string, CURLSH *> shares_;
};

long curl_http_version(client_http http) {
  switch (http) {
  case client_http::alpn: return CURL_HTTP_VERSION_2TLS;
  case client_http::h2_tls: return CURL_HTTP_VERSION_2TLS;
  case client_http::h2c: return CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
  case client_http::h1: break;
  }
  return CURL_HTTP_VERSION_1_1;
}

std::string version_name(long version) {
  return version == CURL_HTTP_VERSION_1_0   ? "1.0"
         : version == CURL_HTTP_VERSION_1_1 ? "1.1"
         : version == CURL_HTTP_VERSION_2_0 ? "2"
                                            : "";
}

void start(CURLM *multi, transfer &t, pools &private_pools) {
  const auto &spec = t.plan->spec;
  t.easy = curl_easy_init();
  CURL *e = t.easy;
  curl_easy_setopt(e, CURLOPT_URL, t.plan->url.c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_request_sent);
  curl_easy_setopt(e, CURLOPT_PREREQDATA, &t);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(spec.timeout_ms));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                   spec.http10 ? long{CURL_HTTP_VERSION_1_0} : curl_http_version(t.plan->http));
  // Over h2, streams that start together share one connection as a browser's do, instead of
  // each opening its own before the first one's ALPN answer is known.
  // Not for h2c: libcurl 7.88 fails streams that wait on a prior-knowledge connection still
  // being set up (CURLE_HTTP2); they open connections of their own instead.
  if (t.plan->http == client_http::alpn || t.plan->http == client_http::h2_tls)
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
  // libcurl 7.88 queues the RST_STREAM of an h2 transfer it ends and sends it only on the
  // connection's next I/O, seconds later or never: a planned abort over h2 closes its connection
  // (the runner gives such probes one of their own), so the proxy sees the client leave at once.
  const bool aborts = spec.abort_after_ms >= 0 || spec.abort_after_events >= 0;
  if (t.plan->http != client_http::h1 && aborts) curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  if (!spec.accept_encoding.empty())
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, spec.accept_encoding.c_str());
  if (spec.method == "HEAD")
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  else if (spec.method != "GET" || !t.plan->body.empty())
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, spec.method.c_str());
  if (!t.plan->body.empty() || spec.method == "POST") {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t.plan->body.c_str());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t.plan->body.size()));
  }
  // Browsers and SDKs never send Expect: 100-continue; a proxy must not get a gentler request.
  t.headers = curl_slist_append(t.headers, "Expect:");
  bool has_type = false;
  for (const auto &h : spec.headers) {
    has_type = has_type || starts_with_ci(h, "content-type:");
    t.headers = curl_slist_append(t.headers, h.c_str());
  }
  if (!has_type && !t.plan->body.empty())
    t.headers = curl_slist_append(t.headers, "Content-Type: application/json");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
  if (!t.plan->pool.empty()) curl_easy_setopt(e, CURLOPT_SHARE, private_pools.get(t.plan->pool));

  t.result.request_bytes = t.plan->body.size();
  char hash[20];
  std::snprintf(hash, sizeof hash, "%016llx",
                static_cast<unsigned long long>(fnv1a64_of(t.plan->body)));
  t.result.request_fnv1a64 = hash;
  t.result.name = spec.name;
  t.result.url = t.plan->url;
  t.result.started = true;
  t.result.sent_mono_us = monotonic_us();
  t.running = true;
  curl_multi_add_handle(multi, e);
}

body_framing framing_of(const probe_result &r) {
  for (const auto &v : r.header_values("Transfer-Encoding"))
    if (v.find("chunked") != std::string::npos) return body_framing::chunked;
  if (!r.header_values("Content-Length").empty()) return body_framing::content_length;
  if (r.status == 204 || r.status == 304 || r.http_version == "2") return body_framing::none;
  return body_framing::close_delimited;
}

void finish(CURLM *multi, transfer &t, CURLcode code) {
  auto &r = t.result;
  r.finished_us = t.since_send();
  if (t.parser) t.parser->finish();
  if (!r.aborted) {
    r.curl_code = code;
    r.curl_error = code == CURLE_OK ? "" : curl_easy_strerror(code);
  } else {
    r.curl_error = "closed by the harness (planned abort)";
  }
  long status = 0, version = 0, connects = 0, port = 0;
  curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(t.easy, CURLINFO_HTTP_VERSION, &version);
  curl_easy_getinfo(t.easy, CURLINFO_NUM_CONNECTS, &connects);
  curl_easy_getinfo(t.easy, CURLINFO_LOCAL_PORT, &port);
  r.status = status;
  r.http_version = version_name(version);
  r.reused_connection = r.status != 0 && connects == 0;
  r.new_connections = connects;
  r.local_port = port;
  r.framing = framing_of(r);
  curl_multi_remove_handle(multi, t.easy);
  curl_easy_cleanup(t.easy);
  curl_slist_free_all(t.headers);
  t.easy = nullptr;
  t.headers = nullptr;
  t.running = false;
  t.done_mono_us = monotonic_us() + static_cast<std::int64_t>(t.plan->spec.settle_ms) * 1000;
}

struct curl_global {
  curl_global() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

} // namespace

std::vector<std::string> probe_result::header_values(const std::string &field) const {
  std::vector<std::string> out;
  for (const auto &line : header_lines) {
    const auto colon = line.find(':');
    if (colon == std::string::npos || colon != field.size() || !starts_with_ci(line, field))
      continue;
    std::string v = line.substr(colon + 1);
    const auto b = v.find_first_not_of(" \t");
    out.push_back(b == std::string::npos ? "" : v.substr(b, v.find_last_not_of(" \t") - b + 1));
  }
  return out;
}

std::string probe_result::header(const std::string &field) const {
  const auto v = header_values(field);
  return v.empty() ? "" : v.front();
}

namespace {

// libcurl's event-driven interface on our own epoll: each wake-up costs only the sockets that
// are ready, so a thousand idle streams do not tax every token of the busy ones (the noise floor
// in bench/harness_noise.cc).
struct socket_loop {
  int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  std::int64_t curl_timeout_at = -1; // monotonic µs; -1 = none
  ~socket_loop() { close(epoll_fd); }
};

int on_socket(CURL *, curl_socket_t s, int what, void *user, void *) {
  auto *loop = static_cast<socket_loop *>(user);
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, s, nullptr);
    return 0;
  }
  epoll_event ev{};
  ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
  ev.data.fd = s;
  if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_MOD, s, &ev) != 0)
    epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, s, &ev);
  return 0;
}

// A socket is readable: let libcurl read it. Over TLS, libcurl 7.88 reads one record per call
// and leaves the rest in OpenSSL's buffer, where epoll cannot see it: when a proxy's head and
// first token arrive together, the token would be read only when the next one arrives, and
// every event of the stream would be timed one event late (measured: 35-75 ms "added" by nginx
// and by streamcheck-proxy over TLS, 0-2 ms over cleartext, while a Python client saw the TLS
// proxy's events on time). So the call is repeated while it still delivers bytes.
void socket_ready(CURLM *multi, curl_socket_t fd, int flags, int &still) {
  for (int round = 0; round < 64; ++round) {
    const std::uint64_t before = delivered_bytes;
    curl_multi_socket_action(multi, fd, flags, &still);
    if (delivered_bytes == before || !(flags & CURL_CSELECT_IN)) return;
  }
}

int on_timer(CURLM *, long timeout_ms, void *user) {
  auto *loop = static_cast<socket_loop *>(user);
  loop->curl_timeout_at = timeout_ms < 0 ? -1 : monotonic_us() + timeout_ms * 1000;
  return 0;
}

void collect_finished(CURLM *multi, bool &changed) {
  int queued = 0;
  while (CURLMsg *msg = curl_multi_info_read(multi, &queued)) {
    if (msg->msg != CURLMSG_DONE) continue;
    transfer *t = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char **>(&t));
    finish(multi, *t, msg->data.result);
    changed = true;
  }
}

} // namespace

std::vector<probe_result> run_probes(std::vector<scheduled_probe> &probes,
                                     const std::function<void(const engine_progress &)> &progress) {
  static curl_global init;
  pools private_pools; // outlives the multi handle and every easy handle
  socket_loop loop;
  CURLM *multi = curl_multi_init();
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, 4096L);
  // h2 probes in one pool are streams of one connection (libcurl's default, stated because the
  // h2 verdicts of conn.* count on it); HTTP/1.1 probes never pipeline.
  curl_multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, &loop);
  curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
  curl_multi_setopt(multi, CURLMOPT_TIMERDATA, &loop);
  std::vector<std::unique_ptr<transfer>> ts;
  for (auto &p : probes) {
    ts.push_back(std::make_unique<transfer>());
    ts.back()->plan = &p;
  }
  const std::int64_t t0 = monotonic_us();
  std::int64_t last_progress = t0;
  std::int64_t next_scan = t0;
  bool changed = true;
  for (;;) {
    std::int64_t now = monotonic_us();
    // The schedule (starts, planned aborts, settle times) is scanned only when something is due
    // or a transfer ended, not on every token.
    if (changed || now >= next_scan) {
      changed = false;
      next_scan = std::min(now + 1'000'000, last_progress + 1'000'000);
      int running = 0, finished = 0;
      std::int64_t planned_end = now;
      for (auto &t : ts) {
        auto &spec = t->plan->spec;
        if (!t->result.started) {
          const bool predecessor_done =
              t->plan->after_index < 0 ||
              ts[static_cast<std::size_t>(t->plan->after_index)]->result.finished_us >= 0;
          const std::int64_t due = t0 + static_cast<std::int64_t>(spec.start_after_ms) * 1000;
          if (predecessor_done && now >= due)
            start(multi, *t, private_pools);
          else if (predecessor_done)
            next_scan = std::min(next_scan, due);
        }
        if (t->running && spec.abort_after_ms >= 0) {
          const std::int64_t due =
              t->result.sent_mono_us + static_cast<std::int64_t>(spec.abort_after_ms) * 1000;
          if (now >= due) {
            t->result.aborted = true;
            t->result.aborted_us = t->since_send();
            finish(multi, *t, CURLE_OK);
          } else {
            next_scan = std::min(next_scan, due);
          }
        }
        running += t->running;
        if (t->result.finished_us >= 0 && now >= t->done_mono_us)
          ++finished;
        else if (t->result.finished_us >= 0)
          next_scan = std::min(next_scan, t->done_mono_us);
        const std::int64_t begun = t->result.started ? t->result.sent_mono_us : now;
        planned_end = std::max(
            planned_end,
            begun + static_cast<std::int64_t>(t->plan->expected_ms + spec.settle_ms) * 1000);
      }
      if (finished == static_cast<int>(ts.size())) break;
      if (progress && now - last_progress >= 1'000'000) {
        last_progress = now;
        progress({running, finished, static_cast<int>(ts.size()),
                  static_cast<int>((planned_end - now) / 1000)});
      }
    }
    std::int64_t wake = next_scan;
    if (loop.curl_timeout_at >= 0) wake = std::min(wake, loop.curl_timeout_at);
    const int wait_ms =
        static_cast<int>(std::clamp<std::int64_t>((wake - now + 999) / 1000, 0, 100));
    epoll_event events[64];
    const int n = epoll_wait(loop.epoll_fd, events, 64, wait_ms);
    int still = 0;
    for (int i = 0; i < n; ++i) {
      int flags = 0;
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) flags |= CURL_CSELECT_IN;
      if (events[i].events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
      if (events[i].events & EPOLLERR) flags |= CURL_CSELECT_ERR;
      socket_ready(multi, events[i].data.fd, flags, still);
    }
    now = monotonic_us();
    if (loop.curl_timeout_at >= 0 && now >= loop.curl_timeout_at) {
      loop.curl_timeout_at = -1;
      curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &still);
    }
    collect_finished(multi, changed);
  }
  curl_multi_cleanup(multi);
  std::vector<probe_result> out;
  for (auto &t : ts)
    out.push_back(std::move(t->result));
  return out;
}

namespace {
std::size_t collect(char *data, std::size_t size, std::size_t n, void *user) {
  static_cast<std::string *>(user)->append(data, size * n);
  return size * n;
}
} // namespace

long simple_request(const std::string &method, const std::string &url, const std::string &body,
                    int deadline_ms, std::string &response, std::string &error) {
  std::string version;
  return simple_request(method, url, body, deadline_ms, client_http::alpn, response, error,
                        version);
}

long simple_request(const std::string &method, const std::string &url, const std::string &body,
                    int deadline_ms, client_http http, std::string &response, std::string &error,
                    std::string &http_version) {
  static curl_global init;
  CURL *e = curl_easy_init();
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(deadline_ms));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(deadline_ms));
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method.c_str());
  // Like the probes: a proxy under test on loopback has a certificate for its public name.
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  if (!body.empty()) curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, curl_http_version(http));
  const CURLcode code = curl_easy_perform(e);
  long status = 0, version = 0;
  if (code == CURLE_OK) {
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(e, CURLINFO_HTTP_VERSION, &version);
  } else {
    error = curl_easy_strerror(code);
  }
  http_version = version_name(version);
  curl_easy_cleanup(e);
  return status;
}

} // namespace streamcheck::harness
