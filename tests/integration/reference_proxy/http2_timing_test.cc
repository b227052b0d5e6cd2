// Each event leaves the proxy as its own DATA frame(s) when the upstream sends it, over h2c and
// over TLS (no buffering until a window or a record fills). Bounds are generous: the events
// are 300 ms apart, and the check is that they arrive spread out, not at the end.
#include <csignal>

#include "tests/integration/reference_proxy/h2_clients.h"

namespace streamcheck::test {
namespace {

using ProxyHttp2Timing = ProxyTest;

// The body's reads: for each event (one NDJSON line), when its last byte arrived.
std::vector<mono_clock::time_point> event_arrivals(const curl_transfer &t) {
  std::vector<mono_clock::time_point> out;
  std::size_t seen = 0;
  for (const auto &[when, size] : t.reads) {
    for (std::size_t nl = t.body.find('\n', seen); nl != std::string::npos && nl < size;
         nl = t.body.find('\n', nl + 1))
      out.push_back(when);
    seen = size;
  }
  return out;
}

void expect_incremental(const curl_transfer &t, int tokens) {
  ASSERT_EQ(t.result, CURLE_OK) << t.error;
  EXPECT_EQ(t.http_version, CURL_HTTP_VERSION_2_0);
  const auto arrivals = event_arrivals(t);
  ASSERT_EQ(arrivals.size(), static_cast<std::size_t>(tokens + 1)) << t.body;
  // 300 ms between tokens: each arrives in its own read, at least 150 ms after the one before.
  for (std::size_t i = 1; i + 1 < arrivals.size(); ++i)
    EXPECT_GT(ms_between(arrivals[i - 1], arrivals[i]), 150.0) << "event " << i;
}

TEST_F(ProxyHttp2Timing, H2cEventsArriveAsGenerated) {
  ASSERT_NO_FATAL_FAILURE(start());
  curl_request req;
  req.url = "http://127.0.0.1:" + std::to_string(port()) + "/api/generate";
  req.body = generate_body({{"first_token_ms", 0}, {"gap_ms", 300}, {"tokens", 4}});
  expect_incremental(curl_run(req), 4);
}

TEST_F(ProxyHttp2Timing, TlsH2EventsArriveAsGenerated) {
  ASSERT_TRUE(make_certificate(dir_, dir_ / "cert.pem", dir_ / "key.pem"));
  ASSERT_NO_FATAL_FAILURE(start(
      {"--tls-cert", (dir_ / "cert.pem").string(), "--tls-key", (dir_ / "key.pem").string()}));
  curl_request req;
  req.url = "https://127.0.0.1:" + std::to_string(port()) + "/api/generate";
  req.version = CURL_HTTP_VERSION_2TLS;
  req.ca_file = (dir_ / "cert.pem").string();
  req.body = generate_body({{"first_token_ms", 0}, {"gap_ms", 300}, {"tokens", 4}});
  expect_incremental(curl_run(req), 4);
}

// SIGTERM: an idle HTTP/2 connection gets GOAWAY and is closed, a stream in flight finishes
// cleanly on its connection, then the proxy exits 0.
TEST_F(ProxyHttp2Timing, DrainLetsStreamsFinishAndClosesIdleConnections) {
  ASSERT_NO_FATAL_FAILURE(start({"--drain-timeout", "20s"}));
  h2c_client idle(port());
  ASSERT_TRUE(idle.connected());
  json knobs = quick_stream(2);
  knobs["id"] = "before-drain";
  const std::int32_t first =
      idle.post("/api/generate?streamcheck.id=before-drain", generate_body(knobs));
  ASSERT_TRUE(idle.run_until([&] { return idle.streams[first].closed; }, deadline_in(5s)));

  h2c_client busy(port());
  ASSERT_TRUE(busy.connected());
  knobs = {{"first_token_ms", 0}, {"gap_ms", 100}, {"tokens", 15}, {"id", "h2-draining"}};
  const std::int32_t id =
      busy.post("/api/generate?streamcheck.id=h2-draining", generate_body(knobs));
  ASSERT_TRUE(busy.run_until([&] { return ndjson_lines(busy.streams[id].body).size() >= 3; },
                             deadline_in(5s)));

  ASSERT_EQ(::kill(proxy_->pid(), SIGTERM), 0);
  const auto signalled = mono_clock::now();
  idle.run_until([] { return false; }, deadline_in(3s));
  EXPECT_TRUE(idle.ended()) << "the idle HTTP/2 connection is still open";
  EXPECT_LT(ms_between(signalled, mono_clock::now()), 2500.0);

  ASSERT_TRUE(busy.run_until([&] { return busy.streams[id].closed; }, deadline_in(10s)));
  EXPECT_EQ(busy.streams[id].error_code, 0u) << "not a clean end";
  EXPECT_EQ(ndjson_lines(busy.streams[id].body).size(), 16u) << busy.streams[id].body;
  busy.run_until([] { return false; }, deadline_in(3s));
  EXPECT_TRUE(busy.ended()) << "the drained connection stays open";
  const auto st = proxy_->wait_until(deadline_in(5s));
  ASSERT_TRUE(st) << "still running after the stream ended";
  EXPECT_TRUE(exited_with(st, 0)) << describe_status(*st) << "\n" << proxy_err();
  EXPECT_EQ(finished_entry("h2-draining")["outcome"], "completed");
}

} // namespace
} // namespace streamcheck::test
