// bench_proxy_h2_latency: the latency streamcheck-proxy and nginx add to every streamed event
// over HTTP/2 (h2c by prior knowledge; the proxy also over TLS with ALPN h2) beside HTTP/1.1
// through the same instances, in one run.
//
// Reproduce (repo root, an optimised build; about 20 s):
//   cmake --build build --target bench_proxy_h2_latency streamcheck-proxy
//   build/bench/bench_proxy_h2_latency [--streams N] [--rounds R]
//
// How it measures: the mock library runs in this process; every event carries its stamp
// "streamcheck":{"t_us":T} (µs since the mock finished reading the request, whose moment the
// journal holds on the monotonic clock), so emission = t0 + T is comparable with the arrival
// time libcurl's write callback takes. Added latency = arrival - emission. The client is
// libcurl's multi interface on one thread: over TLS h2 all N streams share one connection (as a
// browser's tab does); over h2c and HTTP/1.1 each has its own (see run_round). nginx runs
// nginx/ollama.conf with `http2` added to its listen, which makes that port h2c only (its
// HTTP/1.1 figures are bench_proxy_latency's; its upstream side is unchanged: HTTP/1.1,
// buffering off); Rows alternate per round, so a machine that gets
// busier favours no row. Both run one worker per core (nginx: worker_processes auto; the proxy: its
// default threads). Figures include libcurl's own per-read cost (the direct row).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <curl/curl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "bench/proxy_support.h"
#include "bench/support/relays.h"
#include "common/child_process.h"
#include "common/clock.h"
#include "mock_upstream/server.h"

namespace {

using namespace streamcheck;
using namespace streamcheck::bench;

constexpr int tokens = 100;
constexpr int gap_ms = 10;

struct transfer {
  std::string id;
  std::string received;
  std::size_t scanned = 0;
  std::vector<std::pair<std::int64_t, std::int64_t>> events; // (the mock's t_us, arrival µs)
};

std::size_t on_body(char *data, std::size_t, std::size_t n, void *user) {
  const std::int64_t now = monotonic_us();
  auto &t = *static_cast<transfer *>(user);
  t.received.append(data, n);
  for (const auto &stamp : take_stamps(t.received, t.scanned))
    t.events.emplace_back(stamp.t_us, now);
  return n;
}

// N concurrent streams through `url`; the added latency of every event, in µs.
std::vector<double> run_round(const std::string &url, long version, const std::string &ca_file,
                              int streams, mock::server &mock, const std::string &id_prefix) {
  CURLM *multi = curl_multi_init();
  // libcurl 7.88 fails all but one of the streams it multiplexes on an h2c prior-knowledge
  // connection ("Error in the HTTP2 framing layer", against nginx as against the proxy; nghttp
  // -m 20 streams them fine): h2c streams get a connection each, TLS ones share one.
  const bool multiplex = version == CURL_HTTP_VERSION_2TLS;
  curl_multi_setopt(multi, CURLMOPT_PIPELINING, multiplex ? CURLPIPE_MULTIPLEX : CURLPIPE_NOTHING);
  std::vector<std::unique_ptr<transfer>> transfers;
  std::vector<std::string> bodies;
  std::vector<CURL *> handles;
  curl_slist *headers = curl_slist_append(nullptr, "Content-Type: application/json");
  bodies.reserve(static_cast<std::size_t>(streams));
  for (int i = 0; i < streams; ++i) {
    auto t = std::make_unique<transfer>();
    t->id = id_prefix + std::to_string(i);
    protocol::scenario timeline{.first_token_ms = 0, .gap_ms = gap_ms, .tokens = tokens};
    const std::string request = generate_request(t->id, timeline);
    bodies.push_back(request.substr(request.find("\r\n\r\n") + 4));
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, version);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, bodies.back().c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_PIPEWAIT, multiplex ? 1L : 0L); // wait for the one connection
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60'000L);
    if (!ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, ca_file.c_str());
    handles.push_back(h);
    transfers.push_back(std::move(t));
  }
  // Stream i starts at i * gap / N: the relay carries a steady N / gap events per second
  // instead of N-event bursts whose queueing the percentiles would measure (as
  // bench_proxy_latency).
  const std::int64_t start_us = monotonic_us();
  const std::int64_t spread_us = std::int64_t{gap_ms} * 1000;
  std::size_t added_handles = 0;
  for (int running = 1; running > 0 || added_handles < handles.size();) {
    while (added_handles < handles.size() &&
           monotonic_us() >= start_us + spread_us * static_cast<std::int64_t>(added_handles) /
                                            static_cast<std::int64_t>(handles.size()))
      curl_multi_add_handle(multi, handles[added_handles++]);
    curl_multi_perform(multi, &running);
    if (running > 0 || added_handles < handles.size())
      curl_multi_poll(multi, nullptr, 0, added_handles < handles.size() ? 1 : 100, nullptr);
  }
  int failed = 0;
  CURLcode first_failure = CURLE_OK;
  int left = 0;
  while (CURLMsg *m = curl_multi_info_read(multi, &left))
    if (m->msg == CURLMSG_DONE && m->data.result != CURLE_OK && failed++ == 0)
      first_failure = m->data.result;
  if (failed > 0)
    std::printf("  %s: %d of %d streams failed (%s)\n", url.c_str(), failed, streams,
                curl_easy_strerror(first_failure));
  for (CURL *h : handles) {
    curl_multi_remove_handle(multi, h);
    curl_easy_cleanup(h);
  }
  curl_slist_free_all(headers);
  curl_multi_cleanup(multi);

  std::vector<double> added;
  for (const auto &t : transfers) {
    const auto entries = mock.requests().entries(t->id, 0);
    if (entries.empty()) continue;
    const std::int64_t emitted_base = entries[0].received_us + entries[0].body_us;
    for (const auto &[t_us, arrival] : t->events)
      added.push_back(static_cast<double>(arrival - (emitted_base + t_us)));
  }
  return added;
}

struct row {
  std::string name, url, ca_file;
  long version;
  std::vector<double> added;
};

bool write_nginx_h2_config(const std::string &from, const std::string &to) {
  std::ifstream in(from);
  if (!in) return false;
  std::stringstream text;
  text << in.rdbuf();
  std::string conf = text.str();
  const std::string listen = "listen 8080;";
  const auto at = conf.find(listen);
  if (at == std::string::npos) return false;
  conf.replace(at, listen.size(), "listen 8080 http2;");
  std::ofstream out(to);
  out << conf;
  return static_cast<bool>(out);
}

bool make_certificate(const std::string &dir) {
  child_process openssl;
  const auto spawned =
      openssl.start({.argv = {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                              "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                              "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
                              dir + "/key.pem", "-out", dir + "/cert.pem"},
                     .log = dir + "/openssl.log"});
  return spawned && openssl.wait(std::chrono::seconds(20)) == 0;
}

} // namespace

int main(int argc, char **argv) {
  int streams = 20;
  int rounds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--streams") == 0) streams = std::max(1, std::atoi(argv[i + 1]));
    if (std::strcmp(argv[i], "--rounds") == 0) rounds = std::max(1, std::atoi(argv[i + 1]));
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const std::string dir = "/tmp/bench_proxy_h2_latency." + std::to_string(getpid());
  std::filesystem::create_directories(dir);

  mock::server_options mo;
  mo.behaviour.request_policy = *mock::policy_for_profile("ollama");
  mo.threads = 1;
  auto started = mock::server::start(mo);
  if (!started) {
    std::fprintf(stderr, "bench_proxy_h2_latency: %s\n", started.message().c_str());
    return 2;
  }
  mock::server &mock = *started.value();
  if (!make_certificate(dir)) {
    std::fprintf(stderr, "bench_proxy_h2_latency: openssl req failed (see %s)\n", dir.c_str());
    return 2;
  }
  const std::string binary = default_proxy_binary();
  child_process cleartext, tls;
  auto clear_port = start_proxy(cleartext, binary, mock.port(), {}, dir + "/proxy.log");
  auto tls_port = start_proxy(tls, binary, mock.port(),
                              {"--tls-cert", dir + "/cert.pem", "--tls-key", dir + "/key.pem"},
                              dir + "/proxy-tls.log");
  if (!clear_port || !tls_port) {
    std::fprintf(stderr, "bench_proxy_h2_latency: cannot start streamcheck-proxy\n");
    return 2;
  }
  const std::string conf = dir + "/nginx-h2.conf";
  if (!write_nginx_h2_config(std::string(STREAMCHECK_SOURCE_DIR) + "/nginx/ollama.conf", conf)) {
    std::fprintf(stderr, "bench_proxy_h2_latency: cannot write %s\n", conf.c_str());
    return 2;
  }
  nginx_relay nginx("", conf, dir + "/nginx", mock.port());
  std::optional<unsigned short> nginx_port;
  if (nginx.unavailable().empty() && nginx.setup_problem().empty())
    if (auto p = nginx.start()) nginx_port = *p;

  const auto at = [](unsigned short port, const char *scheme) {
    return std::string(scheme) + "://127.0.0.1:" + std::to_string(port) + "/api/generate";
  };
  std::vector<row> rows = {
      // No relay: the floor of this client and the mock (which speaks HTTP/1.1 only).
      {"direct HTTP/1.1", at(mock.port(), "http"), "", CURL_HTTP_VERSION_1_1, {}},
      {"proxy HTTP/1.1", at(*clear_port, "http"), "", CURL_HTTP_VERSION_1_1, {}},
      {"proxy h2c", at(*clear_port, "http"), "", CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE, {}},
      {"proxy TLS h2", at(*tls_port, "https"), dir + "/cert.pem", CURL_HTTP_VERSION_2TLS, {}},
  };
  if (nginx_port) {
    rows.push_back(
        {"nginx h2c", at(*nginx_port, "http"), "", CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE, {}});
  }
  std::printf("bench_proxy_h2_latency: %d streams x %d events %d ms apart, %d round(s); "
              "nginx: %s\n",
              streams, tokens + 1, gap_ms, rounds,
              nginx_port ? conf.c_str() : "skipped (not found or config refused)");
  for (int round = 0; round < rounds; ++round)
    for (std::size_t k = 0; k < rows.size(); ++k) {
      row &r = rows[round % 2 ? rows.size() - 1 - k : k];
      const auto added = run_round(r.url, r.version, r.ca_file, streams, mock,
                                   "r" + std::to_string(round) + "-" + std::to_string(k) + "-");
      r.added.insert(r.added.end(), added.begin(), added.end());
    }
  std::printf("  %-16s %8s %10s %10s %10s\n", "relay", "events", "p50 us", "p99 us", "max us");
  for (const auto &r : rows)
    std::printf("  %-16s %8zu %10.0f %10.0f %10.0f\n", r.name.c_str(), r.added.size(),
                percentile(r.added, 0.5), percentile(r.added, 0.99), percentile(r.added, 1.0));
  nginx.stop();
  cleartext.stop(std::chrono::milliseconds(5000));
  tls.stop(std::chrono::milliseconds(5000));
  std::filesystem::remove_all(dir);
  curl_global_cleanup();
  return 0;
}
