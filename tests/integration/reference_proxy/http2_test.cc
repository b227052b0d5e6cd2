// streamcheck-proxy over HTTP/2 (h2c by prior knowledge, TLS with ALPN h2) and HTTP/1.1 over
// TLS: the same relay as over HTTP/1.1, with HTTP/2's own signals (RST_STREAM for a cut answer,
// a client's RST_STREAM cancelling its upstream request).
#include "tests/integration/reference_proxy/h2_clients.h"

namespace streamcheck::test {
namespace {

constexpr std::string_view h2_preface_text = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

class ProxyHttp2 : public ProxyTest {
protected:
  std::string url(std::string_view scheme = "http") const {
    return std::string(scheme) + "://127.0.0.1:" + std::to_string(port()) +
           "/api/generate?streamcheck.id=";
  }
  static curl_request generate(const std::string &base, const std::string &id, json knobs) {
    knobs["id"] = id;
    curl_request req;
    req.url = base + id;
    req.body = generate_body(knobs);
    req.headers = {"Content-Type: application/json"};
    return req;
  }
  // Starts the proxy with TLS on a certificate made for this test.
  void start_tls(std::vector<std::string> flags = {}) {
    ASSERT_TRUE(make_certificate(dir_, cert(), dir_ / "key.pem")) << "openssl req failed";
    flags.insert(flags.end(),
                 {"--tls-cert", cert().string(), "--tls-key", (dir_ / "key.pem").string()});
    ASSERT_NO_FATAL_FAILURE(start(flags));
  }
  std::filesystem::path cert() const { return dir_ / "cert.pem"; }
};

TEST_F(ProxyHttp2, H2cByPriorKnowledgeRelaysTheWholeStream) {
  ASSERT_NO_FATAL_FAILURE(start());
  const curl_transfer t = curl_run(generate(url(), "h2c", quick_stream(6)));
  ASSERT_EQ(t.result, CURLE_OK) << t.error;
  EXPECT_EQ(t.http_version, CURL_HTTP_VERSION_2_0);
  EXPECT_EQ(t.status, 200);
  http_response r;
  r.body = t.body;
  expect_whole_stream(r, 6);
  const json e = finished_entry("h2c");
  ASSERT_TRUE(e.is_object());
  EXPECT_EQ(e["outcome"], "completed");
  // The upstream request is HTTP/1.1 with the proxy's rewriting, as for an HTTP/1.1 client.
  EXPECT_EQ(journal_header(e, "Host").value_or(""), mock_authority()) << e.dump();
  EXPECT_EQ(journal_header(e, "X-Forwarded-Proto").value_or(""), "http") << e.dump();
  const json line = log_line_for("/api/generate?streamcheck.id=h2c");
  ASSERT_TRUE(line.is_object());
  EXPECT_EQ(line["http"], "2");
  EXPECT_EQ(line["outcome"], "completed");
  EXPECT_EQ(line["bytes_out"], t.body.size());
}

TEST_F(ProxyHttp2, TlsNegotiatesH2AndStillServesHttp11) {
  ASSERT_NO_FATAL_FAILURE(start_tls());
  for (const long version : {CURL_HTTP_VERSION_2TLS, CURL_HTTP_VERSION_1_1}) {
    const std::string id = version == CURL_HTTP_VERSION_1_1 ? "tls11" : "tls2";
    curl_request req = generate(url("https"), id, quick_stream(4));
    req.version = version;
    req.ca_file = cert().string();
    const curl_transfer t = curl_run(req);
    ASSERT_EQ(t.result, CURLE_OK) << t.error;
    EXPECT_EQ(t.http_version,
              version == CURL_HTTP_VERSION_1_1 ? CURL_HTTP_VERSION_1_1 : CURL_HTTP_VERSION_2_0);
    http_response r;
    r.body = t.body;
    expect_whole_stream(r, 4);
    const json e = finished_entry(id);
    ASSERT_TRUE(e.is_object());
    EXPECT_EQ(journal_header(e, "X-Forwarded-Proto").value_or(""), "https") << e.dump();
  }
}

// A client that reads slowly (a 1 KiB window it does not give back) gets no more than its
// window; once it reads, the rest comes, whole and cleanly ended: nothing was dropped meanwhile.
TEST_F(ProxyHttp2, TheClientsWindowIsRespected) {
  ASSERT_NO_FATAL_FAILURE(start());
  h2c_client client(port(), 1024);
  ASSERT_TRUE(client.connected());
  const json knobs = {
      {"first_token_ms", 0}, {"gap_ms", 2}, {"tokens", 60}, {"token_bytes", 200}, {"id", "window"}};
  const std::int32_t id = client.post("/api/generate?streamcheck.id=window", generate_body(knobs));
  client.run_until([] { return false; }, deadline_in(1s)); // the mock emits all in ~120 ms
  EXPECT_LE(client.streams[id].body.size(), 1024u);
  EXPECT_GT(client.streams[id].body.size(), 0u);
  EXPECT_FALSE(client.streams[id].closed);
  client.open_window();
  ASSERT_TRUE(client.run_until([&] { return client.streams[id].closed; }, deadline_in(5s)));
  EXPECT_EQ(client.streams[id].error_code, 0u);
  http_response r;
  r.body = client.streams[id].body;
  expect_whole_stream(r, 60);
}

// A body larger than the stream's window (256 KiB) reaches the upstream whole: the window is
// given back as the upstream takes the bytes. With a declared length it goes upstream with it;
// without one, chunked.
TEST_F(ProxyHttp2, LargeRequestBodiesStreamUpstreamWhole) {
  ASSERT_NO_FATAL_FAILURE(start());
  for (const bool unknown_length : {false, true}) {
    const std::string id = unknown_length ? "big-chunked" : "big-length";
    json knobs = quick_stream(2);
    knobs["id"] = id;
    const std::string body = json{
        {"model", "llama3.2"},
        {"prompt", std::string(3 << 20, 'x')},
        {"streamcheck", knobs}}.dump();
    curl_request req;
    req.url = url() + id;
    req.body = body;
    req.unknown_length = unknown_length;
    req.headers = {"Content-Type: application/json"};
    const curl_transfer t = curl_run(req);
    ASSERT_EQ(t.result, CURLE_OK) << id << ": " << t.error;
    EXPECT_EQ(t.status, 200) << id << ": " << t.body.substr(0, 200);
    const json e = finished_entry(id);
    ASSERT_TRUE(e.is_object()) << id;
    EXPECT_EQ(e["body_bytes"], body.size()) << id;
    EXPECT_EQ(e["body_fnv1a64"], fnv1a64_hex(body)) << id;
    EXPECT_EQ(journal_header_count(e, "Content-Length"), unknown_length ? 0u : 1u) << e.dump();
    EXPECT_EQ(journal_header_count(e, "Transfer-Encoding"), unknown_length ? 1u : 0u) << e.dump();
  }
}

// A cleartext client on the TLS port, or one that never finishes its handshake, is cut off at
// --header-timeout instead of holding a connection slot.
TEST_F(ProxyHttp2, StalledTlsHandshakeIsCutAtTheHeaderTimeout) {
  ASSERT_NO_FATAL_FAILURE(start_tls({"--header-timeout", "1s"}));
  tcp_client c = connect();
  ASSERT_TRUE(c.send_all(std::string_view("\x16\x03\x01", 3))); // a ClientHello's first bytes
  const auto began = mono_clock::now();
  const read_end end = c.read_until_eof(deadline_in(8s));
  EXPECT_TRUE(end == read_end::eof || end == read_end::reset) << to_string(end);
  EXPECT_LT(ms_between(began, mono_clock::now()), 6000.0);
}

// A HEADERS frame whose CONTINUATION never comes opens no stream: the connection stays idle
// and is closed at its idle timeout, as an HTTP/1.1 head that never ends.
TEST_F(ProxyHttp2, UnfinishedHeadersDoNotHoldTheConnection) {
  ASSERT_NO_FATAL_FAILURE(start({"--header-timeout", "1s", "--keepalive-timeout", "1s"}));
  tcp_client c = connect();
  using namespace std::string_literals;
  const std::string settings = "\0\0\0\x04\0\0\0\0\0"s;             // empty SETTINGS
  const std::string headers_part = "\0\0\x01\x01\0\0\0\0\x01\x82"s; // :method GET, no END_HEADERS
  ASSERT_TRUE(c.send_all(std::string(h2_preface_text) + settings + headers_part));
  const auto began = mono_clock::now();
  const read_end end = c.read_until_eof(deadline_in(8s));
  EXPECT_TRUE(end == read_end::eof || end == read_end::reset) << to_string(end);
  EXPECT_LT(ms_between(began, mono_clock::now()), 6000.0);
}

TEST_F(ProxyHttp2, UpstreamCutMidStreamIsRstStreamNotACleanEnd) {
  ASSERT_NO_FATAL_FAILURE(start());
  for (const std::string kind : {"fin", "rst"}) {
    const curl_transfer t = curl_run(generate(url(), "cut-" + kind,
                                              {{"first_token_ms", 0},
                                               {"gap_ms", 5},
                                               {"tokens", 10},
                                               {"abort_after", 3},
                                               {"abort", kind}}));
    EXPECT_EQ(t.result, CURLE_HTTP2_STREAM) << kind << ": " << t.error;
    EXPECT_EQ(t.status, 200);
    for (const auto &event : ndjson_lines(t.body))
      EXPECT_TRUE(!event.is_object() || event["done"] == false) << t.body;
    const json line = log_line_for("/api/generate?streamcheck.id=cut-" + kind);
    ASSERT_TRUE(line.is_object());
    EXPECT_EQ(line["outcome"], "upstream_error") << line.dump();
  }
}

// The client's RST_STREAM closes the upstream request at once (Ollama stops generating), and
// the connection goes on carrying other streams.
TEST_F(ProxyHttp2, ClientRstStreamClosesTheUpstreamRequest) {
  ASSERT_NO_FATAL_FAILURE(start());
  h2c_client client(port());
  ASSERT_TRUE(client.connected());
  // Reset during a long pause (the model thinking mid-answer): no next token will tell the
  // proxy that nobody reads any more; only the reset can.
  json knobs = {{"first_token_ms", 0}, {"gap_ms", 10},      {"tokens", 10},
                {"stall_at", 2},       {"stall_ms", 20000}, {"id", "reset"}};
  const std::int32_t id = client.post("/api/generate?streamcheck.id=reset", generate_body(knobs));
  ASSERT_TRUE(client.run_until([&] { return ndjson_lines(client.streams[id].body).size() >= 2; },
                               deadline_in(5s)));
  client.reset(id);
  const auto reset_at = mono_clock::now();
  ASSERT_TRUE(client.run_until([] { return true; }, deadline_in(1s)));
  const json e = finished_entry("reset", deadline_in(5s));
  ASSERT_TRUE(e.is_object());
  EXPECT_EQ(e["outcome"], "peer_closed") << e.dump();
  EXPECT_LT(ms_between(reset_at, mono_clock::now()), 3000.0) << "not at once: " << e.dump();

  // Same connection, next stream: the reset was the stream's, not the connection's.
  knobs = quick_stream(3);
  knobs["id"] = "after-reset";
  const std::int32_t next =
      client.post("/api/generate?streamcheck.id=after-reset", generate_body(knobs));
  ASSERT_TRUE(client.run_until([&] { return client.streams[next].closed; }, deadline_in(5s)));
  EXPECT_EQ(client.streams[next].status, 200);
  EXPECT_EQ(client.streams[next].error_code, 0u);
  EXPECT_EQ(ndjson_lines(client.streams[next].body).size(), 4u) << client.streams[next].body;
  const json line = log_line_for("/api/generate?streamcheck.id=reset");
  ASSERT_TRUE(line.is_object());
  EXPECT_EQ(line["outcome"], "client_closed") << line.dump();
}

// Before the first token, too: a client that leaves while the model thinks stops it.
TEST_F(ProxyHttp2, ConnectionCloseBeforeTheFirstTokenClosesTheUpstream) {
  ASSERT_NO_FATAL_FAILURE(start());
  {
    h2c_client client(port());
    ASSERT_TRUE(client.connected());
    const json knobs = {{"first_token_ms", 20000}, {"id", "thinking"}};
    client.post("/api/generate?streamcheck.id=thinking", generate_body(knobs));
    ASSERT_TRUE(client.run_until([] { return false; }, deadline_in(500ms)) == false);
    ASSERT_TRUE(wait_for_entry("thinking").is_object());
  } // closes the connection
  const auto closed_at = mono_clock::now();
  const json e = finished_entry("thinking", deadline_in(5s));
  ASSERT_TRUE(e.is_object());
  EXPECT_EQ(e["outcome"], "peer_closed") << e.dump();
  EXPECT_LT(ms_between(closed_at, mono_clock::now()), 3000.0);
}

// Over TLS the client's going is a close_notify before the FIN: the upstream still learns at
// once, whichever protocol ALPN chose.
TEST_F(ProxyHttp2, TlsClientLeavingBeforeTheFirstTokenClosesTheUpstream) {
  ASSERT_NO_FATAL_FAILURE(start_tls());
  for (const long version : {CURL_HTTP_VERSION_2TLS, CURL_HTTP_VERSION_1_1}) {
    const std::string id = version == CURL_HTTP_VERSION_1_1 ? "leave11" : "leave2";
    curl_request req = generate(url("https"), id, {{"first_token_ms", 20000}});
    req.version = version;
    req.ca_file = cert().string();
    req.timeout_ms = 700;
    const curl_transfer t = curl_run(req);
    EXPECT_EQ(t.result, CURLE_OPERATION_TIMEDOUT) << t.error;
    const auto left_at = mono_clock::now();
    const json e = finished_entry(id, deadline_in(5s));
    ASSERT_TRUE(e.is_object()) << id;
    EXPECT_EQ(e["outcome"], "peer_closed") << id << ": " << e.dump();
    EXPECT_LT(ms_between(left_at, mono_clock::now()), 3000.0) << id;
  }
}

TEST_F(ProxyHttp2, FirstByteTimeoutIs504JsonWithCorsAndTheUpstreamClosed) {
  ASSERT_NO_FATAL_FAILURE(start({allow_app, "--first-byte-timeout", "1s"}));
  curl_request req = generate(url(), "h2-slow", {{"first_token_ms", 10000}});
  req.headers.push_back(origin_header);
  const curl_transfer t = curl_run(req);
  ASSERT_EQ(t.result, CURLE_OK) << t.error;
  EXPECT_EQ(t.status, 504);
  EXPECT_TRUE(json::parse(t.body, nullptr, false).contains("error")) << t.body;
  EXPECT_NE(t.head.find("access-control-allow-origin: " + std::string(app_origin)),
            std::string::npos)
      << t.head;
  const json e = finished_entry("h2-slow");
  ASSERT_TRUE(e.is_object());
  EXPECT_EQ(e["outcome"], "peer_closed") << e.dump();
  EXPECT_EQ(log_line_for("/api/generate?streamcheck.id=h2-slow")["outcome"], "upstream_timeout");
}

TEST_F(ProxyHttp2, PreflightAnsweredHereWithCors) {
  ASSERT_NO_FATAL_FAILURE(start({allow_app}));
  curl_request req;
  req.url = "http://127.0.0.1:" + std::to_string(port()) + "/api/chat";
  req.method = "OPTIONS";
  req.headers = {origin_header, "Access-Control-Request-Method: POST",
                 "Access-Control-Request-Headers: content-type"};
  const curl_transfer t = curl_run(req);
  ASSERT_EQ(t.result, CURLE_OK) << t.error;
  EXPECT_EQ(t.http_version, CURL_HTTP_VERSION_2_0);
  EXPECT_EQ(t.status, 204);
  EXPECT_NE(t.head.find("access-control-allow-origin: " + std::string(app_origin)),
            std::string::npos)
      << t.head;
  EXPECT_TRUE(journal().empty()) << "a preflight reached the upstream";
}

} // namespace
} // namespace streamcheck::test
