#include "reference_proxy/request_head.h"

#include <gtest/gtest.h>

#include "reference_proxy/headers.h"

namespace streamcheck::proxy {
namespace {

struct scanned {
  head_scanner::state state;
  std::size_t size = 0;
  int status = 0;
};

// The whole text at once, or one byte at a time: the answer must not depend on the split.
scanned scan(const std::string &text, head_limits limits = {}, bool byte_by_byte = false) {
  head_scanner s(limits);
  head_scanner::state st = head_scanner::state::need_more;
  if (byte_by_byte) {
    for (std::size_t n = 1; n <= text.size() && st == head_scanner::state::need_more; ++n)
      st = s.scan(std::string_view(text).substr(0, n));
  } else {
    st = s.scan(text);
  }
  return {st, s.head_size(), s.problem() ? s.problem()->status : 0};
}

const std::string request_line = "GET /api/tags HTTP/1.1\r\n";

TEST(HeadScanner, FindsTheEndOfTheHeadWhateverTheSplit) {
  const std::string head = request_line + "Host: a\r\nX-A: 1\r\n\r\n";
  for (const bool split : {false, true}) {
    const auto r = scan(head + "GET /next", {}, split);
    EXPECT_EQ(r.state, head_scanner::state::complete);
    EXPECT_EQ(r.size, head.size());
  }
  EXPECT_EQ(scan(request_line + "Host: a\r\n").state, head_scanner::state::need_more);
}

TEST(HeadScanner, RefusesObsoleteLineFolding) {
  for (const char *fold : {" chunked", "\tchunked"}) {
    const auto r =
        scan(request_line + "Host: a\r\nContent-Length: 4\r\nX-A: 1\r\n" + fold + "\r\n\r\n");
    EXPECT_EQ(r.state, head_scanner::state::refused) << fold;
    EXPECT_EQ(r.status, 400);
  }
}

TEST(HeadScanner, HeaderCountLimitIs431AtTheFirstLineBeyondIt) {
  head_limits limits;
  limits.max_headers = 3;
  std::string head = request_line;
  for (int i = 0; i < 3; ++i)
    head += "X-" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(scan(head + "\r\n", limits).state, head_scanner::state::complete);
  // Refused as soon as the fourth line ends: nothing after it is waited for.
  const auto r = scan(head + "X-3: v\r\n", limits, true);
  EXPECT_EQ(r.state, head_scanner::state::refused);
  EXPECT_EQ(r.status, 431);
}

TEST(HeadScanner, HeaderLineLimitIs431ButTheRequestLineIsNotBoundByIt) {
  head_limits limits;
  limits.max_line_bytes = 16;
  const std::string at_limit = "X-A: " + std::string(11, 'v'); // 16 bytes
  EXPECT_EQ(scan(request_line + at_limit + "\r\n\r\n", limits).state,
            head_scanner::state::complete);
  for (const bool split : {false, true}) {
    const auto r = scan(request_line + at_limit + "v\r\n\r\n", limits, split);
    EXPECT_EQ(r.state, head_scanner::state::refused);
    EXPECT_EQ(r.status, 431);
  }
  // Refused before the line ends: a line without end cannot hold the connection.
  EXPECT_EQ(scan(request_line + "X-A: " + std::string(100, 'v'), limits).status, 431);
  const std::string long_target = "GET /" + std::string(100, 'p') + " HTTP/1.1\r\n";
  EXPECT_EQ(scan(long_target + "Host: a\r\n\r\n", limits).state, head_scanner::state::complete);
}

TEST(HeadScanner, HeadLimitIs431) {
  head_limits limits;
  limits.max_head_bytes = 64;
  EXPECT_EQ(scan(request_line + "X-A: " + std::string(100, 'v') + "\r\n\r\n", limits).status, 431);
}

TEST(HeadScanner, BareLineFeedAndLeadingEmptyLineAre400) {
  EXPECT_EQ(scan("GET / HTTP/1.1\nHost: a\n\n").status, 400);
  EXPECT_EQ(scan(request_line + "Host: a\n\r\n").status, 400);
  EXPECT_EQ(scan("\r\n" + request_line + "Host: a\r\n\r\n").status, 400);
}

TEST(ValidHost, AcceptsNamesAddressesAndPorts) {
  for (const char *host :
       {"llm.example.test", "llm.example.test:8080", "127.0.0.1", "[::1]", "[::1]:11434",
        "[2001:db8::7]", "localhost:1", "xn--bcher-kva.example", "a_b.example", "%41.example"})
    EXPECT_TRUE(valid_host(host)) << host;
}

TEST(ValidHost, RefusesWhatRfc9112Refuses) {
  for (const char *host :
       {"", "user@llm.example.test", "llm.example.test/x", "llm example", "\"llm\"", "llm\\example",
        "llm.example.test:80x", "llm.example.test:65536", "llm.example.test:", ":80", "[::1",
        "[::1]x", "[zz::1]", "[::1]:", "llm.example.test:-1", "%4", "a<b"})
    EXPECT_FALSE(valid_host(host)) << host;
}

TEST(TargetProblem, RefusesNulAndDotSegments) {
  for (const char *target : {"/api/%00tags", "/api/tags?x=%00", "/api/../admin", "/api/./tags",
                             "/api/..", "/api/%2e%2e/admin", "/api/%2E/tags", "/.%2e/x", "/.."})
    EXPECT_TRUE(target_problem(target).has_value()) << target;
  for (const char *target : {"/api/tags", "/api/v1.2/x", "/...", "/a..b/", "/api/tags?path=../x",
                             "/.well-known/x", "/%2e%2e%2e"})
    EXPECT_FALSE(target_problem(target).has_value()) << target;
}

// The head that cost the event loop ~1 s before: every header's hop-by-hop decision rescanned
// the whole head. The decision set is built once now; a functional check that it still holds.
TEST(HopByHopNames, NamedByAnyConnectionHeaderCaseInsensitive) {
  const header_list h = {{"Connection", "X-Foo, keep-alive"}, {"connection", "x-BAR"}};
  const hop_by_hop_names names(h);
  EXPECT_TRUE(names.contains("x-foo"));
  EXPECT_TRUE(names.contains("X-Bar"));
  EXPECT_TRUE(names.contains("Transfer-Encoding"));
  EXPECT_FALSE(names.contains("Authorization"));
}

TEST(UpstreamRequestHeadUnderscores, DroppedUnlessAllowed) {
  const request_head req{"POST",
                         "/api/chat",
                         11,
                         {{"Host", "llm.example.test"},
                          {"Transfer_Encoding", "chunked"},
                          {"Content_Length", "4"},
                          {"X-Ok", "1"}}};
  forward_context ctx;
  ctx.upstream_authority = "127.0.0.1:11434";
  ctx.client_address = "192.0.2.7";
  std::string head = upstream_request_head(req, ctx);
  EXPECT_EQ(head.find("Transfer_Encoding"), std::string::npos) << head;
  EXPECT_EQ(head.find("Content_Length"), std::string::npos) << head;
  EXPECT_NE(head.find("X-Ok: 1"), std::string::npos) << head;
  ctx.forward_underscores = true;
  head = upstream_request_head(req, ctx);
  EXPECT_NE(head.find("Transfer_Encoding: chunked"), std::string::npos) << head;
}

} // namespace
} // namespace streamcheck::proxy
