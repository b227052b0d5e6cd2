#include "reference_proxy/headers.h"

#include <gtest/gtest.h>

namespace streamcheck::proxy {
namespace {

// The head's lines after the start line, without the blank line that ends it.
std::vector<std::string> lines_of(const std::string &head) {
  std::vector<std::string> out;
  std::size_t pos = head.find("\r\n") + 2;
  for (auto end = head.find("\r\n", pos); end != std::string::npos && end != pos;
       pos = end + 2, end = head.find("\r\n", pos))
    out.push_back(head.substr(pos, end - pos));
  return out;
}

bool has_line(const std::string &head, const std::string &line) {
  const auto lines = lines_of(head);
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

bool has_name(const std::string &head, const std::string &name) {
  for (const auto &l : lines_of(head))
    if (l.rfind(name + ":", 0) == 0) return true;
  return false;
}

forward_context upstream_ctx() {
  forward_context ctx;
  ctx.upstream_authority = "127.0.0.1:11434";
  ctx.client_address = "192.0.2.7";
  return ctx;
}

TEST(UpstreamRequestHead, RewritesHostAndDropsOrigin) {
  const request_head req{"POST",
                         "/api/chat?x=1",
                         11,
                         {{"Host", "llm.example.test"},
                          {"Origin", "https://app.example.test"},
                          {"Authorization", "Bearer sk-1"},
                          {"Content-Type", "application/json"}}};
  const std::string head = upstream_request_head(req, upstream_ctx());
  EXPECT_EQ(head.substr(0, head.find("\r\n")), "POST /api/chat?x=1 HTTP/1.1");
  EXPECT_TRUE(has_line(head, "Host: 127.0.0.1:11434"));
  EXPECT_FALSE(has_name(head, "Origin"));
  EXPECT_TRUE(has_line(head, "Authorization: Bearer sk-1")); // headers.authorization
  EXPECT_TRUE(has_line(head, "X-Forwarded-Host: llm.example.test"));
  EXPECT_TRUE(has_line(head, "X-Forwarded-Proto: http"));
  EXPECT_TRUE(has_line(head, "X-Forwarded-For: 192.0.2.7"));
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");
}

TEST(UpstreamRequestHead, AppendsToAnExistingForwardedChain) {
  const request_head req{"GET",
                         "/",
                         11,
                         {{"X-Forwarded-For", "203.0.113.1"},
                          {"X-Forwarded-For", "198.51.100.2"},
                          {"X-Forwarded-Proto", "https"}}};
  const std::string head = upstream_request_head(req, upstream_ctx());
  EXPECT_TRUE(has_line(head, "X-Forwarded-For: 203.0.113.1, 198.51.100.2, 192.0.2.7"));
  EXPECT_TRUE(has_line(head, "X-Forwarded-Proto: http")); // ours, not the client's claim
  EXPECT_EQ(lines_of(head).size(), 3u);                   // Host, XFF, XFP
}

TEST(UpstreamRequestHead, DropsHopByHopAndWhatConnectionNames) {
  const request_head req{"POST",
                         "/api/chat",
                         10,
                         {{"Connection", "keep-alive, X-Secret"},
                          {"X-Secret", "1"},
                          {"Keep-Alive", "timeout=5"},
                          {"TE", "trailers"},
                          {"Upgrade", "websocket"},
                          {"Proxy-Connection", "keep-alive"},
                          {"Expect", "100-continue"},
                          {"Transfer-Encoding", "chunked"},
                          {"Content-Length", "10"},
                          {"X-Kept", "yes"}}};
  forward_context ctx = upstream_ctx();
  ctx.body = body_framing::content_length;
  ctx.content_length = 42;
  const std::string head = upstream_request_head(req, ctx);
  EXPECT_EQ(head.substr(0, head.find("\r\n")), "POST /api/chat HTTP/1.1"); // always 1.1 upstream
  for (const char *gone : {"Connection", "X-Secret", "Keep-Alive", "TE", "Upgrade",
                           "Proxy-Connection", "Expect", "Transfer-Encoding"})
    EXPECT_FALSE(has_name(head, gone)) << gone;
  EXPECT_TRUE(has_line(head, "X-Kept: yes"));
  EXPECT_TRUE(has_line(head, "Content-Length: 42")); // the framing we chose, once
}

TEST(UpstreamRequestHead, ChunkedBodyStaysChunked) {
  forward_context ctx = upstream_ctx();
  ctx.body = body_framing::chunked;
  const std::string head = upstream_request_head({"POST", "/api/chat", 11, {}}, ctx);
  EXPECT_TRUE(has_line(head, "Transfer-Encoding: chunked"));
  EXPECT_FALSE(has_name(head, "Content-Length"));
}

TEST(ClientResponseHead, DropsUpstreamCorsAndAddsOursOnce) {
  const response_head res{200,
                          "OK",
                          {{"Content-Type", "application/x-ndjson"},
                           {"Access-Control-Allow-Origin", "*"},
                           {"Access-Control-Allow-Credentials", "true"},
                           {"Vary", "Origin, Accept-Encoding"},
                           {"Transfer-Encoding", "chunked"},
                           {"Date", "Thu, 26 Nov 2026 12:00:00 GMT"}}};
  client_context ctx;
  ctx.cors = {{"Access-Control-Allow-Origin", "https://app.example"}, {"Vary", "Origin"}};
  const std::string head = client_response_head(res, ctx);
  EXPECT_EQ(head.substr(0, head.find("\r\n")), "HTTP/1.1 200 OK");
  EXPECT_TRUE(has_line(head, "Access-Control-Allow-Origin: https://app.example"));
  EXPECT_FALSE(has_name(head, "Access-Control-Allow-Credentials"));
  EXPECT_TRUE(has_line(head, "Vary: Accept-Encoding, Origin"));
  EXPECT_TRUE(has_line(head, "Transfer-Encoding: chunked"));
  EXPECT_TRUE(has_line(head, "Date: Thu, 26 Nov 2026 12:00:00 GMT"));
  int allow = 0, vary = 0, te = 0;
  for (const auto &l : lines_of(head)) {
    allow += l.rfind("Access-Control-Allow-Origin:", 0) == 0;
    vary += l.rfind("Vary:", 0) == 0;
    te += l.rfind("Transfer-Encoding:", 0) == 0;
  }
  EXPECT_EQ(allow, 1); // cors.single-value
  EXPECT_EQ(vary, 1);
  EXPECT_EQ(te, 1);
}

TEST(ClientResponseHead, FramingFollowsTheClient) {
  const response_head res{200, "OK", {{"Content-Length", "5"}, {"Connection", "keep-alive"}}};
  client_context length;
  length.body = body_framing::content_length;
  length.content_length = 5;
  const std::string kept = client_response_head(res, length);
  EXPECT_TRUE(has_line(kept, "Content-Length: 5"));
  EXPECT_FALSE(has_name(kept, "Connection"));

  client_context close;
  close.body = body_framing::close_delimited;
  close.close = true;
  const std::string closing = client_response_head(res, close);
  EXPECT_FALSE(has_name(closing, "Content-Length"));
  EXPECT_FALSE(has_name(closing, "Transfer-Encoding"));
  EXPECT_TRUE(has_line(closing, "Connection: close"));

  client_context old;
  old.body = body_framing::content_length;
  old.keep_alive_10 = true;
  EXPECT_TRUE(has_line(client_response_head(res, old), "Connection: keep-alive"));
}

TEST(ClientResponseHead, KeepsTheUpstreamReasonOrFillsTheStandardOne) {
  EXPECT_EQ(client_response_head({404, "Not Found", {}}, {}).substr(0, 24),
            "HTTP/1.1 404 Not Found\r\n");
  EXPECT_EQ(client_response_head({502, "", {}}, {}).substr(0, 26), "HTTP/1.1 502 Bad Gateway\r\n");
}

TEST(LocalResponse, JsonErrorWithCorsAndLength) {
  const std::string r =
      local_response(413, {{"Access-Control-Allow-Origin", "https://a"}, {"Vary", "Origin"}},
                     "request body larger than 1024 bytes", true);
  const std::string body = R"({"error":"request body larger than 1024 bytes"})";
  EXPECT_EQ(r.substr(0, r.find("\r\n")), "HTTP/1.1 413 Payload Too Large");
  EXPECT_TRUE(has_line(r, "Access-Control-Allow-Origin: https://a")); // cors.proxy-errors
  EXPECT_TRUE(has_line(r, "Content-Type: application/json; charset=utf-8"));
  EXPECT_TRUE(has_line(r, "Content-Length: " + std::to_string(body.size())));
  EXPECT_TRUE(has_line(r, "Connection: close"));
  EXPECT_EQ(r.substr(r.size() - body.size()), body);
}

TEST(LocalResponse, EscapesTheMessageAsJson) {
  const std::string r = local_response(400, {}, "bad \"quote\"\n", false);
  EXPECT_NE(r.find(R"({"error":"bad \"quote\"\n"})"), std::string::npos);
}

// What an HTTP/2 answer's HEADERS carry: the same fields as the HTTP/1.1 head, without any
// connection-specific one (RFC 9113 §8.2.2: a Connection or Transfer-Encoding there is a
// protocol error for the client).
TEST(ClientResponseFields, ForHttp2NoConnectionSpecificFields) {
  const response_head res{200,
                          "OK",
                          {{"Content-Type", "application/x-ndjson"},
                           {"Transfer-Encoding", "chunked"},
                           {"Connection", "keep-alive"},
                           {"Keep-Alive", "timeout=5"},
                           {"Access-Control-Allow-Origin", "*"}}};
  client_context ctx;
  ctx.body = body_framing::none;
  ctx.cors = {{"Access-Control-Allow-Origin", "https://app.example"}, {"Vary", "Origin"}};
  const header_list fields = client_response_fields(res, ctx);
  const header_list expected = {{"Content-Type", "application/x-ndjson"},
                                {"Access-Control-Allow-Origin", "https://app.example"},
                                {"Vary", "Origin"}};
  EXPECT_EQ(fields, expected);
}

TEST(LocalResponseParts, FieldsWithLengthAndTheJsonBody) {
  const local_answer a = local_response_parts(504, {{"Vary", "Origin"}}, "slow");
  EXPECT_EQ(a.body, R"({"error":"slow"})");
  EXPECT_EQ(find_header(a.fields, "Content-Length"), std::to_string(a.body.size()));
  EXPECT_EQ(count_header(a.fields, "Connection"), 0u);
  EXPECT_TRUE(local_response_parts(204, {}, "").body.empty());
}

TEST(UpstreamRequestHead, ForwardedProtoIsTheClientsScheme) {
  forward_context ctx = upstream_ctx();
  ctx.client_scheme = "https"; // behind --tls-cert
  EXPECT_TRUE(
      has_line(upstream_request_head({"GET", "/", 11, {}}, ctx), "X-Forwarded-Proto: https"));
}

TEST(HopByHop, FixedSetAndConnectionTokens) {
  const header_list h = {{"Connection", "close, X-Foo"}};
  EXPECT_TRUE(is_hop_by_hop("transfer-encoding", h));
  EXPECT_TRUE(is_hop_by_hop("x-foo", h));
  EXPECT_FALSE(is_hop_by_hop("Authorization", h));
  EXPECT_EQ(count_header({{"A", "1"}, {"a", "2"}, {"B", "3"}}, "A"), 2u);
}

} // namespace
} // namespace streamcheck::proxy
