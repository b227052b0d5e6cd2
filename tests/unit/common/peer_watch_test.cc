// The peer watch over real loopback sockets: what it must notice (a FIN, an RST while the server
// is silent) and what it must not take for a close (a pipelined byte, which stays for the next
// read). The mock's and the proxy's abort.* behaviour rests on exactly these cases.
#include "common/peer_watch.h"

#include <gtest/gtest.h>

#include "common/clock.h"

namespace streamcheck {
namespace {

using namespace std::chrono_literals;
using boost::system::error_code;

// Event-driven: a close is noticed within microseconds; the bound only keeps a broken watch from
// hanging the test.
constexpr auto notice_deadline = 2s;
// Long enough for a watch that wrongly took a byte for a close to have said so.
constexpr auto quiet_wait = 200ms;

struct connected_pair {
  asio::io_context context{1};
  tcp::socket server{context};
  tcp::socket client{context};

  connected_pair() {
    tcp::acceptor acceptor(context, {asio::ip::make_address("127.0.0.1"), 0});
    client.connect(acceptor.local_endpoint());
    acceptor.accept(server);
  }

  // Runs the server side's handlers until `done` or the deadline.
  void run_until(const bool &done, mono_clock::duration deadline) {
    const auto until = mono_clock::now() + deadline;
    while (!done && mono_clock::now() < until)
      context.run_one_until(until);
  }
};

struct close_counter {
  int calls = 0;
  std::int64_t at_us = 0;
  bool done = false;
  std::function<void()> callback() {
    return [this] {
      ++calls;
      at_us = monotonic_us();
      done = true;
    };
  }
};

// Every way a client leaves counts, as in Go, whose background read sees EOF or an error.
struct leaving {
  const char *name;
  void (*leave)(tcp::socket &client);
};

const leaving ways_to_leave[] = {
    {"Fin", [](tcp::socket &c) { c.close(); }},
    // Still reading, as a client may be: Go's background read sees EOF all the same.
    {"HalfClose", [](tcp::socket &c) { c.shutdown(tcp::socket::shutdown_send); }},
    {"Reset",
     [](tcp::socket &c) {
       c.set_option(asio::socket_base::linger(true, 0)); // RST instead of FIN
       c.close();
     }},
};

class PeerLeaves : public testing::TestWithParam<leaving> {};

TEST_P(PeerLeaves, WhileSilentIsNoticed) {
  connected_pair p;
  close_counter gone;
  peer_watch watch(p.server, gone.callback());
  const std::int64_t left_us = monotonic_us();
  GetParam().leave(p.client);
  p.run_until(gone.done, notice_deadline);
  ASSERT_EQ(gone.calls, 1);
  EXPECT_TRUE(watch.closed());
  // The callback reads the clock again after the watch stamped the close (a microsecond later
  // in a Debug/ASan build): the close is stamped first, never after.
  EXPECT_LE(watch.closed_at_us(), gone.at_us);
  EXPECT_GE(watch.closed_at_us(), left_us);
}

INSTANTIATE_TEST_SUITE_P(PeerWatch, PeerLeaves, testing::ValuesIn(ways_to_leave),
                         [](const auto &test) { return std::string(test.param.name); });

TEST(PeerWatch, PipelinedByteIsNotACloseAndStaysForTheNextRead) {
  connected_pair p;
  close_counter gone;
  peer_watch watch(p.server, gone.callback());
  asio::write(p.client, asio::buffer(std::string_view("G")));
  p.run_until(gone.done, quiet_wait);
  EXPECT_EQ(gone.calls, 0);
  EXPECT_FALSE(watch.closed());
  char first = 0;
  p.server.non_blocking(true);
  error_code ec;
  EXPECT_EQ(p.server.read_some(asio::buffer(&first, 1), ec), 1u) << ec.message();
  EXPECT_EQ(first, 'G');
}

TEST(PeerWatch, StoppedWatchIgnoresALaterClose) {
  connected_pair p;
  close_counter gone;
  peer_watch watch(p.server, gone.callback());
  watch.stop();
  watch.stop(); // idempotent
  p.client.close();
  p.run_until(gone.done, quiet_wait);
  EXPECT_EQ(gone.calls, 0);
  EXPECT_FALSE(watch.closed());
  // The socket itself is untouched: a read still sees the end.
  char byte;
  error_code ec;
  p.server.read_some(asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, asio::error::eof);
}

// A response that ends (its coroutine destroyed) while the wait is pending: the wait's handler
// must touch neither the socket nor the callback's captures.
TEST(PeerWatch, DestroyedWatchNeverCalls) {
  connected_pair p;
  close_counter gone;
  { peer_watch watch(p.server, gone.callback()); }
  p.client.close();
  p.run_until(gone.done, quiet_wait);
  EXPECT_EQ(gone.calls, 0);
}

TEST(PeerWatch, NoCallbackNeeded) {
  connected_pair p;
  peer_watch watch(p.server);
  p.client.close();
  const auto until = mono_clock::now() + notice_deadline;
  while (!watch.closed() && mono_clock::now() < until)
    p.context.run_one_until(until);
  EXPECT_TRUE(watch.closed());
}

} // namespace
} // namespace streamcheck
