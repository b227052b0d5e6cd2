// The loop pool as the servers use it: N loops on N threads, handed out in turn, kept alive
// while idle, stopped and joined on request, and a connection accepted on one loop served on
// the loop it was handed to (real loopback sockets).
#include "common/loop_pool.h"

#include <future>
#include <optional>
#include <set>

#include <gtest/gtest.h>

namespace streamcheck {
namespace {

using namespace std::chrono_literals;
using boost::system::error_code;

constexpr auto deadline = 5s;

// Runs `f` on `loop` and waits for its result; nothing when the loop does not run it in time.
template <class F> auto on(asio::io_context &loop, F f) -> std::optional<decltype(f())> {
  auto result = std::make_shared<std::promise<decltype(f())>>();
  auto future = result->get_future();
  asio::post(loop, [result, f] { result->set_value(f()); });
  if (future.wait_for(deadline) != std::future_status::ready) return std::nullopt;
  return future.get();
}

TEST(LoopPool, ZeroThreadsMeansOnePerCore) {
  loop_pool pool(0);
  EXPECT_EQ(pool.size(), std::max(1u, std::thread::hardware_concurrency()));
}

TEST(LoopPool, HandsLoopsOutInTurn) {
  loop_pool pool(3);
  std::vector<std::size_t> order;
  for (int i = 0; i < 7; ++i)
    order.push_back(pool.next_index());
  EXPECT_EQ(order, (std::vector<std::size_t>{0, 1, 2, 0, 1, 2, 0}));
  EXPECT_EQ(&pool.next(), &pool.at(1));
}

TEST(LoopPool, EachLoopRunsOnItsOwnThread) {
  loop_pool pool(3);
  pool.run();
  std::set<std::thread::id> threads;
  for (std::size_t i = 0; i < pool.size(); ++i)
    threads.insert(
        on(pool.at(i), [] { return std::this_thread::get_id(); }).value_or(std::thread::id()));
  EXPECT_EQ(threads.size(), 3u);
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
}

// Without work guards an idle loop's run() returns at once and later work never runs.
TEST(LoopPool, IdleLoopsKeepRunning) {
  loop_pool pool(2);
  pool.run();
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(on(pool.at(1), [] { return 42; }).value_or(0), 42);
}

TEST(LoopPool, StopJoinsAndTheRestIsDestroyedWithThePool) {
  auto held = std::make_shared<int>(0);
  {
    loop_pool pool(2);
    pool.run();
    EXPECT_TRUE(on(pool.front(), [] { return 0; }));
    pool.stop();
    pool.stop(); // idempotent
    bool ran = false;
    asio::post(pool.at(1), [&ran, held] { ran = true; });
    std::this_thread::sleep_for(50ms);
    EXPECT_FALSE(ran); // stopped: nothing runs any more
    EXPECT_EQ(held.use_count(), 2);
  }
  EXPECT_EQ(held.use_count(), 1); // the unrun handler went with its loop
}

// The servers' shape: one acceptor on the first loop, each connection served on the loop it was
// handed to; each connection is answered with the index of the loop that served it.
TEST(LoopPool, ConnectionsAreServedOnTheLoopsInTurn) {
  loop_pool pool(2);
  tcp::acceptor acceptor(pool.front(), {asio::ip::make_address("127.0.0.1"), 0});
  std::function<void()> accept_next = [&] {
    const std::size_t index = pool.next_index();
    auto sock = std::make_shared<tcp::socket>(pool.at(index));
    acceptor.async_accept(*sock, [&, sock, index](error_code ec) {
      if (ec) return;
      asio::post(sock->get_executor(), [sock, index, &pool] {
        // Runs on the connection's own loop: say which one.
        const bool own = pool.at(index).get_executor().running_in_this_thread();
        const std::string answer = std::to_string(own ? index : 99);
        error_code write_ec;
        asio::write(*sock, asio::buffer(answer), write_ec);
        sock->close(write_ec);
      });
      accept_next();
    });
  };
  asio::post(acceptor.get_executor(), accept_next);
  pool.run();

  std::vector<std::string> answers;
  asio::io_context client_context;
  for (int i = 0; i < 4; ++i) {
    tcp::socket client(client_context);
    client.connect(acceptor.local_endpoint());
    std::string answer;
    error_code ec;
    asio::read(client, asio::dynamic_buffer(answer), ec);
    EXPECT_EQ(ec, asio::error::eof);
    answers.push_back(answer);
  }
  EXPECT_EQ(answers, (std::vector<std::string>{"0", "1", "0", "1"}));
  pool.stop(); // the acceptor's pending accept is destroyed, unrun, with the pool
}

} // namespace
} // namespace streamcheck
