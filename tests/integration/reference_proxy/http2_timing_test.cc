// Each event leaves the proxy as its own DATA frame(s) when the upstream sends it, over h2c and
// over TLS (no buffering until a window or a record fills). Bounds are generous: the events
// are 300 ms apart, and the check is that they arrive spread out, not at the end.
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

} // namespace
} // namespace streamcheck::test
