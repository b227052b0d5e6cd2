#include "common/loop_pool.h"

#include <algorithm>

namespace streamcheck {

loop_pool::loop_pool(unsigned threads) {
  const unsigned n = threads ? threads : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) {
    // Concurrency hint 1: each context is run by exactly one thread.
    loops_.push_back(std::make_unique<asio::io_context>(1));
    work_.push_back(asio::make_work_guard(*loops_.back()));
  }
}

loop_pool::~loop_pool() {
  stop();
  work_.clear();
  loops_.clear();
}

std::size_t loop_pool::next_index() {
  return next_++ % loops_.size();
}

void loop_pool::run() {
  for (auto &loop : loops_)
    threads_.emplace_back([ctx = loop.get()] { ctx->run(); });
}

void loop_pool::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto &loop : loops_)
    loop->stop();
  for (auto &t : threads_)
    t.join();
  threads_.clear();
}

} // namespace streamcheck
