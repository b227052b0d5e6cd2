#include "mock_upstream/wire.h"

#include <gtest/gtest.h>

namespace streamcheck::mock {
namespace {

constexpr const char *date = "Mon, 02 Jan 2006 15:04:05 GMT";

head_options opts(int version, int status, header_list headers, body_framing frame,
                  std::size_t length = 0) {
  head_options o;
  o.version = version;
  o.status = status;
  o.headers = std::move(headers);
  o.frame = frame;
  o.content_length = length;
  o.date = date;
  return o;
}

TEST(CanonicalHeaderKey, LikeGo) {
  EXPECT_EQ(canonical_header_key("x-accel-buffering"), "X-Accel-Buffering");
  EXPECT_EQ(canonical_header_key("CONTENT-TYPE"), "Content-Type");
  EXPECT_EQ(canonical_header_key("access-control-allow-origin"), "Access-Control-Allow-Origin");
  EXPECT_EQ(canonical_header_key("www-authenticate"), "Www-Authenticate");
  EXPECT_EQ(canonical_header_key("x--a"), "X--A");
  EXPECT_EQ(canonical_header_key("a1-2b"), "A1-2b");
  EXPECT_EQ(canonical_header_key("Vary"), "Vary");
  EXPECT_EQ(canonical_header_key(""), "");
}

TEST(StatusText, GoTexts) {
  EXPECT_EQ(status_text(200), "OK");
  EXPECT_EQ(status_text(204), "No Content");
  EXPECT_EQ(status_text(403), "Forbidden");
  EXPECT_EQ(status_text(405), "Method Not Allowed");
  EXPECT_EQ(status_text(413), "Request Entity Too Large");
  EXPECT_EQ(status_text(418), "I'm a teapot");
  EXPECT_EQ(status_text(422), "Unprocessable Entity");
  EXPECT_EQ(status_text(501), "Not Implemented");
  EXPECT_EQ(status_text(503), "Service Unavailable");
  EXPECT_EQ(status_text(499), "");
  EXPECT_EQ(status_text(599), "");
}

TEST(SerializeHead, ChunkedNdjsonStream) {
  EXPECT_EQ(serialize_head(
                opts(11, 200, {{"Content-Type", "application/x-ndjson"}}, body_framing::chunked)),
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: application/x-ndjson\r\n"
            "Date: Mon, 02 Jan 2006 15:04:05 GMT\r\n"
            "Transfer-Encoding: chunked\r\n"
            "\r\n");
}

TEST(SerializeHead, SmallBodyGetsContentLengthAfterDate) {
  EXPECT_EQ(serialize_head(opts(11, 200, {{"Content-Type", "text/plain; charset=utf-8"}},
                                body_framing::content_length, 17)),
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Date: Mon, 02 Jan 2006 15:04:05 GMT\r\n"
            "Content-Length: 17\r\n"
            "\r\n");
}

TEST(SerializeHead, HandlerHeadersSortedByCanonicalKey) {
  EXPECT_EQ(serialize_head(opts(11, 200,
                                {{"x-accel-buffering", "no"},
                                 {"Vary", "Origin"},
                                 {"content-type", "application/json; charset=utf-8"},
                                 {"Access-Control-Allow-Origin", "http://localhost:3000"}},
                                body_framing::content_length, 2)),
            "HTTP/1.1 200 OK\r\n"
            "Access-Control-Allow-Origin: http://localhost:3000\r\n"
            "Content-Type: application/json; charset=utf-8\r\n"
            "Vary: Origin\r\n"
            "X-Accel-Buffering: no\r\n"
            "Date: Mon, 02 Jan 2006 15:04:05 GMT\r\n"
            "Content-Length: 2\r\n"
            "\r\n");
}

TEST(SerializeHead, RepeatedKeysKeepTheirOrder) {
  EXPECT_EQ(serialize_head(opts(11, 204,
                                {{"Vary", "Origin"},
                                 {"Access-Control-Max-Age", "43200"},
                                 {"vary", "Access-Control-Request-Method"},
                                 {"Vary", "Access-Control-Request-Headers"}},
                                body_framing::none)),
            "HTTP/1.1 204 No Content\r\n"
            "Access-Control-Max-Age: 43200\r\n"
            "Vary: Origin\r\n"
            "Vary: Access-Control-Request-Method\r\n"
            "Vary: Access-Control-Request-Headers\r\n"
            "Date: Mon, 02 Jan 2006 15:04:05 GMT\r\n"
            "\r\n");
}

TEST(SerializeHead, Bare403AsInOllamaIssue2425) {
  EXPECT_EQ(serialize_head(opts(11, 403, {}, body_framing::content_length, 0)),
            "HTTP/1.1 403 Forbidden\r\n"
            "Date: Mon, 02 Jan 2006 15:04:05 GMT\r\n"
            "Content-Length: 0\r\n"
            "\r\n");
}

TEST(SerializeHead, Http10StreamIsCloseDelimited) {
  EXPECT_EQ(serialize_head(opts(10, 200, {{"Content-Type", "application/x-ndjson"}},
                                body_framing::close_delimited)),
            "HTTP/1.0 200 OK\r\n"
            "Content-Type: application/x-ndjson\r\n"
            "Date: Mon, 02 Jan 2006 15:04:05 GMT\r\n"
            "\r\n");
}

TEST(SerializeHead, ConnectionCloseBeforeTransferEncoding) {
  auto o = opts(11, 200, {{"Content-Type", "text/event-stream"}}, body_framing::chunked);
  o.connection_close = true;
  EXPECT_EQ(serialize_head(o), "HTTP/1.1 200 OK\r\n"
                               "Content-Type: text/event-stream\r\n"
                               "Date: Mon, 02 Jan 2006 15:04:05 GMT\r\n"
                               "Connection: close\r\n"
                               "Transfer-Encoding: chunked\r\n"
                               "\r\n");
}

TEST(SerializeHead, ConnectionCloseAfterContentLength) {
  auto o = opts(11, 404, {{"Content-Type", "text/plain"}}, body_framing::content_length, 18);
  o.connection_close = true;
  EXPECT_EQ(serialize_head(o), "HTTP/1.1 404 Not Found\r\n"
                               "Content-Type: text/plain\r\n"
                               "Date: Mon, 02 Jan 2006 15:04:05 GMT\r\n"
                               "Content-Length: 18\r\n"
                               "Connection: close\r\n"
                               "\r\n");
}

TEST(SerializeHead, Http10KeepAliveWithLength) {
  auto o = opts(10, 200, {{"Content-Type", "application/json; charset=utf-8"}},
                body_framing::content_length, 20);
  o.connection_keep_alive = true;
  EXPECT_EQ(serialize_head(o), "HTTP/1.0 200 OK\r\n"
                               "Content-Type: application/json; charset=utf-8\r\n"
                               "Date: Mon, 02 Jan 2006 15:04:05 GMT\r\n"
                               "Content-Length: 20\r\n"
                               "Connection: keep-alive\r\n"
                               "\r\n");
}

TEST(SerializeHead, ConnectionFlagsOnlyApplyToTheirVersion) {
  auto o = opts(10, 200, {}, body_framing::content_length, 0);
  o.connection_close = true; // HTTP/1.0 closes anyway: Go adds nothing
  EXPECT_EQ(serialize_head(o), "HTTP/1.0 200 OK\r\n"
                               "Date: Mon, 02 Jan 2006 15:04:05 GMT\r\n"
                               "Content-Length: 0\r\n"
                               "\r\n");
  o = opts(11, 200, {}, body_framing::content_length, 0);
  o.connection_keep_alive = true; // HTTP/1.1 keeps alive by default
  EXPECT_EQ(serialize_head(o), "HTTP/1.1 200 OK\r\n"
                               "Date: Mon, 02 Jan 2006 15:04:05 GMT\r\n"
                               "Content-Length: 0\r\n"
                               "\r\n");
}

TEST(SerializeHead, UnknownStatusText) {
  EXPECT_EQ(serialize_head(opts(11, 499, {}, body_framing::content_length, 0)),
            "HTTP/1.1 499 status code 499\r\n"
            "Date: Mon, 02 Jan 2006 15:04:05 GMT\r\n"
            "Content-Length: 0\r\n"
            "\r\n");
  EXPECT_EQ(serialize_head(opts(10, 599, {}, body_framing::close_delimited)).substr(0, 30),
            "HTTP/1.0 599 status code 599\r\n");
}

TEST(SerializeHead, ScriptedStatusesUseGoText) {
  EXPECT_EQ(serialize_head(opts(11, 418, {}, body_framing::content_length, 0)).substr(0, 28),
            "HTTP/1.1 418 I'm a teapot\r\nD");
  EXPECT_EQ(serialize_head(opts(11, 503, {}, body_framing::content_length, 0)).substr(0, 35),
            "HTTP/1.1 503 Service Unavailable\r\nD");
}

TEST(Chunk, HexSizeLineDataCrlf) {
  EXPECT_EQ(chunk("abc"), "3\r\nabc\r\n");
  EXPECT_EQ(chunk(std::string(30, 'x')), "1e\r\n" + std::string(30, 'x') + "\r\n");
  EXPECT_EQ(chunk(std::string(4096, 'y')), "1000\r\n" + std::string(4096, 'y') + "\r\n");
  EXPECT_EQ(chunk(std::string_view("a\0b", 3)), std::string("3\r\na\0b\r\n", 8));
}

TEST(Chunk, LastChunkAndBufferSize) {
  EXPECT_EQ(last_chunk, "0\r\n\r\n");
  EXPECT_EQ(go_prechunk_buffer, 2048u);
}

} // namespace
} // namespace streamcheck::mock
