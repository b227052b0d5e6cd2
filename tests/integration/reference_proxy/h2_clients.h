// Clients for the proxy's HTTP/2 side: libcurl (what browsers' stacks behave like: ALPN, h2c by
// prior knowledge, per-read timestamps, CURLE_HTTP2_STREAM on a reset stream) and a bare nghttp2
// client on a blocking socket, for what libcurl does not let a test choose: resetting one stream
// while the connection stays open.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cstring>
#include <curl/curl.h>
#include <functional>
#include <list>
#include <map>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/integration/reference_proxy/proxy_fixture.h"

namespace streamcheck::test {

// One libcurl transfer: the body with the time each read arrived, how it ended, the protocol.
struct curl_transfer {
  CURLcode result = CURLE_OK;
  long status = 0;
  long http_version = 0; // CURL_HTTP_VERSION_2_0, CURL_HTTP_VERSION_1_1
  std::string head;      // the response's header lines as libcurl gives them
  std::string body;
  std::vector<std::pair<mono_clock::time_point, std::size_t>> reads; // when, body size after
  std::string error;
};

struct curl_request {
  std::string url;
  long version = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
  std::string method = "POST";
  std::string body;
  std::vector<std::string> headers;
  std::string ca_file;         // https: the throwaway certificate to trust
  long timeout_ms = 20000;     // then libcurl gives up and closes the connection
  bool unknown_length = false; // the body sent without Content-Length, read piece by piece
};

inline curl_transfer curl_run(const curl_request &req) {
  curl_transfer out;
  CURL *curl = curl_easy_init();
  if (!curl) return out;
  curl_slist *headers = nullptr;
  for (const auto &h : req.headers)
    headers = curl_slist_append(headers, h.c_str());
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, req.version);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  std::string_view unsent = req.body;
  if (req.unknown_length) {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_READDATA, &unsent);
    curl_easy_setopt(
        curl, CURLOPT_READFUNCTION,
        +[](char *buf, std::size_t, std::size_t n, void *user) -> std::size_t {
          auto &rest = *static_cast<std::string_view *>(user);
          const std::size_t take = std::min<std::size_t>({n, rest.size(), 16384});
          std::memcpy(buf, rest.data(), take);
          rest.remove_prefix(take);
          return take;
        });
  } else if (!req.body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req.body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(req.body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, req.timeout_ms);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  if (!req.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, req.ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION,
      +[](char *data, std::size_t, std::size_t n, void *user) -> std::size_t {
        auto &t = *static_cast<curl_transfer *>(user);
        t.body.append(data, n);
        t.reads.emplace_back(mono_clock::now(), t.body.size());
        return n;
      });
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &out);
  curl_easy_setopt(
      curl, CURLOPT_HEADERFUNCTION,
      +[](char *data, std::size_t, std::size_t n, void *user) -> std::size_t {
        static_cast<curl_transfer *>(user)->head.append(data, n);
        return n;
      });
  out.result = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.status);
  curl_easy_getinfo(curl, CURLINFO_HTTP_VERSION, &out.http_version);
  out.error = error;
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return out;
}

// HTTP/2 by prior knowledge over a blocking loopback socket, driven by the test's thread.
class h2c_client {
public:
  struct stream {
    int status = 0;
    std::string body;
    bool closed = false;
    std::uint32_t error_code = 0; // of the RST_STREAM that closed it, 0 for a clean end
  };

  // window > 0: the client's stream window, given back only by open_window() (a client that
  // reads slowly); 0: nghttp2's defaults, given back as data arrives.
  explicit h2c_client(unsigned short port, std::int32_t window = 0) : manual_window_(window > 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) return;
    nghttp2_session_callbacks *cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(
        cb, +[](nghttp2_session *, const nghttp2_frame *f, const std::uint8_t *n, std::size_t nl,
                const std::uint8_t *v, std::size_t vl, std::uint8_t, void *u) {
          if (std::string_view(reinterpret_cast<const char *>(n), nl) == ":status")
            static_cast<h2c_client *>(u)->streams[f->hd.stream_id].status =
                std::stoi(std::string(reinterpret_cast<const char *>(v), vl));
          return 0;
        });
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
        cb, +[](nghttp2_session *, std::uint8_t, std::int32_t id, const std::uint8_t *d,
                std::size_t len, void *u) {
          auto &c = *static_cast<h2c_client *>(u);
          c.streams[id].body.append(reinterpret_cast<const char *>(d), len);
          if (c.manual_window_ && c.window_open_) nghttp2_session_consume(c.session_, id, len);
          if (c.manual_window_ && !c.window_open_) c.unconsumed_[id] += len;
          return 0;
        });
    nghttp2_session_callbacks_set_on_stream_close_callback(
        cb, +[](nghttp2_session *, std::int32_t id, std::uint32_t code, void *u) {
          auto &s = static_cast<h2c_client *>(u)->streams[id];
          s.closed = true;
          s.error_code = code;
          return 0;
        });
    nghttp2_option *options = nullptr;
    nghttp2_option_new(&options);
    nghttp2_option_set_no_auto_window_update(options, manual_window_ ? 1 : 0);
    nghttp2_session_client_new2(&session_, cb, this, options);
    nghttp2_option_del(options);
    nghttp2_session_callbacks_del(cb);
    const nghttp2_settings_entry window_setting{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE,
                                                static_cast<std::uint32_t>(window)};
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, manual_window_ ? &window_setting : nullptr,
                            manual_window_ ? 1 : 0);
  }
  ~h2c_client() {
    if (session_) nghttp2_session_del(session_);
    if (fd_ >= 0) ::close(fd_);
  }
  h2c_client(const h2c_client &) = delete;
  h2c_client &operator=(const h2c_client &) = delete;

  bool connected() const { return session_ != nullptr; }
  bool ended() const { return ended_; } // the proxy closed the connection

  // POST with this body; returns the stream id.
  std::int32_t post(const std::string &path, std::string body) {
    bodies_.push_back(std::move(body));
    const std::string authority = std::string(public_host);
    const auto nv = [](std::string_view n, std::string_view v) {
      return nghttp2_nv{reinterpret_cast<std::uint8_t *>(const_cast<char *>(n.data())),
                        reinterpret_cast<std::uint8_t *>(const_cast<char *>(v.data())), n.size(),
                        v.size(), NGHTTP2_NV_FLAG_NONE};
    };
    const nghttp2_nv head[] = {nv(":method", "POST"), nv(":scheme", "http"),
                               nv(":authority", authority), nv(":path", path),
                               nv("content-type", "application/json")};
    nghttp2_data_provider provider{};
    provider.source.ptr = &bodies_.back();
    provider.read_callback =
        +[](nghttp2_session *, std::int32_t, std::uint8_t *buf, std::size_t length,
            std::uint32_t *flags, nghttp2_data_source *source, void *) -> ssize_t {
      auto &rest = *static_cast<std::string *>(source->ptr);
      const std::size_t n = std::min(length, rest.size());
      std::memcpy(buf, rest.data(), n);
      rest.erase(0, n);
      if (rest.empty()) *flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(n);
    };
    return nghttp2_submit_request(session_, nullptr, head, std::size(head), &provider, nullptr);
  }

  // From now on the client reads everything at once (what it held back is given back too).
  void open_window() {
    window_open_ = true;
    for (const auto &[id, n] : unconsumed_)
      nghttp2_session_consume(session_, id, n);
    unconsumed_.clear();
  }

  void reset(std::int32_t id) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
  }

  // Sends what is queued and reads until done() holds; false at the deadline or once the
  // connection ended.
  bool run_until(const std::function<bool()> &done, mono_clock::time_point deadline) {
    for (;;) {
      if (!send_pending()) return false;
      if (done()) return true;
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - mono_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 100))) <= 0) continue;
      char buf[16384];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        ended_ = true;
        return false;
      }
      if (nghttp2_session_mem_recv(session_, reinterpret_cast<std::uint8_t *>(buf),
                                   static_cast<std::size_t>(n)) < 0)
        return false;
    }
  }

  std::map<std::int32_t, stream> streams;

private:
  bool send_pending() {
    for (;;) {
      const std::uint8_t *data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) return false;
      if (n == 0) return true;
      if (::send(fd_, data, static_cast<std::size_t>(n), MSG_NOSIGNAL) != n) return false;
    }
  }

  int fd_ = -1;
  bool ended_ = false;
  bool manual_window_ = false;
  bool window_open_ = false;
  std::map<std::int32_t, std::size_t> unconsumed_;
  nghttp2_session *session_ = nullptr;
  std::list<std::string> bodies_; // what the data providers read from: stable addresses
};

// A throwaway self-signed certificate for 127.0.0.1, made with the openssl CLI.
inline bool make_certificate(const temp_dir &dir, const std::filesystem::path &cert,
                             const std::filesystem::path &key) {
  auto openssl = process::spawn({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                 "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                                 "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                                 "-keyout", key.string(), "-out", cert.string()},
                                dir / "openssl.stdout", dir / "openssl.stderr");
  if (!openssl) return false;
  const auto status = openssl->wait_until(deadline_in(20s));
  return exited_with(status, 0);
}

} // namespace streamcheck::test
