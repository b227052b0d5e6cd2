// Ollama's Origin and Host policies as they look on the wire (ollama-wire.md §6): a foreign Origin
// or a foreign Host gets a bare 403, an allowed origin's preflight gets 204 with gin-contrib/cors's
// headers, and the relaxed profiles let both through.
#include <gtest/gtest.h>

#include "tests/integration/mock_upstream/mock_fixture.h"

namespace streamcheck::test {
namespace {

const char *const allow_headers =
    "Authorization,Content-Type,User-Agent,Accept,X-Requested-With,Openai-Beta,X-Stainless-Arch,"
    "X-Stainless-Async,X-Stainless-Custom-Poll-Interval,X-Stainless-Helper-Method,"
    "X-Stainless-Lang,X-Stainless-Os,X-Stainless-Package-Version,X-Stainless-Poll-Helper,"
    "X-Stainless-Retry-Count,X-Stainless-Runtime,X-Stainless-Runtime-Version,X-Stainless-Timeout";

class Policy : public MockTest {
protected:
  // One request on a fresh connection; the response must be complete and the connection usable.
  http_response ask(const std::string &request) {
    auto c = tcp_client::connect(port());
    EXPECT_TRUE(c);
    if (!c) return {};
    EXPECT_TRUE(c->send_all(request));
    auto r = read_response(*c, deadline_in(5s));
    EXPECT_TRUE(r.complete) << c->received();
    EXPECT_EQ(r.consumed, c->received().size()) << "bytes after the response: " << c->received();
    raw_ = c->received();
    return r;
  }
  std::string raw_;
};

std::string bare_403(const http_response &r) {
  return "HTTP/1.1 403 Forbidden\r\nDate: " + r.header("Date").value_or("") +
         "\r\nContent-Length: 0\r\n\r\n";
}

TEST_F(Policy, ForeignOriginGetsABare403) {
  const std::string body = generate_body({{"first_token_ms", 0}, {"tokens", 1}});
  for (const std::string path : {"/api/generate", "/no/such/path"}) {
    const auto r = ask(request_bytes(
        "POST", path, "HTTP/1.1",
        {"Host: 127.0.0.1:" + std::to_string(port()), "Origin: https://app.example.test"}, body));
    EXPECT_EQ(raw_, bare_403(r)) << path;
  }
  // Also for a preflight.
  const auto pre = ask(request_bytes("OPTIONS", "/api/chat", "HTTP/1.1",
                                     {"Host: 127.0.0.1", "Origin: https://app.example.test",
                                      "Access-Control-Request-Method: POST"}));
  EXPECT_EQ(raw_, bare_403(pre));
}

TEST_F(Policy, ForeignHostGetsABare403) {
  const auto r = ask(request_bytes("GET", "/api/version", "HTTP/1.1", {"Host: llm.example.test"}));
  EXPECT_EQ(raw_, bare_403(r));
  const auto ip = ask(request_bytes("GET", "/api/version", "HTTP/1.1", {"Host: 8.8.8.8:11434"}));
  EXPECT_EQ(raw_, bare_403(ip));
}

TEST_F(Policy, LocalHostsPass) {
  for (const std::string host : {"localhost:11434", "127.0.0.1", "LOCALHOST", "ollama.localhost",
                                 "box.local", "svc.internal", "192.168.1.5:11434", "[::1]:11434"}) {
    const auto r = ask(request_bytes("GET", "/api/version", "HTTP/1.1", {"Host: " + host}));
    EXPECT_EQ(r.status, 200) << host << "\n" << raw_;
  }
}

TEST_F(Policy, AllowedOriginPreflightIs204WithCorsHeaders) {
  const auto r = ask(request_bytes("OPTIONS", "/api/chat", "HTTP/1.1",
                                   {"Host: 127.0.0.1:11434", "Origin: http://localhost:3000",
                                    "Access-Control-Request-Method: POST",
                                    "Access-Control-Request-Headers: content-type"}));
  EXPECT_EQ(r.status, 204) << raw_;
  EXPECT_EQ(r.header("Access-Control-Allow-Origin"), "http://localhost:3000");
  EXPECT_EQ(r.header("Access-Control-Allow-Methods"), "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS");
  EXPECT_EQ(r.header("Access-Control-Allow-Headers"), allow_headers);
  EXPECT_EQ(r.header("Access-Control-Max-Age"), "43200");
  std::vector<std::string> vary;
  for (const auto &[k, v] : r.headers)
    if (k == "Vary") vary.push_back(v);
  EXPECT_EQ(vary, (std::vector<std::string>{"Origin", "Access-Control-Request-Method",
                                            "Access-Control-Request-Headers"}));
  EXPECT_EQ(r.header_count("Access-Control-Allow-Credentials"), 0u);
  EXPECT_EQ(r.header_count("Content-Length"), 0u);
  EXPECT_EQ(r.header_count("Transfer-Encoding"), 0u);
  EXPECT_TRUE(r.body.empty());
}

TEST_F(Policy, AllowedOriginRequestGetsAllowOriginAndVary) {
  const auto r = ask(request_bytes("GET", "/api/version", "HTTP/1.1",
                                   {"Host: 127.0.0.1", "Origin: http://localhost:3000"}));
  EXPECT_EQ(r.status, 200) << raw_;
  EXPECT_EQ(r.header("Access-Control-Allow-Origin"), "http://localhost:3000");
  EXPECT_EQ(r.header("Vary"), "Origin");
  EXPECT_EQ(r.header_count("Access-Control-Allow-Methods"), 0u);
}

TEST_F(Policy, SameOriginSkipsCors) {
  // Not on the allow-list, but equal to "http://" + Host: gin-contrib/cors lets it through bare.
  const auto r =
      ask(request_bytes("GET", "/api/version", "HTTP/1.1",
                        {"Host: 192.168.1.5:11434", "Origin: http://192.168.1.5:11434"}));
  EXPECT_EQ(r.status, 200) << raw_;
  EXPECT_EQ(r.header_count("Access-Control-Allow-Origin"), 0u);
}

TEST_F(Policy, OpenProfileAllowsAnyOriginAndHost) {
  start_mock("ollama-open");
  const auto r = ask(request_bytes("GET", "/api/version", "HTTP/1.1",
                                   {"Host: llm.example.test", "Origin: https://app.example.test"}));
  EXPECT_EQ(r.status, 200) << raw_;
  EXPECT_EQ(r.header("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(r.header_count("Vary"), 0u);
  const auto pre = ask(request_bytes("OPTIONS", "/api/chat", "HTTP/1.1",
                                     {"Host: llm.example.test", "Origin: https://app.example.test",
                                      "Access-Control-Request-Method: POST"}));
  EXPECT_EQ(pre.status, 204) << raw_;
  EXPECT_EQ(pre.header("Access-Control-Allow-Origin"), "*");
}

} // namespace
} // namespace streamcheck::test
