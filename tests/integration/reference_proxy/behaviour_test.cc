// streamcheck-proxy's behaviour, proved with bytes on the wire, the mock's journal and the access
// log: framing per client version, keep-alive on both sides, truncation, CORS in one layer,
// Host/Origin rewriting, request bodies, upstream timeouts and errors, no retries, the access log.
// Bounds here do not depend on scheduling (timeouts are 1 s against 10 s silences); the tests
// whose bounds do are in timing_test.cc.
#include <gtest/gtest.h>

#include <cstdio>

#include "tests/integration/reference_proxy/proxy_fixture.h"

namespace streamcheck::test {
namespace {

// FNV-1a 64, written out here so the test does not share the mock's implementation.
std::string fnv1a64_hex(std::string_view data) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

const std::string origin_header = "Origin: " + std::string(app_origin);
const std::string allow_app = "--allow-origin=" + std::string(app_origin);

// A short, quick stream: tokens + 1 events.
json quick_stream(int tokens = 6) {
  return {{"first_token_ms", 0}, {"gap_ms", 5}, {"tokens", tokens}};
}

// The connection ends (FIN, or a reset after the response) before the deadline.
void expect_closed(tcp_client &c) {
  const read_end end = c.read_until_eof(deadline_in(5s));
  EXPECT_TRUE(end == read_end::eof || end == read_end::reset)
      << "connection still " << to_string(end) << "; received:\n"
      << c.received();
}

// A proxy-made error: the status, a JSON {"error": "..."} body, and Connection: close when the
// connection is to end.
void expect_json_error(const http_response &r, int status) {
  EXPECT_EQ(r.status, status) << r.raw_head << r.body;
  EXPECT_TRUE(r.complete) << r.raw_head << r.body;
  EXPECT_TRUE(r.header("Content-Type").value_or("").starts_with("application/json")) << r.raw_head;
  const json body = json_body(r);
  ASSERT_TRUE(body.is_object()) << r.body;
  ASSERT_TRUE(body.contains("error")) << r.body;
  EXPECT_TRUE(body["error"].is_string()) << r.body;
  EXPECT_FALSE(body["error"].get<std::string>().empty());
}

void expect_cors_for_app(const http_response &r) {
  EXPECT_EQ(r.header_count("Access-Control-Allow-Origin"), 1u) << r.raw_head;
  EXPECT_EQ(r.header("Access-Control-Allow-Origin").value_or(""), app_origin) << r.raw_head;
  EXPECT_TRUE(has_token(r.header("Vary"), "Origin")) << r.raw_head;
}

// The NDJSON events of a /api/generate body: all parsed, the last one done.
void expect_whole_stream(const http_response &r, int tokens) {
  const auto events = ndjson_lines(r.body);
  ASSERT_EQ(events.size(), static_cast<std::size_t>(tokens + 1)) << r.body;
  for (int i = 0; i <= tokens; ++i) {
    ASSERT_TRUE(events[static_cast<std::size_t>(i)].is_object()) << r.body;
    EXPECT_EQ(events[static_cast<std::size_t>(i)]["streamcheck"]["seq"], i);
  }
  EXPECT_EQ(events.back()["done"], true);
}

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
  EXPECT_EQ(r.frame, http_response::framing::chunked) << r.raw_head;
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
  EXPECT_EQ(r.frame, http_response::framing::until_close) << r.raw_head;
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
    EXPECT_EQ(r.frame, http_response::framing::content_length) << r.raw_head;
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
  EXPECT_EQ(r.frame, http_response::framing::chunked);
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
// CORS in one layer

using ProxyCors = ProxyTest;

TEST_F(ProxyCors, PreflightIsAnsweredByTheProxyAndNotForwarded) {
  ASSERT_NO_FATAL_FAILURE(start({allow_app}));
  tcp_client c = connect();
  ASSERT_TRUE(c.send_all(request_bytes(
      "OPTIONS", "/v1/chat/completions", "HTTP/1.1",
      {"Host: " + std::string(public_host), origin_header, "Access-Control-Request-Method: POST",
       "Access-Control-Request-Headers: authorization, content-type, x-stainless-os"})));
  const http_response r = read_response(c, deadline_in(5s));
  ASSERT_TRUE(r.complete) << c.received();
  EXPECT_EQ(r.status, 204) << r.raw_head;
  expect_cors_for_app(r);
  EXPECT_TRUE(has_token(r.header("Access-Control-Allow-Methods"), "POST")) << r.raw_head;
  for (const char *h : {"authorization", "content-type", "x-stainless-os"})
    EXPECT_TRUE(has_token(r.header("Access-Control-Allow-Headers"), h)) << h << r.raw_head;
  EXPECT_EQ(r.header_count("Access-Control-Allow-Credentials"), 0u);
  // The connection stays usable, and nothing reached the upstream.
  ASSERT_TRUE(c.send_all(request_bytes("GET", "/api/version?streamcheck.id=after-preflight",
                                       "HTTP/1.1", {"Host: " + std::string(public_host)})));
  EXPECT_EQ(read_response(c, deadline_in(5s), r.consumed).status, 200) << c.received();
  const json all = journal();
  ASSERT_EQ(all.size(), 1u) << all.dump();
  EXPECT_EQ(all[0]["method"], "GET");

  const json line = log_line_for("/v1/chat/completions");
  ASSERT_TRUE(line.is_object());
  EXPECT_EQ(line["status"], 204);
  EXPECT_EQ(line["outcome"], "preflight");
}

TEST_F(ProxyCors, PreflightFromADisallowedOriginIs403Json) {
  ASSERT_NO_FATAL_FAILURE(start({allow_app}));
  const http_response r = exchange(request_bytes(
      "OPTIONS", "/api/chat", "HTTP/1.1",
      {"Host: " + std::string(public_host), "Origin: " + std::string(evil_origin),
       "Access-Control-Request-Method: POST", "Access-Control-Request-Headers: content-type"}));
  expect_json_error(r, 403);
  EXPECT_EQ(r.header_count("Access-Control-Allow-Origin"), 0u) << r.raw_head;
  EXPECT_EQ(r.header_count("Access-Control-Allow-Methods"), 0u) << r.raw_head;
  EXPECT_TRUE(journal().empty()) << journal().dump();
}

TEST_F(ProxyCors, StreamedPostEchoesTheAllowedOriginOnce) {
  ASSERT_NO_FATAL_FAILURE(start({allow_app}));
  const http_response r = exchange(generate_request("cors", quick_stream(), {origin_header}));
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.status, 200) << r.raw_head;
  expect_cors_for_app(r);
  EXPECT_EQ(r.header_count("Vary"), 1u) << r.raw_head;
  EXPECT_EQ(r.header_count("Access-Control-Allow-Credentials"), 0u);
  expect_whole_stream(r, 6);
}

// Upstreams that add their own CORS (OpenAI-compatible servers, OLLAMA_ORIGINS=*): the answer
// still carries exactly one layer, the proxy's. The scenario adds the upstream's headers
// explicitly, since the proxy does not forward Origin (which would make the mock add them).
class ProxyCorsUpstream : public ProxyTest, public ::testing::WithParamInterface<const char *> {};

TEST_P(ProxyCorsUpstream, UpstreamCorsHeadersAreNotDoubled) {
  ASSERT_NO_FATAL_FAILURE(start({allow_app}, GetParam()));
  json knobs = quick_stream();
  knobs["headers"] = {{"Access-Control-Allow-Origin", "*"},
                      {"Access-Control-Allow-Credentials", "true"},
                      {"Access-Control-Expose-Headers", "X-Upstream"},
                      {"Vary", "Origin, Accept-Encoding"}};
  for (const auto *path : {"stream", "error"}) {
    SCOPED_TRACE(path);
    json k = knobs;
    if (std::string_view(path) == "error") k["status"] = 500;
    const http_response r =
        exchange(generate_request(std::string("dbl-") + path, k, {origin_header}));
    ASSERT_TRUE(r.complete);
    EXPECT_EQ(r.status, std::string_view(path) == "error" ? 500 : 200);
    expect_cors_for_app(r);
    EXPECT_EQ(r.header_count("Access-Control-Allow-Credentials"), 0u) << r.raw_head;
    EXPECT_EQ(r.header_count("Access-Control-Expose-Headers"), 0u) << r.raw_head;
    EXPECT_EQ(r.header_count("Vary"), 1u) << r.raw_head;
    EXPECT_TRUE(has_token(r.header("Vary"), "Accept-Encoding")) << r.raw_head;
  }
}

INSTANTIATE_TEST_SUITE_P(Profiles, ProxyCorsUpstream,
                         ::testing::Values("openai", "ollama-open", "ollama"),
                         [](const auto &param_info) {
                           std::string n = param_info.param;
                           std::erase(n, '-');
                           return n;
                         });

TEST_F(ProxyCors, DisallowedOriginGetsNoAllowOrigin) {
  ASSERT_NO_FATAL_FAILURE(start({allow_app}));
  const http_response r =
      exchange(generate_request("evil", quick_stream(), {"Origin: " + std::string(evil_origin)}));
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.header_count("Access-Control-Allow-Origin"), 0u) << r.raw_head;
  // The answer depends on Origin, so caches must know.
  EXPECT_TRUE(has_token(r.header("Vary"), "Origin")) << r.raw_head;
}

TEST_F(ProxyCors, WildcardAllowsAnyOrigin) {
  ASSERT_NO_FATAL_FAILURE(start({"--allow-origin", "*"}, "openai"));
  const http_response r =
      exchange(generate_request("star", quick_stream(), {"Origin: " + std::string(evil_origin)}));
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.header_count("Access-Control-Allow-Origin"), 1u) << r.raw_head;
  EXPECT_EQ(r.header("Access-Control-Allow-Origin").value_or(""), "*");
  EXPECT_EQ(r.header_count("Access-Control-Allow-Credentials"), 0u);

  const http_response pre = exchange(request_bytes(
      "OPTIONS", "/api/chat", "HTTP/1.1",
      {"Host: " + std::string(public_host), "Origin: " + std::string(evil_origin),
       "Access-Control-Request-Method: POST", "Access-Control-Request-Headers: authorization"}));
  EXPECT_EQ(pre.status, 204) << pre.raw_head;
  EXPECT_EQ(pre.header("Access-Control-Allow-Origin").value_or(""), "*") << pre.raw_head;
  EXPECT_EQ(pre.header_count("Access-Control-Allow-Credentials"), 0u);
  EXPECT_TRUE(has_token(pre.header("Access-Control-Allow-Headers"), "authorization"));
}

// ---------------------------------------------------------------------------------------------
// Host, Origin, forwarded and hop-by-hop headers

using ProxyHeaders = ProxyTest;

TEST_F(ProxyHeaders, OllamasDefaultPoliciesAcceptAProxiedBrowserRequest) {
  ASSERT_NO_FATAL_FAILURE(start({allow_app}, "ollama"));
  const http_response r = exchange(generate_request(
      "hosted", quick_stream(), {origin_header, "Authorization: Bearer sk-test ABC=="}));
  ASSERT_TRUE(r.complete) << r.raw_head << r.body;
  EXPECT_EQ(r.status, 200) << r.raw_head << r.body;
  expect_cors_for_app(r);
  expect_whole_stream(r, 6);

  const json e = finished_entry("hosted");
  ASSERT_TRUE(e.is_object());
  EXPECT_EQ(e["status"], 200);
  EXPECT_EQ(journal_header_count(e, "Host"), 1u);
  EXPECT_EQ(journal_header(e, "Host").value_or(""), mock_authority()) << e["headers"].dump();
  EXPECT_EQ(journal_header_count(e, "Origin"), 0u) << e["headers"].dump();
  EXPECT_EQ(journal_header(e, "X-Forwarded-For").value_or(""), "127.0.0.1");
  EXPECT_EQ(journal_header(e, "X-Forwarded-Proto").value_or(""), "http");
  EXPECT_EQ(journal_header(e, "X-Forwarded-Host").value_or(""), public_host);
  EXPECT_EQ(journal_header_count(e, "Authorization"), 1u);
  EXPECT_EQ(journal_header(e, "Authorization").value_or(""), "Bearer sk-test ABC==");
}

TEST_F(ProxyHeaders, HopByHopHeadersAreNotForwarded) {
  ASSERT_NO_FATAL_FAILURE(start());
  const http_response r =
      exchange(generate_request("hop", quick_stream(),
                                {"Connection: keep-alive, Foo", "Foo: bar", "Keep-Alive: timeout=5",
                                 "TE: trailers", "Upgrade: h2c", "Proxy-Connection: keep-alive",
                                 "X-Kept: yes", "X-Forwarded-For: 203.0.113.7"}));
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.status, 200);
  const json e = finished_entry("hop");
  ASSERT_TRUE(e.is_object());
  for (const char *h : {"Connection", "Foo", "Keep-Alive", "TE", "Upgrade", "Proxy-Connection"})
    EXPECT_EQ(journal_header_count(e, h), 0u) << h << " forwarded: " << e["headers"].dump();
  EXPECT_EQ(journal_header(e, "X-Kept").value_or(""), "yes");
  // The chain is kept and the client appended (the mock's X-Forwarded-For sees both).
  EXPECT_EQ(journal_header(e, "X-Forwarded-For").value_or(""), "203.0.113.7, 127.0.0.1");
}

// ---------------------------------------------------------------------------------------------
// Request bodies

using ProxyBodies = ProxyTest;

TEST_F(ProxyBodies, ChunkedBodySentInTwoPartsArrivesWhole) {
  ASSERT_NO_FATAL_FAILURE(start());
  json knobs = quick_stream(2);
  knobs["id"] = "chunked-body";
  const std::string body = generate_body(knobs);
  const std::size_t half = body.size() / 2;
  tcp_client c = connect();
  ASSERT_TRUE(
      c.send_all(raw_head("POST /api/generate HTTP/1.1",
                          {"Host: " + std::string(public_host), "Transfer-Encoding: chunked",
                           "Content-Type: application/json"})));
  char size_line[32];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", half);
  ASSERT_TRUE(c.send_all(size_line + body.substr(0, half) + "\r\n"));
  std::this_thread::sleep_for(300ms);
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", body.size() - half);
  ASSERT_TRUE(c.send_all(size_line + body.substr(half) + "\r\n0\r\n\r\n"));
  const http_response r = read_response(c, deadline_in(10s));
  ASSERT_TRUE(r.complete) << c.received();
  EXPECT_EQ(r.status, 200) << r.body;
  expect_whole_stream(r, 2);

  const json e = finished_entry("chunked-body");
  ASSERT_TRUE(e.is_object());
  EXPECT_EQ(e["body_bytes"], body.size());
  EXPECT_EQ(e["body_fnv1a64"], fnv1a64_hex(body));
  EXPECT_EQ(journal_header_count(e, "Content-Length"), 0u) << e["headers"].dump();
  const json line = log_line_for("/api/generate");
  ASSERT_TRUE(line.is_object());
  EXPECT_EQ(line["bytes_in"], body.size());
}

TEST_F(ProxyBodies, LargeBodyArrivesByteForByte) {
  ASSERT_NO_FATAL_FAILURE(start());
  json req = {{"model", "llama3.2"},
              {"prompt", std::string(3 * 1024 * 1024, 'A')},
              {"streamcheck", {{"id", "large-body"}, {"first_token_ms", 0}, {"tokens", 1}}}};
  const std::string body = req.dump();
  tcp_client c = connect();
  ASSERT_TRUE(c.send_all(request_bytes("POST", "/api/generate", "HTTP/1.1",
                                       {"Host: " + std::string(public_host)}, body),
                         deadline_in(20s)));
  const http_response r = read_response(c, deadline_in(20s));
  ASSERT_TRUE(r.complete) << c.received();
  EXPECT_EQ(r.status, 200);
  const json e = finished_entry("large-body");
  ASSERT_TRUE(e.is_object());
  EXPECT_EQ(e["body_bytes"], body.size());
  EXPECT_EQ(e["body_fnv1a64"], fnv1a64_hex(body));
}

TEST_F(ProxyBodies, ContentLengthOverMaxBodyIs413WithCorsAndClosed) {
  ASSERT_NO_FATAL_FAILURE(start({allow_app, "--max-body", "1KiB"}));
  tcp_client c = connect();
  ASSERT_TRUE(c.send_all(request_bytes("POST", "/api/generate?streamcheck.id=big", "HTTP/1.1",
                                       {"Host: " + std::string(public_host), origin_header},
                                       std::string(2048, 'x'))));
  const http_response r = read_response(c, deadline_in(5s));
  expect_json_error(r, 413);
  expect_cors_for_app(r);
  EXPECT_TRUE(has_token(r.header("Connection"), "close")) << r.raw_head;
  expect_closed(c);
  EXPECT_TRUE(journal().empty()) << journal().dump();
  const json line = log_line_for("/api/generate?streamcheck.id=big");
  ASSERT_TRUE(line.is_object());
  EXPECT_EQ(line["status"], 413);
  EXPECT_EQ(line["outcome"], "refused");
}

// A client that sends a large body at once (curl does) still reads the 413: the proxy must not
// reset the connection under the response it just wrote.
TEST_F(ProxyBodies, LargeRefusedBodyStillGetsThe413) {
  ASSERT_NO_FATAL_FAILURE(start({allow_app, "--max-body", "1KiB"}));
  tcp_client c = connect();
  // Sent in the background of the kernel's buffers: whatever fits, the rest is dropped.
  const std::string request = request_bytes("POST", "/api/generate", "HTTP/1.1",
                                            {"Host: " + std::string(public_host), origin_header},
                                            std::string(256 * 1024, 'x'));
  c.send_all(request, deadline_in(2s));
  const http_response r = read_response(c, deadline_in(5s));
  expect_json_error(r, 413);
  expect_cors_for_app(r);
  EXPECT_TRUE(journal().empty()) << journal().dump();
}

TEST_F(ProxyBodies, ChunkedBodyOverMaxBodyIs413) {
  ASSERT_NO_FATAL_FAILURE(start({allow_app, "--max-body", "1KiB"}));
  tcp_client c = connect();
  ASSERT_TRUE(c.send_all(raw_head(
      "POST /api/generate?streamcheck.id=bigc HTTP/1.1",
      {"Host: " + std::string(public_host), origin_header, "Transfer-Encoding: chunked"})));
  const std::string part(600, 'y');
  ASSERT_TRUE(c.send_all("258\r\n" + part + "\r\n")); // 0x258 = 600
  ASSERT_TRUE(c.send_all("258\r\n" + part + "\r\n"));
  const http_response r = read_response(c, deadline_in(5s));
  expect_json_error(r, 413);
  expect_cors_for_app(r);
  expect_closed(c);
  // The mock may have seen the head, never a whole request.
  EXPECT_TRUE(journal().empty()) << journal().dump();
}

TEST_F(ProxyBodies, ExpectContinueGets100ThenTheAnswer) {
  ASSERT_NO_FATAL_FAILURE(start());
  json knobs = quick_stream(2);
  knobs["id"] = "continue";
  const std::string body = generate_body(knobs);
  tcp_client c = connect();
  ASSERT_TRUE(c.send_all(request_bytes("POST", "/api/generate", "HTTP/1.1",
                                       {"Host: " + std::string(public_host), "Expect: 100-continue",
                                        "Content-Length: " + std::to_string(body.size())})));
  ASSERT_EQ(c.read_until_contains("\r\n\r\n", deadline_in(5s)), read_end::open) << c.received();
  ASSERT_TRUE(c.received().starts_with("HTTP/1.1 100 Continue\r\n")) << c.received();
  const http_response cont = parse_http_response(c.received());
  ASSERT_TRUE(cont.complete);
  EXPECT_EQ(cont.status, 100);
  ASSERT_TRUE(c.send_all(body));
  const http_response r = read_response(c, deadline_in(10s), cont.consumed);
  ASSERT_TRUE(r.complete) << c.received();
  EXPECT_EQ(r.status, 200);
  expect_whole_stream(r, 2);
  const json e = finished_entry("continue");
  ASSERT_TRUE(e.is_object());
  EXPECT_EQ(e["body_bytes"], body.size());
  EXPECT_EQ(journal_header_count(e, "Expect"), 0u) << e["headers"].dump();
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

} // namespace
} // namespace streamcheck::test
