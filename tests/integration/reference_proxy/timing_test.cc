// streamcheck-proxy behaviours whose proof depends on when things happen: events relayed read by
// read as they are generated, the client's close reaching the upstream, slow and idle clients cut
// off, no total time limit, graceful drain on SIGTERM. Timing-labelled (run serially); every bound
// is generous, several times what a quiet machine needs, so a loaded 2-core CI box does not flake.
#include <gtest/gtest.h>

#include <csignal>

#include "tests/integration/reference_proxy/proxy_fixture.h"

namespace streamcheck::test {
namespace {

// The proxy's reaction to a client (or the mock's to the proxy) is event-driven and takes a few
// ms; this is the bound the tests hold it to.
constexpr double notice_bound_ms = 2000.0;

// When the mock noticed the proxy closed the upstream connection, on the shared monotonic clock.
mono_clock::time_point peer_closed_at(const json &e) {
  const std::int64_t us = e["received_us"].get<std::int64_t>() + e["body_us"].get<std::int64_t>() +
                          e["peer_closed_us"].get<std::int64_t>();
  return mono_clock::time_point(std::chrono::microseconds(us));
}

bool closed(read_end e) {
  return e == read_end::eof || e == read_end::reset || e == read_end::error;
}

// ---------------------------------------------------------------------------------------------
// Streaming: every event reaches the client as its own read, when the upstream emits it.

class ProxyStreamTiming : public ProxyTest, public ::testing::WithParamInterface<const char *> {};

TEST_P(ProxyStreamTiming, EachEventArrivesAsItsOwnReadWithoutDelay) {
  ASSERT_NO_FATAL_FAILURE(start());
  constexpr int tokens = 5;
  constexpr int gap_ms = 500; // 2.5 s of stream: held back and released, the first event lags it
  const std::string version = GetParam();
  tcp_client c = connect();
  ASSERT_TRUE(c.send_all(generate_request(
      "paced", {{"first_token_ms", 0}, {"gap_ms", gap_ms}, {"tokens", tokens}}, {}, version)));
  http_response r;
  if (version == "HTTP/1.1") {
    r = read_response(c, deadline_in(15s));
    ASSERT_TRUE(r.complete) << c.received();
    EXPECT_EQ(r.frame, body_framing::chunked);
  } else {
    ASSERT_EQ(c.read_until_eof(deadline_in(15s)), read_end::eof);
    r = parse_http_response(c.received());
    EXPECT_EQ(r.frame, body_framing::close_delimited);
  }
  const json e = finished_entry("paced");
  ASSERT_TRUE(e.is_object());
  const auto mock_t0 = mono_clock::time_point(std::chrono::microseconds(
      e["received_us"].get<std::int64_t>() + e["body_us"].get<std::int64_t>()));

  std::vector<mono_clock::time_point> arrivals;
  const read_record *previous = nullptr;
  std::size_t at = 0;
  for (const auto &event : ndjson_lines(r.body)) {
    ASSERT_TRUE(event.is_object()) << r.body;
    const std::size_t end = r.body.find('\n', at) + 1;
    const read_record &first = c.read_holding(r.raw_offset(at));
    const read_record &last = c.read_holding(r.raw_offset(end - 1));
    EXPECT_EQ(&first, &last) << "event " << arrivals.size() << " split across reads";
    EXPECT_NE(&first, previous) << "event " << arrivals.size() << " arrived with the previous one";
    previous = &last;
    const auto emitted =
        mock_t0 + std::chrono::microseconds(event["streamcheck"]["t_us"].get<std::int64_t>());
    const double lag = ms_between(emitted, last.at);
    EXPECT_LT(lag, 1000.0) << "event " << arrivals.size() << " held back";
    EXPECT_GT(lag, -50.0) << "clock mismatch?";
    arrivals.push_back(last.at);
    at = end;
  }
  ASSERT_EQ(arrivals.size(), static_cast<std::size_t>(tokens + 1));
  // Spread over the stream's duration, not one lump at the end.
  EXPECT_GT(ms_between(arrivals.front(), arrivals.back()), tokens * gap_ms / 2.0);
}

INSTANTIATE_TEST_SUITE_P(Versions, ProxyStreamTiming, ::testing::Values("HTTP/1.1", "HTTP/1.0"),
                         [](const auto &param_info) {
                           return std::string(param_info.param) == "HTTP/1.1" ? "Http11" : "Http10";
                         });

// ---------------------------------------------------------------------------------------------
// The client's close reaches the upstream (which is how Ollama stops generating).

using ProxyCancel = ProxyTest;

TEST_F(ProxyCancel, CloseBeforeTheFirstTokenClosesTheUpstream) {
  ASSERT_NO_FATAL_FAILURE(start());
  for (const bool reset : {false, true}) {
    const std::string id = reset ? "early-rst" : "early-fin";
    SCOPED_TRACE(id);
    tcp_client c = connect();
    ASSERT_TRUE(c.send_all(generate_request(id, {{"first_token_ms", 10000}})));
    ASSERT_TRUE(wait_for_entry(id).is_object()) << "the request never reached the mock";
    std::this_thread::sleep_for(100ms);
    reset ? c.close_with_reset() : c.close();
    const json e = finished_entry(id, c.closed_at() + 3s);
    ASSERT_TRUE(e.is_object());
    ASSERT_EQ(e["outcome"], "peer_closed") << e.dump();
    EXPECT_EQ(e["events_sent"], 0);
    EXPECT_EQ(e["head_sent_us"], -1);
    EXPECT_LT(ms_between(c.closed_at(), peer_closed_at(e)), notice_bound_ms) << e.dump();
    const json line = log_line_for("/api/generate?streamcheck.id=" + id);
    ASSERT_TRUE(line.is_object());
    EXPECT_EQ(line["status"], 499) << line.dump();
    EXPECT_EQ(line["outcome"], "client_closed") << line.dump();
  }
}

TEST_F(ProxyCancel, CloseDuringAStallClosesTheUpstream) {
  ASSERT_NO_FATAL_FAILURE(start());
  for (const bool reset : {false, true}) {
    const std::string id = reset ? "stall-rst" : "stall-fin";
    SCOPED_TRACE(id);
    tcp_client c = connect();
    ASSERT_TRUE(c.send_all(generate_request(id, {{"first_token_ms", 0},
                                                 {"gap_ms", 5},
                                                 {"tokens", 8},
                                                 {"stall_at", 3},
                                                 {"stall_ms", 10000}})));
    ASSERT_EQ(c.read_until(
                  [](std::string_view raw) {
                    return ndjson_lines(parse_http_response(raw).body).size() >= 3;
                  },
                  deadline_in(5s)),
              read_end::open)
        << c.received();
    std::this_thread::sleep_for(100ms);
    reset ? c.close_with_reset() : c.close();
    const json e = finished_entry(id, c.closed_at() + 3s);
    ASSERT_TRUE(e.is_object());
    ASSERT_EQ(e["outcome"], "peer_closed") << e.dump();
    EXPECT_EQ(e["events_sent"], 3);
    EXPECT_LT(ms_between(c.closed_at(), peer_closed_at(e)), notice_bound_ms) << e.dump();
    const json line = log_line_for("/api/generate?streamcheck.id=" + id);
    ASSERT_TRUE(line.is_object());
    EXPECT_EQ(line["outcome"], "client_closed") << line.dump();
  }
}

// ---------------------------------------------------------------------------------------------
// Slow and idle clients

using ProxySlowClients = ProxyTest;

TEST_F(ProxySlowClients, HalfAHeadIsCutAfterTheHeaderTimeout) {
  ASSERT_NO_FATAL_FAILURE(start({"--header-timeout", "1s"}));
  tcp_client c = connect();
  ASSERT_TRUE(c.send_all("GET /api/version HTTP/1.1\r\nHost: llm.exa"));
  const read_end end = c.read_until_eof(deadline_in(6s));
  const auto cut = mono_clock::now();
  EXPECT_TRUE(closed(end)) << to_string(end);
  const double after = ms_between(c.sent_at(), cut);
  EXPECT_GT(after, 900.0);
  EXPECT_LT(after, 3000.0);
  EXPECT_TRUE(journal().empty());
}

TEST_F(ProxySlowClients, AHeadDribbledByteByByteIsCutAfterTheHeaderTimeout) {
  ASSERT_NO_FATAL_FAILURE(start({"--header-timeout", "1s"}));
  tcp_client c = connect();
  const std::string head =
      "GET /api/version HTTP/1.1\r\nHost: llm.example.test\r\nX-Slow: " + std::string(200, 's');
  std::optional<mono_clock::time_point> first_byte, cut;
  for (std::size_t i = 0; i < head.size() && !cut; ++i) {
    if (!c.send_all(head.substr(i, 1), deadline_in(1s))) {
      cut = mono_clock::now();
      break;
    }
    if (!first_byte) first_byte = c.send_began_at();
    read_end e = c.read_for(deadline_in(300ms));
    if (e == read_end::open) e = c.read_until_eof(deadline_in(1s)); // e.g. a 408 before the close
    if (closed(e)) cut = mono_clock::now();
    if (ms_between(*first_byte, mono_clock::now()) > 6000.0) break;
  }
  ASSERT_TRUE(cut) << "a client sending a byte every 300 ms was never cut off";
  const double after = ms_between(*first_byte, *cut);
  EXPECT_GT(after, 900.0);
  EXPECT_LT(after, 3000.0) << "cut after " << after << " ms: the timeout restarts on every byte?";
}

TEST_F(ProxySlowClients, AnIdleKeptAliveConnectionIsClosedAfterTheKeepaliveTimeout) {
  ASSERT_NO_FATAL_FAILURE(start({"--keepalive-timeout", "1s"}));
  tcp_client c = connect();
  ASSERT_TRUE(c.send_all(
      request_bytes("GET", "/api/version", "HTTP/1.1", {"Host: " + std::string(public_host)})));
  const http_response r = read_response(c, deadline_in(5s));
  ASSERT_TRUE(r.complete);
  const auto answered = mono_clock::now();
  const read_end end = c.read_until_eof(deadline_in(6s));
  EXPECT_TRUE(closed(end)) << to_string(end);
  const double after = ms_between(answered, mono_clock::now());
  EXPECT_GT(after, 800.0);
  EXPECT_LT(after, 3000.0);
  EXPECT_EQ(c.received().size(), r.consumed) << "bytes after the answer: " << c.received();
}

// A client that stops reading (a hung browser tab) does not hold the upstream forever: the proxy
// gives up after --send-timeout and closes the upstream connection, which stops the model.
TEST_F(ProxySlowClients, AClientThatStopsReadingIsCutAfterTheSendTimeout) {
  ASSERT_NO_FATAL_FAILURE(start({"--send-timeout", "1s"}));
  tcp_client c = connect();
  // About 200 MB if nobody stopped it: far more than every socket buffer on the way.
  ASSERT_TRUE(c.send_all(generate_request(
      "unread",
      {{"first_token_ms", 0}, {"gap_ms", 0}, {"tokens", 200000}, {"token_bytes", 1000}})));
  const auto sent = mono_clock::now();
  const json e = finished_entry("unread", sent + 8s);
  ASSERT_TRUE(e.is_object());
  EXPECT_NE(e["outcome"], "in_progress") << "the upstream is still streaming into a stuck client";
  EXPECT_NE(e["outcome"], "completed") << e.dump();
  EXPECT_LT(ms_between(sent, mono_clock::now()), 5000.0);
  // What the kernel buffered reaches the client, then the connection ends, cut.
  EXPECT_TRUE(closed(c.read_until_eof(deadline_in(10s))));
  EXPECT_FALSE(parse_http_response(c.received()).complete);
  const json line = log_line_for("/api/generate?streamcheck.id=unread");
  ASSERT_TRUE(line.is_object());
  // access_log.h documents this outcome as send_timeout.
  EXPECT_EQ(line["outcome"], "send_timeout") << line.dump();
}

// ---------------------------------------------------------------------------------------------
// Timeouts are between reads, never on the whole answer.

TEST_F(ProxySlowClients, NoTotalLimitOnALongSteadyStream) {
  ASSERT_NO_FATAL_FAILURE(start({"--idle-timeout", "1s", "--first-byte-timeout", "1s"}));
  tcp_client c = connect();
  ASSERT_TRUE(c.send_all(
      generate_request("long", {{"first_token_ms", 100}, {"gap_ms", 100}, {"tokens", 30}})));
  const http_response r = read_response(c, deadline_in(20s));
  ASSERT_TRUE(r.complete) << c.received();
  EXPECT_EQ(ndjson_lines(r.body).size(), 31u);
  const json line = log_line_for("/api/generate?streamcheck.id=long");
  ASSERT_TRUE(line.is_object());
  EXPECT_EQ(line["outcome"], "completed");
  EXPECT_GT(line["duration_ms"].get<double>(), 3000.0);
}

// ---------------------------------------------------------------------------------------------
// Graceful drain on SIGTERM

using ProxyDrain = ProxyTest;

TEST_F(ProxyDrain, InFlightStreamFinishesIdleConnectionsCloseNewOnesAreRefused) {
  ASSERT_NO_FATAL_FAILURE(start({"--drain-timeout", "20s"}));
  tcp_client idle = connect();
  ASSERT_TRUE(idle.send_all(
      request_bytes("GET", "/api/version", "HTTP/1.1", {"Host: " + std::string(public_host)})));
  const http_response answered = read_response(idle, deadline_in(5s));
  ASSERT_TRUE(answered.complete);

  tcp_client busy = connect();
  ASSERT_TRUE(busy.send_all(
      generate_request("draining", {{"first_token_ms", 0}, {"gap_ms", 100}, {"tokens", 20}})));
  ASSERT_EQ(busy.read_until(
                [](std::string_view raw) { return parse_http_response(raw).chunks.size() >= 3; },
                deadline_in(5s)),
            read_end::open);

  ASSERT_EQ(::kill(proxy_->pid(), SIGTERM), 0);
  const auto signalled = mono_clock::now();
  // The idle connection is closed at once.
  EXPECT_TRUE(closed(idle.read_until_eof(deadline_in(3s))));
  EXPECT_LT(ms_between(signalled, mono_clock::now()), notice_bound_ms);
  EXPECT_EQ(idle.received().size(), answered.consumed);
  // New connections are refused (the listener is closed, not merely not accepting).
  EXPECT_FALSE(tcp_client::connect(port(), deadline_in(1s))) << "accepted while draining";
  // The stream in flight completes, cleanly.
  const http_response r = read_response(busy, deadline_in(10s));
  ASSERT_TRUE(r.complete) << busy.received();
  EXPECT_TRUE(busy.received().ends_with("0\r\n\r\n"));
  EXPECT_EQ(ndjson_lines(r.body).size(), 21u);
  EXPECT_TRUE(closed(busy.read_until_eof(deadline_in(3s))));
  // And the proxy exits 0 once it is done.
  const auto st = proxy_->wait_until(deadline_in(5s));
  ASSERT_TRUE(st) << "still running after the stream ended";
  EXPECT_TRUE(exited_with(st, 0)) << describe_status(*st) << "\n" << proxy_err();
  EXPECT_NE(proxy_err().find("draining"), std::string::npos) << proxy_err();
  EXPECT_EQ(finished_entry("draining")["outcome"], "completed");
  const json line = log_line_for("/api/generate?streamcheck.id=draining");
  ASSERT_TRUE(line.is_object());
  EXPECT_EQ(line["outcome"], "completed");
}

TEST_F(ProxyDrain, ASecondSignalExitsAtOnce) {
  ASSERT_NO_FATAL_FAILURE(start({"--drain-timeout", "60s"}));
  tcp_client busy = connect();
  ASSERT_TRUE(busy.send_all(generate_request("stuck", {{"first_token_ms", 0},
                                                       {"gap_ms", 5},
                                                       {"tokens", 6},
                                                       {"stall_at", 2},
                                                       {"stall_ms", 30000}})));
  ASSERT_EQ(busy.read_until(
                [](std::string_view raw) { return parse_http_response(raw).chunks.size() >= 2; },
                deadline_in(5s)),
            read_end::open);
  ASSERT_EQ(::kill(proxy_->pid(), SIGTERM), 0);
  // Draining: the stream in flight keeps it running.
  EXPECT_FALSE(proxy_->wait_until(deadline_in(500ms))) << "exited with a stream in flight";
  ASSERT_EQ(::kill(proxy_->pid(), SIGTERM), 0);
  const auto second = mono_clock::now();
  const auto st = proxy_->wait_until(deadline_in(5s));
  ASSERT_TRUE(st) << "a second SIGTERM did not end the drain";
  EXPECT_LT(ms_between(second, mono_clock::now()), notice_bound_ms);
  EXPECT_TRUE(exited_with(st, 0)) << describe_status(*st) << "\n" << proxy_err();
  // The cut stream does not look finished.
  EXPECT_TRUE(closed(busy.read_until_eof(deadline_in(3s))));
  EXPECT_FALSE(parse_http_response(busy.received()).complete) << busy.received();
}

} // namespace
} // namespace streamcheck::test
