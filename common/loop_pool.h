// The event loops a server runs on: one io_context per thread, each kept alive by a work guard,
// handed out in turn. One context per thread (not one shared by all) keeps every handler of a
// connection on one thread, so per-connection state needs no locks.
#pragma once
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "common/asio.h"

namespace streamcheck {

class loop_pool {
public:
  explicit loop_pool(unsigned threads); // 0: one per core
  // stop(), then destroys the loops and with them every handler and coroutine still suspended
  // on them (closing their sockets). Objects bound to a loop (acceptors, pooled sockets) must
  // be gone by then.
  ~loop_pool();
  loop_pool(const loop_pool &) = delete;
  loop_pool &operator=(const loop_pool &) = delete;

  std::size_t size() const { return loops_.size(); }
  asio::io_context &at(std::size_t i) { return *loops_[i]; }
  asio::io_context &front() { return at(0); }
  std::size_t next_index(); // round-robin; safe from any thread
  asio::io_context &next() { return at(next_index()); }

  // Starts one thread per loop; each runs until stop() (the work guards keep idle loops alive).
  void run();
  // Idempotent: stops every loop and joins its thread. Handlers not yet run stay, unrun, until
  // the pool is destroyed.
  void stop();

private:
  std::vector<std::unique_ptr<asio::io_context>> loops_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::atomic<std::size_t> next_{0};
  bool stopped_ = false;
};

} // namespace streamcheck
