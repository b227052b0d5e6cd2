// What the proxy does to requests and to the answer's headers: CORS answered in one layer, Host
// and Origin rewritten so Ollama's default policies accept proxied browser requests,
// X-Forwarded-* added, hop-by-hop headers dropped, request bodies streamed, limited and continued.
#include <gtest/gtest.h>

#include "tests/integration/reference_proxy/proxy_fixture.h"

namespace streamcheck::test {
namespace {

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
  // More than the socket buffers hold: the proxy must keep reading (and dropping) it after the
  // 413, as nginx's lingering close, or the upload fails with a reset and a client that stops
  // at a send error (curl) never reads the answer.
  const std::string request = request_bytes("POST", "/api/generate", "HTTP/1.1",
                                            {"Host: " + std::string(public_host), origin_header},
                                            std::string(16 << 20, 'x'));
  EXPECT_TRUE(c.send_all(request, deadline_in(5s))) << "the upload was cut by a reset";
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

} // namespace
} // namespace streamcheck::test
