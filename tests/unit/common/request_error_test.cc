#include "common/request_error.h"

#include <gtest/gtest.h>

namespace streamcheck {
namespace {

using boost::system::error_code;

// What Beast's request parser says about these bytes, fed at once as a complete read.
error_code parse(std::string_view bytes, std::uint32_t header_limit = 8192,
                 std::uint64_t body_limit = 1024) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(header_limit);
  parser.body_limit(body_limit);
  error_code ec;
  parser.put(asio::buffer(bytes.data(), bytes.size()), ec);
  return ec;
}

TEST(RequestError, WhatTheClientSentWrongIsAnswered) {
  const auto bad_method = parse("G@T / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(classify_request_error(bad_method), request_error::malformed) << bad_method.message();
  const auto bad_field = parse("GET / HTTP/1.1\r\nHo st: a\r\n\r\n");
  EXPECT_EQ(classify_request_error(bad_field), request_error::malformed) << bad_field.message();
  const auto bad_length = parse("POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n");
  EXPECT_EQ(classify_request_error(bad_length), request_error::malformed);
  EXPECT_EQ(refusal_status(request_error::malformed), 400);
}

TEST(RequestError, LimitsHaveTheirOwnStatus) {
  const auto big_head = parse("GET / HTTP/1.1\r\nX: " + std::string(200, 'a') + "\r\n\r\n", 64);
  EXPECT_EQ(classify_request_error(big_head), request_error::head_too_large);
  EXPECT_EQ(classify_request_error(http::error::buffer_overflow), request_error::head_too_large);
  EXPECT_EQ(refusal_status(request_error::head_too_large), 431);
  // A declared length over the limit is reported with the head (the mock answers that 400).
  const auto big_body = parse("POST / HTTP/1.1\r\nContent-Length: 4096\r\n\r\n");
  EXPECT_EQ(classify_request_error(big_body), request_error::body_too_large);
  EXPECT_EQ(refusal_status(request_error::body_too_large), 413);
}

TEST(RequestError, APeerThatLeftIsNotAnswered) {
  EXPECT_EQ(classify_request_error(http::error::end_of_stream), request_error::peer_gone);
  EXPECT_EQ(classify_request_error(http::error::partial_message), request_error::peer_gone);
  EXPECT_EQ(classify_request_error(asio::error::connection_reset), request_error::peer_gone);
  EXPECT_EQ(classify_request_error(asio::error::eof), request_error::peer_gone);
  EXPECT_EQ(classify_request_error(asio::error::operation_aborted), request_error::peer_gone);
  EXPECT_EQ(refusal_status(request_error::peer_gone), 0);
}

} // namespace
} // namespace streamcheck
