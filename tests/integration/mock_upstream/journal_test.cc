// The journal, read over the control listener, records each request as it arrived on the wire:
// headers in order with duplicates and their spelling, body size and hash, version, connection.
#include <gtest/gtest.h>

#include <cstdio>

#include "tests/integration/mock_upstream/mock_fixture.h"

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

class Journal : public MockTest {};

TEST_F(Journal, RecordsTheRequestAsReceived) {
  auto c = tcp_client::connect(port());
  ASSERT_TRUE(c);
  const std::string body =
      json{{"model", "llama3.2"},
           {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})},
           {"streamcheck", {{"id", "j1"}, {"first_token_ms", 0}, {"gap_ms", 1}, {"tokens", 4}}}}
          .dump();
  const std::string host = "127.0.0.1:" + std::to_string(port());
  ASSERT_TRUE(
      c->send_all(request_bytes("POST", "/api/chat?x=1&y=%20", "HTTP/1.1",
                                {"Host: " + host, "X-Dup: a", "User-Agent: t/1", "x-lower: q",
                                 "X-Dup: b", "Content-Type: application/json"},
                                body)));
  ASSERT_TRUE(read_response(*c, deadline_in(5s)).complete) << c->received();

  const json e = finished_entry("j1");
  ASSERT_TRUE(e.is_object());
  EXPECT_EQ(e["method"], "POST");
  EXPECT_EQ(e["target"], "/api/chat?x=1&y=%20");
  EXPECT_EQ(e["version"], "1.1");
  const json expected_headers =
      json::array({json::array({"Host", host}), json::array({"X-Dup", "a"}),
                   json::array({"User-Agent", "t/1"}), json::array({"x-lower", "q"}),
                   json::array({"X-Dup", "b"}), json::array({"Content-Type", "application/json"}),
                   json::array({"Content-Length", std::to_string(body.size())})});
  EXPECT_EQ(e["headers"], expected_headers) << e["headers"].dump();
  EXPECT_EQ(e["body_bytes"], body.size());
  EXPECT_EQ(e["body_fnv1a64"], fnv1a64_hex(body));
  EXPECT_EQ(e["model"], "llama3.2");
  EXPECT_EQ(e["status"], 200);
  EXPECT_EQ(e["peer"], "127.0.0.1:" + std::to_string(c->local_port()));
  EXPECT_EQ(e["request_on_connection"], 1);
  EXPECT_EQ(e["events_sent"], 5);
  EXPECT_EQ(e["outcome"], "completed");
  EXPECT_EQ(e["peer_closed_us"], -1);
  EXPECT_GE(e["body_us"].get<std::int64_t>(), 0);
  EXPECT_GE(e["head_sent_us"].get<std::int64_t>(), 0);
  EXPECT_GE(e["ended_us"].get<std::int64_t>(), e["head_sent_us"].get<std::int64_t>());
}

TEST_F(Journal, BodylessRequestsTakeTheIdFromTheQuery) {
  ASSERT_TRUE(
      http_exchange(port(), request_bytes("GET", "/api/tags?streamcheck.id=j2", "HTTP/1.0")));
  const json e = finished_entry("j2");
  ASSERT_TRUE(e.is_object());
  EXPECT_EQ(e["version"], "1.0");
  EXPECT_EQ(e["method"], "GET");
  EXPECT_EQ(e["body_bytes"], 0);
  EXPECT_EQ(e["body_fnv1a64"], fnv1a64_hex("")); // cbf29ce484222325
  EXPECT_EQ(e["status"], 200);
}

TEST_F(Journal, RefusedRequestsAreJournaledToo) {
  ASSERT_TRUE(
      http_exchange(port(), request_bytes("GET", "/api/tags?streamcheck.id=j3", "HTTP/1.1",
                                          {"Host: 127.0.0.1", "Origin: https://evil.example.test",
                                           "Connection: close"})));
  const json e = finished_entry("j3");
  ASSERT_TRUE(e.is_object());
  EXPECT_EQ(e["status"], 403);
  EXPECT_EQ(e["outcome"], "completed");
}

TEST_F(Journal, ConnectionsAreNumberedAndAfterFilters) {
  ASSERT_TRUE(http_exchange(port(), request_bytes("GET", "/?streamcheck.id=j4", "HTTP/1.0")));
  ASSERT_TRUE(http_exchange(port(), request_bytes("GET", "/?streamcheck.id=j4", "HTTP/1.0")));
  const json both = journal("j4");
  ASSERT_EQ(both.size(), 2u) << both.dump();
  EXPECT_NE(both[0]["connection"], both[1]["connection"]);
  EXPECT_EQ(both[0]["request_on_connection"], 1);
  EXPECT_EQ(both[1]["request_on_connection"], 1);
  EXPECT_LT(both[0]["seq"].get<std::uint64_t>(), both[1]["seq"].get<std::uint64_t>());

  const auto raw = http_exchange(
      mock_->control_port(), request_bytes("GET", "/journal?id=j4&after=" + both[0]["seq"].dump(),
                                           "HTTP/1.1", {"Host: 127.0.0.1", "Connection: close"}));
  ASSERT_TRUE(raw);
  const json later = json::parse(parse_http_response(*raw).body, nullptr, false);
  ASSERT_TRUE(later.contains("entries")) << *raw;
  ASSERT_EQ(later["entries"].size(), 1u);
  EXPECT_EQ(later["entries"][0]["seq"], both[1]["seq"]);
}

// --journal-entries: only the last N kept, and GET /journal says how many were dropped.
TEST_F(Journal, KeepsTheLastEntriesAndSaysHowManyWereDropped) {
  mock_->stop();
  mock::server_options o;
  o.control = tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0);
  o.threads = 1;
  o.behaviour.request_policy = *mock::policy_for_profile("ollama");
  o.journal_entries = 2;
  auto started = mock::server::start(o);
  ASSERT_TRUE(started) << started.message();
  mock_ = std::move(started.value());
  for (int i = 1; i <= 3; ++i) {
    const auto raw = http_exchange(
        port(), request_bytes("GET", "/api/version?streamcheck.id=r" + std::to_string(i),
                              "HTTP/1.1", {"Host: 127.0.0.1", "Connection: close"}));
    ASSERT_TRUE(raw);
  }
  const auto raw =
      http_exchange(mock_->control_port(), request_bytes("GET", "/journal", "HTTP/1.1",
                                                         {"Host: 127.0.0.1", "Connection: close"}));
  ASSERT_TRUE(raw);
  const json doc = json::parse(parse_http_response(*raw).body, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << *raw;
  EXPECT_EQ(doc["capacity"], 2);
  EXPECT_EQ(doc["dropped"], 1);
  EXPECT_EQ(doc["first_seq"], 2);
  ASSERT_EQ(doc["entries"].size(), 2u) << doc.dump();
  EXPECT_EQ(doc["entries"][0]["id"], "r2");
  EXPECT_EQ(doc["entries"][1]["id"], "r3");
}

} // namespace
} // namespace streamcheck::test
