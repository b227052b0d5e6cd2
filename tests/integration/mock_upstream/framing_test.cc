// Go net/http framing as the mock writes it, checked byte for byte over a real loopback socket:
// HTTP/1.0 streams end by closing the connection, HTTP/1.1 streams are chunked one event per chunk
// and keep the connection, small whole bodies carry Content-Length, large ones are chunked.
#include <gtest/gtest.h>

#include <cstdio>

#include "tests/integration/mock_upstream/mock_fixture.h"

namespace streamcheck::test {
namespace {

std::string hex(std::size_t n) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%zx", n);
  return buf;
}

std::string date_of(const http_response &r) {
  return r.header("Date").value_or("");
}

class Framing : public MockTest {};

TEST_F(Framing, Http10StreamIsCloseDelimitedWithoutChunking) {
  auto c = tcp_client::connect(port());
  ASSERT_TRUE(c);
  const std::string body =
      generate_body({{"id", "f10"}, {"first_token_ms", 0}, {"gap_ms", 5}, {"tokens", 3}});
  ASSERT_TRUE(
      c->send_all(request_bytes("POST", "/api/generate", "HTTP/1.0",
                                {"Host: 127.0.0.1", "Content-Type: application/json"}, body)));
  ASSERT_EQ(c->read_until_eof(deadline_in(5s)), read_end::eof) << c->received();

  const auto r = parse_http_response(c->received());
  ASSERT_TRUE(r.head_complete);
  EXPECT_TRUE(is_imf_fixdate(date_of(r))) << date_of(r);
  EXPECT_EQ(r.raw_head, "HTTP/1.0 200 OK\r\n"
                        "Content-Type: application/x-ndjson\r\n"
                        "Date: " +
                            date_of(r) +
                            "\r\n"
                            "\r\n");
  EXPECT_EQ(r.frame, body_framing::close_delimited);
  const auto lines = ndjson_lines(r.body);
  ASSERT_EQ(lines.size(), 4u) << r.body;
  EXPECT_EQ(r.body.back(), '\n');
  for (std::size_t k = 0; k < lines.size(); ++k) {
    ASSERT_TRUE(lines[k].is_object()) << r.body;
    EXPECT_EQ(lines[k]["model"], "llama3.2");
    EXPECT_EQ(lines[k]["done"], k + 1 == lines.size());
    EXPECT_EQ(lines[k]["streamcheck"]["seq"], k);
  }

  const json e = finished_entry("f10");
  ASSERT_TRUE(e.is_object());
  EXPECT_EQ(e["version"], "1.0");
  EXPECT_EQ(e["outcome"], "completed");
  EXPECT_EQ(e["events_sent"], 4);
}

TEST_F(Framing, Http11StreamIsOneChunkPerEventAndKeepsTheConnection) {
  auto c = tcp_client::connect(port());
  ASSERT_TRUE(c);
  const std::string body =
      generate_body({{"id", "f11"}, {"first_token_ms", 0}, {"gap_ms", 5}, {"tokens", 3}});
  ASSERT_TRUE(
      c->send_all(request_bytes("POST", "/api/generate", "HTTP/1.1",
                                {"Host: 127.0.0.1", "Content-Type: application/json"}, body)));
  read_end end{};
  const auto r = read_response(*c, deadline_in(5s), 0, false, &end);
  ASSERT_TRUE(r.complete) << to_string(end) << ": " << c->received();
  EXPECT_EQ(r.raw_head, "HTTP/1.1 200 OK\r\n"
                        "Content-Type: application/x-ndjson\r\n"
                        "Date: " +
                            date_of(r) +
                            "\r\n"
                            "Transfer-Encoding: chunked\r\n"
                            "\r\n");
  ASSERT_EQ(r.chunks.size(), 4u);
  std::string expected = r.raw_head;
  for (std::size_t k = 0; k < r.chunks.size(); ++k) {
    const std::string &ch = r.chunks[k];
    EXPECT_EQ(ch.find('\n'), ch.size() - 1) << "chunk " << k << " is not exactly one event: " << ch;
    const json event = json::parse(ch, nullptr, false);
    ASSERT_TRUE(event.is_object()) << ch;
    EXPECT_EQ(event["streamcheck"]["seq"], k);
    expected += hex(ch.size()) + "\r\n" + ch + "\r\n";
  }
  expected += "0\r\n\r\n";
  EXPECT_EQ(c->received(), expected); // nothing before, between or after the chunks

  // The same connection serves the next request.
  const std::size_t second = c->received().size();
  ASSERT_TRUE(c->send_all(request_bytes("GET", "/api/version?streamcheck.id=f11b")));
  const auto v = read_response(*c, deadline_in(5s), second);
  ASSERT_TRUE(v.complete) << c->received().substr(second);
  EXPECT_EQ(v.status, 200);
  EXPECT_EQ(v.frame, body_framing::content_length);
  // And it stays open afterwards: no EOF within a moment.
  EXPECT_EQ(c->read_for(deadline_in(150ms)), read_end::timeout);

  const json first = finished_entry("f11");
  const json again = finished_entry("f11b");
  ASSERT_TRUE(first.is_object());
  ASSERT_TRUE(again.is_object());
  EXPECT_EQ(first["version"], "1.1");
  EXPECT_EQ(first["request_on_connection"], 1);
  EXPECT_EQ(again["request_on_connection"], 2);
  EXPECT_EQ(first["connection"], again["connection"]);
  EXPECT_EQ(first["outcome"], "completed");
}

TEST_F(Framing, SmallBodiesCarryContentLength) {
  auto c = tcp_client::connect(port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send_all(request_bytes("GET", "/")));
  const auto r = read_response(*c, deadline_in(5s));
  ASSERT_TRUE(r.complete) << c->received();
  EXPECT_EQ(c->received(), "HTTP/1.1 200 OK\r\n"
                           "Content-Type: text/plain; charset=utf-8\r\n"
                           "Date: " +
                               date_of(r) +
                               "\r\n"
                               "Content-Length: 17\r\n"
                               "\r\n"
                               "Ollama is running");

  const auto raw = http_exchange(port(), request_bytes("GET", "/api/version", "HTTP/1.0"));
  ASSERT_TRUE(raw) << "HTTP/1.0 response without keep-alive must end with the connection";
  const auto v = parse_http_response(*raw);
  EXPECT_EQ(v.raw_head, "HTTP/1.0 200 OK\r\n"
                        "Content-Type: application/json; charset=utf-8\r\n"
                        "Date: " +
                            date_of(v) +
                            "\r\n"
                            "Content-Length: " +
                            std::to_string(v.body.size()) +
                            "\r\n"
                            "\r\n");
  EXPECT_TRUE(v.complete);
  EXPECT_EQ(v.consumed, raw->size());
  EXPECT_EQ(json::parse(v.body, nullptr, false).value("version", ""), "0.12.0") << v.body;
}

TEST_F(Framing, Http10KeepAliveIsHonouredForKnownLengths) {
  auto c = tcp_client::connect(port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send_all(request_bytes("GET", "/api/version", "HTTP/1.0",
                                        {"Host: 127.0.0.1", "Connection: keep-alive"})));
  const auto r = read_response(*c, deadline_in(5s));
  ASSERT_TRUE(r.complete) << c->received();
  EXPECT_EQ(r.version, "HTTP/1.0");
  EXPECT_EQ(r.header("Connection"), "keep-alive");
  EXPECT_EQ(c->read_for(deadline_in(150ms)), read_end::timeout) << "connection closed";
  const std::size_t second = c->received().size();
  ASSERT_TRUE(c->send_all(request_bytes("GET", "/", "HTTP/1.0")));
  ASSERT_EQ(c->read_until_eof(deadline_in(5s)), read_end::eof);
  EXPECT_EQ(parse_http_response(c->received().substr(second)).body, "Ollama is running");
}

TEST_F(Framing, LargeWholeBodiesAreChunkedFor11AndCloseDelimitedFor10) {
  // /api/tags is larger than Go's 2048-byte pre-chunk buffer.
  auto c = tcp_client::connect(port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send_all(request_bytes("GET", "/api/tags")));
  const auto r11 = read_response(*c, deadline_in(5s));
  ASSERT_TRUE(r11.complete) << c->received();
  EXPECT_GT(r11.body.size(), 2048u);
  EXPECT_EQ(r11.frame, body_framing::chunked);
  EXPECT_EQ(r11.header_count("Content-Length"), 0u);
  EXPECT_TRUE(json::parse(r11.body, nullptr, false).contains("models"));

  const auto raw = http_exchange(port(), request_bytes("GET", "/api/tags", "HTTP/1.0"));
  ASSERT_TRUE(raw);
  const auto r10 = parse_http_response(*raw);
  EXPECT_EQ(r10.frame, body_framing::close_delimited);
  EXPECT_EQ(r10.header_count("Transfer-Encoding"), 0u);
  EXPECT_EQ(r10.body, r11.body);
}

TEST_F(Framing, EveryResponseHasDateAndNoServer) {
  const std::vector<std::string> requests = {
      request_bytes("GET", "/", "HTTP/1.1", {"Host: 127.0.0.1", "Connection: close"}),
      request_bytes("GET", "/api/tags", "HTTP/1.1", {"Host: 127.0.0.1", "Connection: close"}),
      request_bytes("GET", "/no/such/path", "HTTP/1.1", {"Host: 127.0.0.1", "Connection: close"}),
      request_bytes("GET", "/api/generate", "HTTP/1.1", {"Host: 127.0.0.1", "Connection: close"}),
      request_bytes("POST", "/api/chat", "HTTP/1.1", {"Host: 127.0.0.1", "Connection: close"},
                    generate_body({{"first_token_ms", 0}, {"gap_ms", 0}, {"tokens", 2}})),
      request_bytes("POST", "/api/generate", "HTTP/1.0", {"Host: 127.0.0.1"}, "{bad json"),
  };
  for (const auto &req : requests) {
    const auto raw = http_exchange(port(), req);
    ASSERT_TRUE(raw) << req;
    const auto r = parse_http_response(*raw);
    EXPECT_TRUE(is_imf_fixdate(date_of(r))) << *raw;
    EXPECT_EQ(r.header_count("Date"), 1u) << *raw;
    EXPECT_EQ(r.header_count("Server"), 0u) << *raw;
  }
}

TEST_F(Framing, RequestConnectionCloseIsEchoedAndHonoured) {
  auto c = tcp_client::connect(port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send_all(
      request_bytes("POST", "/api/generate", "HTTP/1.1", {"Host: 127.0.0.1", "Connection: close"},
                    generate_body({{"first_token_ms", 0}, {"gap_ms", 0}, {"tokens", 2}}))));
  ASSERT_EQ(c->read_until_eof(deadline_in(5s)), read_end::eof);
  const auto r = parse_http_response(c->received());
  EXPECT_EQ(r.header("Connection"), "close");
  EXPECT_EQ(r.frame, body_framing::chunked);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.consumed, c->received().size());
}

// Go answers "Expect: 100-continue" on HTTP/1.1 before reading the body, and never on HTTP/1.0.
TEST_F(Framing, ExpectContinueForALargePost) {
  std::string body = generate_body({{"id", "cont"}, {"first_token_ms", 0}, {"tokens", 1}});
  body.insert(body.size() - 1, ",\"padding\":\"" + std::string(1 << 20, 'x') + "\"");
  auto c = tcp_client::connect(port());
  ASSERT_TRUE(c);
  std::string head =
      request_bytes("POST", "/api/generate", "HTTP/1.1",
                    {"Host: 127.0.0.1", "Expect: 100-continue", "Content-Type: application/json",
                     "Content-Length: " + std::to_string(body.size())});
  ASSERT_TRUE(c->send_all(head));
  ASSERT_EQ(c->read_until_contains("\r\n\r\n", deadline_in(3s)), read_end::open) << c->received();
  EXPECT_EQ(c->received(), "HTTP/1.1 100 Continue\r\n\r\n");
  const std::size_t final_at = c->received().size();
  ASSERT_TRUE(c->send_all(body, deadline_in(10s)));
  const auto r = read_response(*c, deadline_in(10s), final_at);
  ASSERT_TRUE(r.complete) << c->received().substr(final_at);
  EXPECT_EQ(r.status, 200);

  const json e = finished_entry("cont");
  ASSERT_TRUE(e.is_object());
  EXPECT_EQ(e["body_bytes"], body.size());
  EXPECT_EQ(e["outcome"], "completed");
}

TEST_F(Framing, NoContinueForHttp10) {
  const std::string body = generate_body({{"id", "cont10"}, {"first_token_ms", 0}, {"tokens", 1}});
  auto c = tcp_client::connect(port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send_all(request_bytes("POST", "/api/generate", "HTTP/1.0",
                                        {"Host: 127.0.0.1", "Expect: 100-continue",
                                         "Content-Length: " + std::to_string(body.size())})));
  EXPECT_EQ(c->read_for(deadline_in(200ms)), read_end::timeout) << c->received();
  ASSERT_TRUE(c->send_all(body));
  ASSERT_EQ(c->read_until_eof(deadline_in(5s)), read_end::eof);
  EXPECT_EQ(parse_http_response(c->received()).status, 200) << c->received();
}

} // namespace
} // namespace streamcheck::test
