// streamcheck-proxy's behaviour, proved with bytes on the wire, the mock's journal and the access
// log: framing per client version, keep-alive on both sides, truncation, upstream timeouts and
// errors, no retries, the access log. Bounds here do not depend on scheduling (timeouts are 1 s
// against 10 s silences); the tests whose bounds do are in timing_test.cc.
#include <csignal>
#include <gtest/gtest.h>

#include "tests/integration/reference_proxy/proxy_fixture.h"

namespace streamcheck::test {
namespace {

// ---------------------------------------------------------------------------------------------
// Framing

using ProxyFraming = ProxyTest;

TEST_F(ProxyFraming, StreamIsChunkedToAnHttp11Client) {
  ASSERT_NO_FATAL_FAILURE(start());
  tcp_client c = connect();
  ASSERT_TRUE(c.send_all(generate_request("s11", quick_stream())));
  const http_response r = read_response(c, deadline_in(10s));
  ASSERT_TRUE(r.complete) << c.received();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.frame, body_framing::chunked) << r.raw_head;
  EXPECT_EQ(r.header_count("Transfer-Encoding"), 1u);
  EXPECT_EQ(r.header_count("Content-Length"), 0u);
  EXPECT_FALSE(r.header("Connection")) << r.raw_head;
  EXPECT_EQ(r.header("Content-Type").value_or(""), "application/x-ndjson");
  EXPECT_TRUE(is_imf_fixdate(r.header("Date").value_or(""))) << r.raw_head;
  EXPECT_TRUE(c.received().ends_with("0\r\n\r\n"));
  expect_whole_stream(r, 6);
  // The connection stays open for another request.
  EXPECT_EQ(c.read_for(deadline_in(200ms)), read_end::timeout);
}

TEST_F(ProxyFraming, StreamIsCloseDelimitedToAnHttp10Client) {
  ASSERT_NO_FATAL_FAILURE(start());
  tcp_client c = connect();
  ASSERT_TRUE(c.send_all(generate_request("s10", quick_stream(), {}, "HTTP/1.0")));
  ASSERT_EQ(c.read_until_eof(deadline_in(10s)), read_end::eof) << c.received();
  const http_response r = parse_http_response(c.received());
  EXPECT_EQ(r.status, 200) << r.raw_head;
  EXPECT_EQ(r.frame, body_framing::close_delimited) << r.raw_head;
  EXPECT_EQ(r.header_count("Transfer-Encoding"), 0u) << r.raw_head;
  EXPECT_EQ(r.header_count("Content-Length"), 0u) << r.raw_head;
  EXPECT_TRUE(has_token(r.header("Connection"), "close")) << r.raw_head;
  expect_whole_stream(r, 6);
  // Upstream it still went as HTTP/1.1 (chunked answers, a reusable connection).
  const json e = finished_entry("s10");
  ASSERT_TRUE(e.is_object());
  EXPECT_EQ(e["version"], "1.1");
  EXPECT_EQ(e["outcome"], "completed");
}

TEST_F(ProxyFraming, ContentLengthPassesThroughForWholeAnswers) {
  ASSERT_NO_FATAL_FAILURE(start());
  for (const char *version : {"HTTP/1.1", "HTTP/1.0"}) {
    SCOPED_TRACE(version);
    tcp_client c = connect();
    ASSERT_TRUE(c.send_all(
        request_bytes("GET", "/api/version", version, {"Host: " + std::string(public_host)})));
    const http_response r = read_response(c, deadline_in(5s));
    ASSERT_TRUE(r.complete) << c.received();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.frame, body_framing::content_length) << r.raw_head;
    EXPECT_EQ(r.header("Content-Length").value_or(""), std::to_string(r.body.size()));
    EXPECT_EQ(r.header_count("Transfer-Encoding"), 0u);
    EXPECT_EQ(json_body(r)["version"].is_string(), true) << r.body;
  }
  // A large answer (the mock chunks it) arrives byte for byte as the mock sends it directly.
  const auto direct =
      http_exchange(mock_port_, request_bytes("GET", "/api/tags", "HTTP/1.1",
                                              {"Host: " + mock_authority(), "Connection: close"}));
  ASSERT_TRUE(direct);
  const http_response proxied = exchange(
      request_bytes("GET", "/api/tags", "HTTP/1.1", {"Host: " + std::string(public_host)}));
  ASSERT_TRUE(proxied.complete);
  EXPECT_EQ(proxied.status, 200);
  EXPECT_EQ(proxied.body, parse_http_response(*direct).body);
}

// An HTTP/1.0 client that asks for keep-alive keeps its connection across whole answers (a
// stream, close-delimited for it, ends the connection).
TEST_F(ProxyFraming, Http10KeepAliveIsHonouredForWholeAnswers) {
  ASSERT_NO_FATAL_FAILURE(start());
  tcp_client c = connect();
  const std::string version =
      request_bytes("GET", "/api/version", "HTTP/1.0",
                    {"Host: " + std::string(public_host), "Connection: keep-alive"});
  ASSERT_TRUE(c.send_all(version));
  const http_response first = read_response(c, deadline_in(5s));
  ASSERT_TRUE(first.complete) << c.received();
  EXPECT_EQ(first.status, 200);
  EXPECT_TRUE(has_token(first.header("Connection"), "keep-alive")) << first.raw_head;
  ASSERT_TRUE(c.send_all(
      generate_request("ka10", quick_stream(2), {"Connection: keep-alive"}, "HTTP/1.0")));
  EXPECT_EQ(c.read_until_eof(deadline_in(10s)), read_end::eof);
  const http_response second =
      parse_http_response(std::string_view(c.received()).substr(first.consumed));
  EXPECT_EQ(second.status, 200) << c.received();
  EXPECT_FALSE(has_token(second.header("Connection"), "keep-alive")) << second.raw_head;
  expect_whole_stream(second, 2);
}

TEST_F(ProxyFraming, HeadGetsTheHeadersOnlyAndTheConnectionGoesOn) {
  ASSERT_NO_FATAL_FAILURE(start());
  tcp_client c = connect();
  ASSERT_TRUE(
      c.send_all(request_bytes("HEAD", "/", "HTTP/1.1", {"Host: " + std::string(public_host)})));
  const http_response head = read_response(c, deadline_in(5s), 0, true);
  ASSERT_TRUE(head.complete) << c.received();
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(c.received().size(), head.consumed) << "a body after a HEAD answer:\n" << c.received();
  ASSERT_TRUE(
      c.send_all(request_bytes("GET", "/", "HTTP/1.1", {"Host: " + std::string(public_host)})));
  const http_response get = read_response(c, deadline_in(5s), head.consumed);
  ASSERT_TRUE(get.complete) << c.received();
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, "Ollama is running");
  EXPECT_EQ(head.header("Content-Length"), get.header("Content-Length")) << head.raw_head;
}

TEST_F(ProxyFraming, ConnectionCloseFromTheClientIsHonoured) {
  ASSERT_NO_FATAL_FAILURE(start());
  tcp_client c = connect();
  ASSERT_TRUE(c.send_all(generate_request("close", quick_stream(), {"Connection: close"})));
  const http_response r = read_response(c, deadline_in(10s));
  ASSERT_TRUE(r.complete) << c.received();
  EXPECT_TRUE(has_token(r.header("Connection"), "close")) << r.raw_head;
  expect_whole_stream(r, 6);
  expect_closed(c);
}

// ---------------------------------------------------------------------------------------------
// Keep-alive on both sides

TEST_F(ProxyFraming, KeepAliveOnBothSides) {
  ASSERT_NO_FATAL_FAILURE(start());
  tcp_client c = connect();
  ASSERT_TRUE(c.send_all(generate_request("ka1", quick_stream(3))));
  const http_response first = read_response(c, deadline_in(10s));
  ASSERT_TRUE(first.complete) << c.received();
  EXPECT_EQ(first.status, 200);
  EXPECT_FALSE(first.header("Connection")) << first.raw_head;

  ASSERT_TRUE(c.send_all(generate_request("ka2", quick_stream(3))));
  const http_response second = read_response(c, deadline_in(10s), first.consumed);
  ASSERT_TRUE(second.complete) << c.received();
  EXPECT_EQ(second.status, 200);
  expect_whole_stream(second, 3);

  const json e1 = finished_entry("ka1");
  const json e2 = finished_entry("ka2");
  ASSERT_TRUE(e1.is_object() && e2.is_object());
  EXPECT_EQ(e1["version"], "1.1");
  EXPECT_EQ(e2["version"], "1.1");
  EXPECT_EQ(e2["connection"], e1["connection"]) << "the upstream connection was not reused";
  EXPECT_EQ(e1["request_on_connection"], 1);
  EXPECT_EQ(e2["request_on_connection"], 2);

  const json l2 = log_line_for("/api/generate?streamcheck.id=ka2");
  ASSERT_TRUE(l2.is_object());
  EXPECT_EQ(l2["upstream_reused"], true) << l2.dump();
}

// ---------------------------------------------------------------------------------------------
// Truncation: an upstream that dies mid-answer never looks like a finished answer.

using ProxyTruncation = ProxyTest;

TEST_F(ProxyTruncation, UpstreamFinMidStreamEndsWithoutTheLastChunk) {
  ASSERT_NO_FATAL_FAILURE(start());
  tcp_client c = connect();
  ASSERT_TRUE(c.send_all(generate_request("fin", {{"first_token_ms", 0},
                                                  {"gap_ms", 5},
                                                  {"tokens", 10},
                                                  {"abort_after", 3},
                                                  {"abort", "fin"}})));
  const read_end end = c.read_until_eof(deadline_in(10s));
  EXPECT_TRUE(end == read_end::eof || end == read_end::reset) << to_string(end);
  const http_response r = parse_http_response(c.received());
  EXPECT_EQ(r.status, 200) << c.received();
  EXPECT_EQ(r.frame, body_framing::chunked);
  EXPECT_FALSE(r.complete) << "a clean end after an upstream failure:\n" << c.received();
  EXPECT_EQ(c.received().find("0\r\n\r\n"), std::string::npos) << c.received();
  const auto events = ndjson_lines(r.body);
  ASSERT_EQ(events.size(), 3u) << r.body;
  for (const auto &e : events)
    EXPECT_EQ(e["done"], false);

  const json line = log_line_for("/api/generate?streamcheck.id=fin");
  ASSERT_TRUE(line.is_object());
  EXPECT_EQ(line["outcome"], "upstream_error") << line.dump();
  EXPECT_EQ(line["status"], 200);
  EXPECT_EQ(line["bytes_out"], r.body.size());
}

TEST_F(ProxyTruncation, UpstreamResetMidStreamEndsWithoutTheLastChunk) {
  ASSERT_NO_FATAL_FAILURE(start());
  tcp_client c = connect();
  ASSERT_TRUE(c.send_all(generate_request("rst", {{"first_token_ms", 0},
                                                  {"gap_ms", 5},
                                                  {"tokens", 10},
                                                  {"abort_after", 3},
                                                  {"abort", "rst"}})));
  const read_end end = c.read_until_eof(deadline_in(10s));
  EXPECT_TRUE(end == read_end::eof || end == read_end::reset) << to_string(end);
  const http_response r = parse_http_response(c.received());
  EXPECT_EQ(r.status, 200) << c.received();
  EXPECT_FALSE(r.complete) << c.received();
  EXPECT_EQ(c.received().find("0\r\n\r\n"), std::string::npos) << c.received();
  EXPECT_LE(ndjson_lines(r.body).size(), 3u) << r.body;
  const json line = log_line_for("/api/generate?streamcheck.id=rst");
  ASSERT_TRUE(line.is_object());
  EXPECT_EQ(line["outcome"], "upstream_error") << line.dump();
}

// An HTTP/1.0 client has no last chunk to miss: the proxy must not pretend the answer ended
// cleanly, and the in-band stream shows no done event.
TEST_F(ProxyTruncation, Http10ClientSeesNoDoneEvent) {
  ASSERT_NO_FATAL_FAILURE(start());
  tcp_client c = connect();
  ASSERT_TRUE(c.send_all(generate_request(
      "fin10",
      {{"first_token_ms", 0}, {"gap_ms", 5}, {"tokens", 10}, {"abort_after", 3}, {"abort", "fin"}},
      {}, "HTTP/1.0")));
  c.read_until_eof(deadline_in(10s));
  const http_response r = parse_http_response(c.received());
  EXPECT_EQ(r.status, 200);
  const auto events = ndjson_lines(r.body);
  EXPECT_EQ(events.size(), 3u) << r.body;
}

// ---------------------------------------------------------------------------------------------
// The upstream slow, silent, gone or failing

using ProxyUpstream = ProxyTest;

TEST_F(ProxyUpstream, FirstByteTimeoutIs504JsonWithCors) {
  ASSERT_NO_FATAL_FAILURE(start({allow_app, "--first-byte-timeout", "1s"}));
  const auto sent = mono_clock::now();
  const http_response r =
      exchange(generate_request("slow-first", {{"first_token_ms", 10000}}, {origin_header}));
  expect_json_error(r, 504);
  expect_cors_for_app(r);
  EXPECT_LT(ms_between(sent, mono_clock::now()), 9000.0) << "not the proxy's timeout";
  // The upstream request is given up (Ollama stops generating).
  const json e = finished_entry("slow-first");
  ASSERT_TRUE(e.is_object());
  EXPECT_EQ(e["outcome"], "peer_closed") << e.dump();
  const json line = log_line_for("/api/generate?streamcheck.id=slow-first");
  ASSERT_TRUE(line.is_object());
  EXPECT_EQ(line["status"], 504);
  EXPECT_EQ(line["outcome"], "upstream_timeout");
}

TEST_F(ProxyUpstream, IdleTimeoutMidStreamTruncates) {
  ASSERT_NO_FATAL_FAILURE(start({"--idle-timeout", "1s"}));
  tcp_client c = connect();
  ASSERT_TRUE(c.send_all(generate_request("idle", {{"first_token_ms", 0},
                                                   {"gap_ms", 5},
                                                   {"tokens", 6},
                                                   {"stall_at", 3},
                                                   {"stall_ms", 10000}})));
  const read_end end = c.read_until_eof(deadline_in(9s));
  EXPECT_TRUE(end == read_end::eof || end == read_end::reset)
      << to_string(end) << ": the stall was not cut";
  const http_response r = parse_http_response(c.received());
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.complete) << c.received();
  EXPECT_EQ(c.received().find("0\r\n\r\n"), std::string::npos) << c.received();
  EXPECT_EQ(ndjson_lines(r.body).size(), 3u) << r.body;
  const json line = log_line_for("/api/generate?streamcheck.id=idle");
  ASSERT_TRUE(line.is_object());
  EXPECT_EQ(line["outcome"], "upstream_timeout") << line.dump();
}

TEST_F(ProxyUpstream, DeadUpstreamIs502JsonWithCors) {
  const unsigned short dead = pick_free_port(); // nothing listens there
  ASSERT_NE(dead, 0);
  ASSERT_NO_FATAL_FAILURE(start_proxy("http://127.0.0.1:" + std::to_string(dead), {allow_app}));
  tcp_client c = connect();
  ASSERT_TRUE(c.send_all(generate_request("dead", quick_stream(), {origin_header})));
  const http_response r = read_response(c, deadline_in(10s));
  expect_json_error(r, 502);
  expect_cors_for_app(r);
  const json line = log_line_for("/api/generate?streamcheck.id=dead");
  ASSERT_TRUE(line.is_object());
  EXPECT_EQ(line["status"], 502);
  EXPECT_EQ(line["outcome"], "upstream_unreachable");
}

TEST_F(ProxyUpstream, UpstreamErrorStatusAndBodyPassThroughWithCors) {
  ASSERT_NO_FATAL_FAILURE(start({allow_app}));
  const http_response r = exchange(generate_request("e500", {{"status", 500}}, {origin_header}));
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.status, 500);
  expect_cors_for_app(r);
  EXPECT_TRUE(json_body(r).contains("error")) << r.body;
  const http_response missing = exchange(request_bytes(
      "POST", "/api/generate", "HTTP/1.1", {"Host: " + std::string(public_host), origin_header},
      json{{"model", "no-such-model"}, {"prompt", "hi"}}.dump()));
  EXPECT_EQ(missing.status, 404);
  expect_cors_for_app(missing);
  EXPECT_EQ(json_body(missing)["error"].get<std::string>().find("not found") != std::string::npos,
            true)
      << missing.body;
}

TEST_F(ProxyUpstream, AResetPostIsNotRetried) {
  ASSERT_NO_FATAL_FAILURE(start({allow_app}));
  // Two upstream connections in the pool first, so a retry would have somewhere to go.
  for (int i = 0; i < 2; ++i)
    ASSERT_EQ(exchange(request_bytes("GET", "/api/version", "HTTP/1.1",
                                     {"Host: " + std::string(public_host)}))
                  .status,
              200);
  const http_response r =
      exchange(generate_request("replay", {{"abort_after", 0}, {"abort", "rst"}}, {origin_header}));
  expect_json_error(r, 502);
  expect_cors_for_app(r);
  std::this_thread::sleep_for(300ms); // a retry, if any, would have reached the mock by now
  const json entries = journal("replay");
  EXPECT_EQ(entries.size(), 1u) << entries.dump();
  const json line = log_line_for("/api/generate?streamcheck.id=replay");
  ASSERT_TRUE(line.is_object());
  EXPECT_EQ(line["outcome"], "upstream_error");
}

// ---------------------------------------------------------------------------------------------
// Access log

using ProxyAccessLog = ProxyTest;

TEST_F(ProxyAccessLog, OneJsonLinePerRequest) {
  ASSERT_NO_FATAL_FAILURE(start());
  tcp_client c = connect();
  const std::string stream = generate_request(
      "logged", {{"first_token_ms", 200}, {"gap_ms", 5}, {"tokens", 4}}, {}, "HTTP/1.1");
  ASSERT_TRUE(c.send_all(stream));
  const http_response r = read_response(c, deadline_in(10s));
  ASSERT_TRUE(r.complete);
  ASSERT_TRUE(c.send_all(
      request_bytes("GET", "/api/version", "HTTP/1.1", {"Host: " + std::string(public_host)})));
  const http_response v = read_response(c, deadline_in(5s), r.consumed);
  ASSERT_TRUE(v.complete);
  ASSERT_TRUE(
      c.send_all(request_bytes("GET", "/nope", "HTTP/1.1", {"Host: " + std::string(public_host)})));
  const http_response nf = read_response(c, deadline_in(5s), r.consumed + v.consumed);
  ASSERT_TRUE(nf.complete);
  EXPECT_EQ(nf.status, 404);

  const auto lines = wait_for_log_lines(3);
  ASSERT_EQ(lines.size(), 3u) << read_file(access_log_path());
  for (const auto &l : lines) {
    ASSERT_TRUE(l.is_object()) << read_file(access_log_path());
    for (const char *key : {"time_ms", "client", "method", "target", "http", "status", "bytes_in",
                            "bytes_out", "ttfb_ms", "duration_ms", "outcome"})
      EXPECT_TRUE(l.contains(key)) << key << " missing: " << l.dump();
    EXPECT_EQ(l["client"], "127.0.0.1");
    EXPECT_EQ(l["outcome"], "completed") << l.dump();
    EXPECT_GE(l["duration_ms"].get<double>(), l["ttfb_ms"].get<double>()) << l.dump();
  }
  EXPECT_EQ(lines[0]["method"], "POST");
  EXPECT_EQ(lines[0]["target"], "/api/generate?streamcheck.id=logged");
  EXPECT_EQ(lines[0]["http"], "1.1");
  EXPECT_EQ(lines[0]["status"], 200);
  EXPECT_EQ(lines[0]["bytes_out"], r.body.size());
  EXPECT_EQ(lines[0]["bytes_in"], stream.size() - stream.find("\r\n\r\n") - 4);
  // The first token came 200 ms after the mock read the request, which was after the proxy did.
  EXPECT_GE(lines[0]["ttfb_ms"].get<double>(), 199.0) << lines[0].dump();
  EXPECT_EQ(lines[1]["target"], "/api/version");
  EXPECT_EQ(lines[1]["bytes_out"], v.body.size());
  EXPECT_EQ(lines[2]["status"], 404);
  EXPECT_EQ(lines[2]["bytes_out"], nf.body.size());
}

// logrotate moves the file and sends SIGHUP: the next line lands in a new file at the old path.
TEST_F(ProxyAccessLog, SighupReopensTheFile) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string version =
      request_bytes("GET", "/api/version", "HTTP/1.1",
                    {"Host: " + std::string(public_host), "Connection: close"});
  ASSERT_EQ(exchange(version).status, 200);
  ASSERT_EQ(wait_for_log_lines(1).size(), 1u);
  const auto rotated = access_log_path().string() + ".1";
  std::filesystem::rename(access_log_path(), rotated);
  ASSERT_EQ(::kill(proxy_->pid(), SIGHUP), 0);
  // The reopen happens on the signal thread; poll until the new file exists.
  for (const auto until = deadline_in(5s);
       !std::filesystem::exists(access_log_path()) && mono_clock::now() < until;)
    std::this_thread::sleep_for(10ms);
  ASSERT_EQ(exchange(version).status, 200);
  EXPECT_EQ(wait_for_log_lines(1).size(), 1u) << read_file(access_log_path());
  EXPECT_NE(read_file(rotated).find("/api/version"), std::string::npos);
  EXPECT_TRUE(proxy_->running()); // SIGHUP neither stops nor drains it
}

} // namespace
} // namespace streamcheck::test
