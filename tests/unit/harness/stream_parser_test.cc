// The incremental splitter: the same events whatever the read boundaries, for NDJSON and SSE.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness/stream_parser.h"

namespace streamcheck::harness {
namespace {

using events = std::vector<std::string>;

// Feeds `body` in pieces cut at `cuts` (ascending offsets), then finishes.
events parse(stream_parser::kind k, const std::string &body, const std::vector<std::size_t> &cuts) {
  events out;
  stream_parser p(k, [&](std::string e) { out.push_back(std::move(e)); });
  std::size_t at = 0;
  for (std::size_t cut : cuts) {
    p.feed(std::string_view(body).substr(at, cut - at));
    at = cut;
  }
  p.feed(std::string_view(body).substr(at));
  p.finish();
  return out;
}

events parse_whole(stream_parser::kind k, const std::string &body) {
  return parse(k, body, {});
}

// Every way of cutting `body` in two and in three pieces, and byte by byte.
void expect_same_for_every_split(stream_parser::kind k, const std::string &body,
                                 const events &want) {
  for (std::size_t i = 0; i <= body.size(); ++i) {
    ASSERT_EQ(parse(k, body, {i}), want) << "cut at " << i;
    for (std::size_t j = i; j <= body.size(); ++j)
      ASSERT_EQ(parse(k, body, {i, j}), want) << "cuts at " << i << ", " << j;
  }
  std::vector<std::size_t> every_byte;
  for (std::size_t i = 1; i < body.size(); ++i)
    every_byte.push_back(i);
  EXPECT_EQ(parse(k, body, every_byte), want) << "byte by byte";
}

constexpr auto ndjson = stream_parser::kind::ndjson;
constexpr auto sse = stream_parser::kind::sse;

TEST(StreamParserNdjson, SplitsLines) {
  EXPECT_EQ(parse_whole(ndjson, "{\"a\":1}\n{\"b\":2}\n"), (events{"{\"a\":1}", "{\"b\":2}"}));
}

TEST(StreamParserNdjson, SameEventsAcrossArbitraryFeedBoundaries) {
  const std::string body = "{\"message\":{\"content\":\"Why\"},\"done\":false}\n"
                           "{\"message\":{\"content\":\" is\"},\"done\":false}\n"
                           "{\"done\":true}\n";
  expect_same_for_every_split(ndjson, body,
                              {"{\"message\":{\"content\":\"Why\"},\"done\":false}",
                               "{\"message\":{\"content\":\" is\"},\"done\":false}",
                               "{\"done\":true}"});
}

TEST(StreamParserNdjson, StripsCrlfEvenWhenTheCrAndLfArriveApart) {
  expect_same_for_every_split(ndjson, "{\"a\":1}\r\n{\"b\":2}\r\n", {"{\"a\":1}", "{\"b\":2}"});
}

TEST(StreamParserNdjson, SkipsBlankLines) {
  EXPECT_EQ(parse_whole(ndjson, "\n{\"a\":1}\n\r\n\n{\"b\":2}\n"),
            (events{"{\"a\":1}", "{\"b\":2}"}));
}

TEST(StreamParserNdjson, FinalLineWithoutNewlineCountsOnlyAtFinish) {
  events out;
  stream_parser p(ndjson, [&](std::string e) { out.push_back(std::move(e)); });
  p.feed("{\"a\":1}\n{\"done\":");
  EXPECT_EQ(out, (events{"{\"a\":1}"}));
  p.feed("true}");
  EXPECT_EQ(out.size(), 1u) << "an unterminated line is not an event before the end";
  p.finish();
  EXPECT_EQ(out, (events{"{\"a\":1}", "{\"done\":true}"}));
  p.finish();
  EXPECT_EQ(out.size(), 2u) << "a second finish() adds nothing";
}

TEST(StreamParserNdjson, EventIsDeliveredByTheFeedThatCompletesIt) {
  int delivered_at_feed = -1;
  int feed_no = 0;
  stream_parser p(ndjson, [&](std::string) { delivered_at_feed = feed_no; });
  for (const char *piece : {"{\"a\"", ":1}", "\n"}) {
    ++feed_no;
    p.feed(piece);
  }
  EXPECT_EQ(delivered_at_feed, 3);
}

TEST(StreamParserSse, DispatchesOnBlankLine) {
  EXPECT_EQ(parse_whole(sse, "data: {\"a\":1}\n\ndata: {\"b\":2}\n\n"),
            (events{"{\"a\":1}", "{\"b\":2}"}));
}

TEST(StreamParserSse, JoinsMultiLineDataWithNewline) {
  EXPECT_EQ(parse_whole(sse, "data: first\ndata: second\ndata:third\n\n"),
            (events{"first\nsecond\nthird"}));
}

TEST(StreamParserSse, IgnoresCommentsAndOtherFields) {
  const std::string body = ": keep-alive\n\n"
                           "event: message\nid: 7\nretry: 1000\ndata: {\"a\":1}\n\n"
                           ": another comment\n"
                           "data: {\"b\":2}\n\n";
  EXPECT_EQ(parse_whole(sse, body), (events{"{\"a\":1}", "{\"b\":2}"}));
}

TEST(StreamParserSse, DataWithoutSpaceAndOnlyOneSpaceRemoved) {
  EXPECT_EQ(parse_whole(sse, "data:x\n\ndata:  two spaces\n\n"), (events{"x", " two spaces"}));
}

TEST(StreamParserSse, EmptyDataIsStillAnEvent) {
  EXPECT_EQ(parse_whole(sse, "data:\n\n"), (events{""}));
}

TEST(StreamParserSse, DoneSentinelIsAnEvent) {
  EXPECT_EQ(parse_whole(sse, "data: {\"a\":1}\n\ndata: [DONE]\n\n"),
            (events{"{\"a\":1}", "[DONE]"}));
}

TEST(StreamParserSse, BlankLinesWithoutDataDispatchNothing) {
  EXPECT_TRUE(parse_whole(sse, "\n\n\r\n: ping\n\n").empty());
}

TEST(StreamParserSse, SameEventsAcrossArbitraryFeedBoundariesWithCrlf) {
  const std::string body = ": openai-style\r\n\r\n"
                           "data: {\"choices\":[{\"delta\":{\"content\":\"Why\"}}]}\r\n\r\n"
                           "data: line one\r\ndata: line two\r\n\r\n"
                           "data: [DONE]\r\n\r\n";
  expect_same_for_every_split(
      sse, body,
      {"{\"choices\":[{\"delta\":{\"content\":\"Why\"}}]}", "line one\nline two", "[DONE]"});
}

TEST(StreamParserSse, EventSplitAcrossFeedsIsDeliveredOnceComplete) {
  events out;
  stream_parser p(sse, [&](std::string e) { out.push_back(std::move(e)); });
  p.feed("data: {\"a\":");
  p.feed("1}\n");
  EXPECT_TRUE(out.empty()) << "no dispatch before the blank line";
  p.feed("\n");
  EXPECT_EQ(out, (events{"{\"a\":1}"}));
}

TEST(StreamParserSse, DataLineIsNotMistakenForNdjson) {
  // The same bytes parsed as NDJSON keep the "data: " prefix: the kind matters.
  EXPECT_EQ(parse_whole(ndjson, "data: x\n\n"), (events{"data: x"}));
}

TEST(StreamParser, KindFromContentType) {
  EXPECT_EQ(stream_parser::for_content_type("text/event-stream"), sse);
  EXPECT_EQ(stream_parser::for_content_type("text/event-stream; charset=utf-8"), sse);
  EXPECT_EQ(stream_parser::for_content_type("application/x-ndjson"), ndjson);
  EXPECT_EQ(stream_parser::for_content_type("application/json; charset=utf-8"), ndjson);
  EXPECT_EQ(stream_parser::for_content_type(""), ndjson);
}

} // namespace
} // namespace streamcheck::harness
