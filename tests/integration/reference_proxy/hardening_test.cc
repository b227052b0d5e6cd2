// streamcheck-proxy against hostile or malformed clients: request smuggling (ambiguous framing,
// each refused with 400 and the connection closed, nothing forwarded, a pipelined request behind
// it never executed), never an open proxy, size limits (414, 431) and the connection limit.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/integration/reference_proxy/proxy_fixture.h"

namespace streamcheck::test {
namespace {

// Pipelined behind every attempt: if the proxy and the upstream disagreed about where the first
// request ends, this is what would be smuggled through.
const std::string smuggled = "GET /api/version?streamcheck.id=smuggled HTTP/1.1\r\n"
                             "Host: llm.example.test\r\n\r\n";

struct framing_case {
  const char *name;
  std::string request; // the attempt; `smuggled` follows it on the same connection
  int status = 400;
};

std::vector<framing_case> framing_cases() {
  const std::string post = "POST /api/generate HTTP/1.1\r\nHost: llm.example.test\r\n";
  return {
      {"ContentLengthAndChunked",
       post + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
      {"ChunkedAndContentLength",
       post + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n"},
      {"TwoContentLengthsSameValue", post + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello"},
      {"TwoContentLengthsDifferentValues",
       post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"},
      {"ContentLengthNegative", post + "Content-Length: -5\r\n\r\nhello"},
      {"TransferEncodingGzip", post + "Transfer-Encoding: gzip\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
      {"TransferEncodingChunkedIdentity",
       post + "Transfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
      {"TwoTransferEncodingHeaders", post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: "
                                            "chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
      {"TransferEncodingWithSpaceBeforeColon",
       post + "Transfer-Encoding : chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
      {"TransferEncodingInHttp10",
       "POST /api/generate HTTP/1.0\r\nHost: llm.example.test\r\nTransfer-Encoding: chunked\r\n"
       "\r\n5\r\nhello\r\n0\r\n\r\n"},
      {"AbsoluteFormTarget", "GET http://evil.example/ HTTP/1.1\r\nHost: evil.example\r\n\r\n"},
      {"AbsoluteFormToTheUpstreamPath",
       "GET http://llm.example.test/api/version HTTP/1.1\r\nHost: llm.example.test\r\n\r\n"},
      {"Connect", "CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n"},
      {"AsteriskForm", "OPTIONS * HTTP/1.1\r\nHost: llm.example.test\r\n\r\n"},
  };
}

// Test names show the case's name, not its bytes.
void PrintTo(const framing_case &c, std::ostream *os) {
  *os << c.name;
}

class ProxySmuggling : public ProxyTest, public ::testing::WithParamInterface<framing_case> {};

TEST_P(ProxySmuggling, RefusedWith400ClosedAndNothingForwarded) {
  ASSERT_NO_FATAL_FAILURE(start());
  tcp_client c = connect();
  ASSERT_TRUE(c.send_all(GetParam().request + smuggled));
  read_end end = read_end::open;
  const http_response r = read_response(c, deadline_in(5s), 0, false, &end);
  EXPECT_EQ(r.status, GetParam().status) << c.received();
  EXPECT_TRUE(r.complete) << c.received();
  EXPECT_TRUE(r.header("Content-Type").value_or("").starts_with("application/json")) << r.raw_head;
  EXPECT_TRUE(json_body(r).contains("error")) << r.body;
  EXPECT_TRUE(has_token(r.header("Connection"), "close")) << r.raw_head;
  // The connection ends after this one answer: the pipelined request is never answered.
  if (end == read_end::open) end = c.read_until_eof(deadline_in(5s));
  EXPECT_TRUE(end == read_end::eof || end == read_end::reset) << to_string(end);
  EXPECT_EQ(r.consumed, c.received().size()) << "more than one answer:\n" << c.received();
  // Nothing reached the upstream, the pipelined request least of all.
  std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(journal().empty()) << journal().dump();
  const auto lines = wait_for_log_lines(1);
  ASSERT_EQ(lines.size(), 1u) << read_file(access_log_path());
  EXPECT_EQ(lines[0]["status"], GetParam().status) << lines[0].dump();
  EXPECT_EQ(lines[0]["outcome"], "refused") << lines[0].dump();
}

INSTANTIATE_TEST_SUITE_P(Framing, ProxySmuggling, ::testing::ValuesIn(framing_cases()),
                         [](const auto &param_info) { return std::string(param_info.param.name); });

using ProxyHardening = ProxyTest;

// RFC 9110 §8.6 lets a recipient either refuse "Content-Length: 5, 5" or replace it with one
// valid value. Either is safe as long as the proxy and the upstream then agree: refused, or
// forwarded with exactly one Content-Length and the pipelined request answered after it.
TEST_F(ProxyHardening, ContentLengthListIsRefused) {
  ASSERT_NO_FATAL_FAILURE(start());
  tcp_client c = connect();
  ASSERT_TRUE(c.send_all("POST /api/generate?streamcheck.id=cl-list HTTP/1.1\r\n"
                         "Host: llm.example.test\r\nContent-Length: 5, 5\r\n\r\nhello" +
                         smuggled));
  const http_response r = read_response(c, deadline_in(5s));
  ASSERT_TRUE(r.complete) << c.received();
  // RFC 9112 allows merging "5, 5"; refusing it, like two Content-Length headers, leaves no
  // room for two hops to disagree.
  EXPECT_EQ(r.status, 400) << c.received();
  const read_end end = c.read_until_eof(deadline_in(5s));
  EXPECT_TRUE(end == read_end::eof || end == read_end::reset) << to_string(end);
  EXPECT_TRUE(journal().empty()) << journal().dump();
}

// The head was fine and went upstream; the body's framing breaks mid-way.
TEST_F(ProxyHardening, BadChunkSizeMidBodyIs400AndClosed) {
  ASSERT_NO_FATAL_FAILURE(start());
  tcp_client c = connect();
  ASSERT_TRUE(c.send_all("POST /api/generate?streamcheck.id=badchunk HTTP/1.1\r\n"
                         "Host: llm.example.test\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "5\r\nhello\r\nzz\r\nworld\r\n0\r\n\r\n" +
                         smuggled));
  read_end end = read_end::open;
  const http_response r = read_response(c, deadline_in(5s), 0, false, &end);
  EXPECT_EQ(r.status, 400) << c.received();
  EXPECT_TRUE(json_body(r).contains("error")) << r.body;
  if (end == read_end::open) end = c.read_until_eof(deadline_in(5s));
  EXPECT_TRUE(end == read_end::eof || end == read_end::reset) << to_string(end);
  EXPECT_EQ(r.consumed, c.received().size()) << c.received();
  std::this_thread::sleep_for(100ms);
  // The mock may have seen the head and "hello", never a whole request, nor the smuggled one.
  EXPECT_TRUE(journal().empty()) << journal().dump();
}

// RFC 9112 §3.2: a request without Host, or with two, gets a 400 (which Host would the proxy's
// X-Forwarded-Host name?).
TEST_F(ProxyHardening, MissingOrRepeatedHostIs400) {
  ASSERT_NO_FATAL_FAILURE(start());
  for (const std::string &request :
       {std::string("GET /api/version HTTP/1.1\r\n\r\n"),
        std::string("GET /api/version HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n")}) {
    SCOPED_TRACE(request);
    const http_response r = exchange(request);
    EXPECT_EQ(r.status, 400) << r.raw_head << r.body;
  }
  EXPECT_TRUE(journal().empty()) << journal().dump();
}

TEST_F(ProxyHardening, TargetLongerThanTheLimitIs414) {
  ASSERT_NO_FATAL_FAILURE(start({"--max-target-bytes", "64"}));
  tcp_client c = connect();
  const std::string target = "/api/version?streamcheck.id=long&pad=" + std::string(100, 'p');
  ASSERT_TRUE(c.send_all(
      request_bytes("GET", target, "HTTP/1.1", {"Host: " + std::string(public_host)}) + smuggled));
  const http_response r = read_response(c, deadline_in(5s));
  EXPECT_EQ(r.status, 414) << c.received();
  EXPECT_TRUE(json_body(r).contains("error")) << r.body;
  const read_end end = c.read_until_eof(deadline_in(5s));
  EXPECT_TRUE(end == read_end::eof || end == read_end::reset) << to_string(end);
  EXPECT_EQ(r.consumed, c.received().size()) << c.received();
  EXPECT_TRUE(journal().empty()) << journal().dump();
  // A target at the limit is fine.
  const std::string fits = "/api/version?pad=" + std::string(64 - 17, 'p');
  ASSERT_EQ(fits.size(), 64u);
  EXPECT_EQ(exchange(request_bytes("GET", fits, "HTTP/1.1", {"Host: " + std::string(public_host)}))
                .status,
            200);
}

TEST_F(ProxyHardening, HeadLargerThanTheLimitIs431) {
  ASSERT_NO_FATAL_FAILURE(start({"--max-header-bytes", "1KiB"}));
  for (const std::size_t size : {std::size_t{2000}, std::size_t{8000}}) {
    SCOPED_TRACE(size);
    tcp_client c = connect();
    ASSERT_TRUE(c.send_all(
        request_bytes("GET", "/api/version", "HTTP/1.1",
                      {"Host: " + std::string(public_host), "X-Big: " + std::string(size, 'b')}) +
        smuggled));
    const http_response r = read_response(c, deadline_in(5s));
    EXPECT_EQ(r.status, 431) << c.received();
    EXPECT_TRUE(r.complete) << c.received();
    EXPECT_TRUE(json_body(r).contains("error")) << r.body;
    const read_end end = c.read_until_eof(deadline_in(5s));
    EXPECT_TRUE(end == read_end::eof || end == read_end::reset) << to_string(end);
  }
  EXPECT_TRUE(journal().empty()) << journal().dump();
  // A head under the limit is fine.
  EXPECT_EQ(exchange(request_bytes("GET", "/api/version", "HTTP/1.1",
                                   {"Host: " + std::string(public_host),
                                    "X-Small: " + std::string(500, 's')}))
                .status,
            200);
}

// A refused head: the status, a JSON error, the connection closed, nothing forwarded (the
// pipelined `smuggled` request least of all).
void expect_refused_alone(tcp_client &c, int status) {
  read_end end = read_end::open;
  const http_response r = read_response(c, deadline_in(5s), 0, false, &end);
  expect_json_error(r, status);
  if (end == read_end::open) end = c.read_until_eof(deadline_in(5s));
  EXPECT_TRUE(end == read_end::eof || end == read_end::reset) << to_string(end);
  EXPECT_EQ(r.consumed, c.received().size()) << "more than one answer:\n" << c.received();
}

// Content-Length and a folded " Transfer-Encoding: chunked": unfolded, this hop frames by length
// and would forward the chunk payload as a second request, while a front proxy that reads the
// line as a header of its own frames by chunks.
TEST_F(ProxyHardening, ObsoleteLineFoldingIs400AndNothingForwarded) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string inner = "GET /api/version?streamcheck.id=folded HTTP/1.1\r\nHost: x\r\n\r\n";
  tcp_client c = connect();
  ASSERT_TRUE(c.send_all("POST /api/generate HTTP/1.1\r\nHost: llm.example.test\r\n"
                         "Content-Length: 5\r\nX-Pad: 1\r\n Transfer-Encoding: chunked\r\n\r\n"
                         "0\r\n\r\n" +
                         inner + smuggled));
  expect_refused_alone(c, 400);
  std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(journal().empty()) << journal().dump();
}

TEST_F(ProxyHardening, InvalidHostIs400) {
  ASSERT_NO_FATAL_FAILURE(start());
  for (const std::string host :
       {"user@llm.example.test", "llm.example.test/evil", "llm example.test", "\"llm\"",
        "llm\\example", "llm.example.test:99999", "llm.example.test:8x", ""}) {
    SCOPED_TRACE(host);
    tcp_client c = connect();
    ASSERT_TRUE(c.send_all(raw_head("GET /api/version HTTP/1.1", {"Host: " + host}) + smuggled));
    expect_refused_alone(c, 400);
  }
  EXPECT_TRUE(journal().empty()) << journal().dump();
  // Valid forms go through, the port included in X-Forwarded-Host.
  for (const std::string host : {"llm.example.test:8443", "[::1]:8080", "127.0.0.1"}) {
    SCOPED_TRACE(host);
    const std::string id = "host" + std::to_string(journal().size());
    EXPECT_EQ(
        exchange(raw_head("GET /api/version?streamcheck.id=" + id + " HTTP/1.1", {"Host: " + host}))
            .status,
        200);
    EXPECT_EQ(journal_header(wait_for_entry(id), "X-Forwarded-Host").value_or(""), host);
  }
}

class ProxyUnderscores : public ProxyTest, public ::testing::WithParamInterface<bool> {};

// What an upstream that maps '_' to '-' (CGI, WSGI) would take for framing headers.
TEST_P(ProxyUnderscores, DroppedUnlessAllowed) {
  const bool allowed = GetParam();
  ASSERT_NO_FATAL_FAILURE(start({"--underscores-in-headers", allowed ? "on" : "off"}));
  const http_response r = exchange(raw_head(
      "GET /api/version?streamcheck.id=us HTTP/1.1",
      {"Host: llm.example.test", "Transfer_Encoding: chunked", "X_Api_Key: k", "X-Ok: 1"}));
  EXPECT_EQ(r.status, 200) << r.raw_head;
  const json entry = wait_for_entry("us");
  EXPECT_EQ(journal_header_count(entry, "Transfer_Encoding"), allowed ? 1u : 0u) << entry.dump();
  EXPECT_EQ(journal_header_count(entry, "X_Api_Key"), allowed ? 1u : 0u) << entry.dump();
  EXPECT_EQ(journal_header(entry, "X-Ok").value_or(""), "1") << entry.dump();
}

INSTANTIATE_TEST_SUITE_P(Option, ProxyUnderscores, ::testing::Bool(),
                         [](const auto &p) { return p.param ? "On" : "Off"; });

TEST_F(ProxyHardening, TraceLongMethodsNulAndDotSegmentsAreRefused) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::pair<std::string, int> cases[] = {
      {"TRACE /api/version HTTP/1.1", 405},  {std::string(40, 'M') + " /api/version HTTP/1.1", 501},
      {"GET /api/%00version HTTP/1.1", 400}, {"GET /v1/../api/version HTTP/1.1", 400},
      {"GET /api/./version HTTP/1.1", 400},  {"GET /v1/%2e%2e/api/version HTTP/1.1", 400},
  };
  for (const auto &[line, status] : cases) {
    SCOPED_TRACE(line);
    tcp_client c = connect();
    ASSERT_TRUE(c.send_all(raw_head(line, {"Host: llm.example.test"}) + smuggled));
    expect_refused_alone(c, status);
  }
  std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(journal().empty()) << journal().dump();
}

// HAProxy's header-count limit and nginx's line limit: 431, refused before the rest is read.
TEST_F(ProxyHardening, TooManyHeadersOrTooLongALineIs431) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::vector<std::string> many = {"Host: llm.example.test"};
  for (int i = 0; i < 100; ++i)
    many.push_back("X-" + std::to_string(i) + ": v");
  {
    tcp_client c = connect();
    ASSERT_TRUE(c.send_all(raw_head("GET /api/version HTTP/1.1", many) + smuggled));
    expect_refused_alone(c, 431);
  }
  {
    tcp_client c = connect();
    ASSERT_TRUE(
        c.send_all(raw_head("GET /api/version HTTP/1.1",
                            {"Host: llm.example.test", "X-Long: " + std::string(9000, 'l')}) +
                   smuggled));
    expect_refused_alone(c, 431);
  }
  EXPECT_TRUE(journal().empty()) << journal().dump();
  // 100 lines (Host included) and an 8 KiB line are within the limits.
  many.resize(99); // Host and 98 others
  many.push_back("X-Long: " + std::string(8 * 1024 - 8, 'l'));
  ASSERT_EQ(many.size(), 100u);
  EXPECT_EQ(exchange(raw_head("GET /api/version HTTP/1.1", many)).status, 200);
}

// nginx's `access_log off`: no log, not a file named "off" (the proxy runs in this directory).
TEST_F(ProxyHardening, AccessLogOffWritesNothing) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto before = fs::exists("off") ? fs::file_size("off", ec) : std::uintmax_t{0};
  const bool existed = fs::exists("off"); // a file a broken build left: it must not grow
  ASSERT_NO_FATAL_FAILURE(start({"--access-log", "off"}));
  EXPECT_EQ(exchange(raw_head("GET /api/version HTTP/1.1", {"Host: llm.example.test"})).status,
            200);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(fs::exists("off"), existed);
  if (existed) {
    EXPECT_EQ(fs::file_size("off", ec), before);
  }
}

// Legitimately pipelined requests are answered, in order, on the same connection.
TEST_F(ProxyHardening, PipelinedRequestsAreAnsweredInOrder) {
  ASSERT_NO_FATAL_FAILURE(start());
  tcp_client c = connect();
  ASSERT_TRUE(
      c.send_all(generate_request("pipe1", {{"first_token_ms", 0}, {"gap_ms", 5}, {"tokens", 3}}) +
                 request_bytes("GET", "/api/version?streamcheck.id=pipe2", "HTTP/1.1",
                               {"Host: " + std::string(public_host)})));
  const http_response first = read_response(c, deadline_in(10s));
  ASSERT_TRUE(first.complete) << c.received();
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(ndjson_lines(first.body).size(), 4u);
  const http_response second = read_response(c, deadline_in(10s), first.consumed);
  ASSERT_TRUE(second.complete) << c.received();
  EXPECT_EQ(second.status, 200);
  EXPECT_TRUE(json_body(second).contains("version")) << second.body;
  EXPECT_EQ(journal("pipe1").size(), 1u);
  EXPECT_EQ(journal("pipe2").size(), 1u);
}

// At the limit, a further connection waits (in the listen queue) and is served once another
// closes.
TEST_F(ProxyHardening, MaxConnectionsHoldsTheThirdUntilOneCloses) {
  ASSERT_NO_FATAL_FAILURE(start({"--max-connections", "2"}));
  const std::string version =
      request_bytes("GET", "/api/version", "HTTP/1.1", {"Host: " + std::string(public_host)});
  std::vector<tcp_client> open;
  for (int i = 0; i < 2; ++i) {
    open.push_back(connect());
    ASSERT_TRUE(open.back().send_all(version));
    ASSERT_EQ(read_response(open.back(), deadline_in(5s)).status, 200);
  }
  tcp_client third = connect(); // the kernel completes the handshake; the proxy does not accept
  ASSERT_TRUE(third.send_all(request_bytes("GET", "/api/version?streamcheck.id=third", "HTTP/1.1",
                                           {"Host: " + std::string(public_host)})));
  EXPECT_EQ(third.read_for(deadline_in(1s)), read_end::timeout)
      << "served beyond --max-connections:\n"
      << third.received();
  EXPECT_TRUE(journal("third").empty());
  // The two first still work.
  const std::size_t before = open[1].received().size();
  ASSERT_TRUE(open[1].send_all(version));
  EXPECT_EQ(read_response(open[1], deadline_in(5s), before).status, 200);

  open[0].close();
  const http_response r = read_response(third, deadline_in(5s));
  EXPECT_EQ(r.status, 200) << third.received();
  EXPECT_EQ(journal("third").size(), 1u);
}

} // namespace
} // namespace streamcheck::test
